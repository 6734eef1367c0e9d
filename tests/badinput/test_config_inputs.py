"""config.toml: bad values are refused with the dotted key and what is allowed; the file is never touched.

Every case is loaded twice: with `load_config` (the message names the key and the allowed values)
and with `python -m bot check` in-process (exit 1, a report line naming the key, no traceback, no
database or folder created). A few good controls must load, so the table cannot pass by refusing all.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_config
from bot.errors import ConfigErrors
from tests.badinput.cases import BEL, BOM, EMOJI_TITLE, ESC, NUL, RLO, ZWSP, missing, raw_wording, tree

AT = "@"  # kept apart so no tool mistakes the test addresses for real ones
MARKER = "On behalf of CMSC"
# A fake token in Discord's shape, joined at run time so no file holds a token-shaped string.
SECRET = ".".join(["MTk4NjIyNDgzNDcxOTI1MjQ4", "Gx7a9b", "q1w2e3r4t5y6u7i8o9p0-secret-looking"])

# A valid configuration; each value is TOML text so a case can put anything in its place.
BASE: dict[str, dict[str, str]] = {
    "guild": {"id": "100000000000000001"},
    "channels": {
        "announcements": "100000000000000002",
        "teachers": "100000000000000003",
        "coordinators": "100000000000000004",
        "sessions": "[100000000000000005, 100000000000000006]",
    },
    "roles": {"coordinator": "100000000000000007", "teacher": "100000000000000008"},
    "links": {
        "community": '"https://community.test/join"',
        "coordinators": f'"mailto:coordinators{AT}community.test"',
        "donate": '"https://community.test/donate"',
        "share": '"https://community.test/share"',
    },
    "storage": {"database": '"data/bot.sqlite3"'},
    "recordings": {"file": '"recordings.yaml"'},
}
REMOVE = object()


def toml(changes: dict[str, Any]) -> str:
    """BASE as TOML with changes: {'section.key': toml_text | REMOVE, 'section': REMOVE | toml_text}."""
    sections = {name: dict(keys) for name, keys in BASE.items()}
    top: dict[str, str] = {}
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        if not key:
            sections.pop(section, None)
            if value is not REMOVE:
                top[section] = str(value)
        elif value is REMOVE:
            sections[section].pop(key, None)
        else:
            sections.setdefault(section, {})[key] = str(value)
    lines = [f"{key} = {value}" for key, value in top.items()]
    for name, keys in sections.items():
        lines += [f"[{name}]", *(f"{key} = {value}" for key, value in keys.items())]
    return "\n".join(lines) + "\n"


def words(text: str) -> str:
    """A TOML basic string holding `text`, with the official opening so only the tested part is wrong."""
    escaped = "".join(f"\\u{ord(c):04X}" if ord(c) < 0x20 or c in {RLO, ZWSP, BOM} else c for c in text)
    return f'"{MARKER}, {escaped}"'


def raw(text: str | bytes) -> dict[str, Any]:
    """A case whose whole file is `text` (for syntax errors)."""
    return {"__raw__": text}


ID_WORDS = ["Discord id", "positive whole number", "Copy ID"]

# (changes, the key the message must name, words the message must contain)
BROKEN: list[Any] = [
    # --- Discord ids: wrong types, signs, sizes, pasted mentions -------------------------------------
    pytest.param({"guild.id": '"abc"'}, "guild.id", [*ID_WORDS, "'abc' (text)"], id="guild-id-text"),
    pytest.param({"guild.id": "-5"}, "guild.id", [*ID_WORDS, "got -5"], id="guild-id-negative"),
    pytest.param({"guild.id": "0"}, "guild.id", [*ID_WORDS, "got 0"], id="guild-id-zero"),
    pytest.param({"guild.id": str(2**64)}, "guild.id", [*ID_WORDS, str(2**64)], id="guild-id-over-64-bits"),
    pytest.param({"guild.id": "1.5"}, "guild.id", [*ID_WORDS, "1.5"], id="guild-id-float"),
    pytest.param({"guild.id": "true"}, "guild.id", [*ID_WORDS, "got true"], id="guild-id-bool"),
    pytest.param({"guild.id": "2026-02-28"}, "guild.id", [*ID_WORDS, "got a date"], id="guild-id-toml-date"),
    pytest.param({"guild.id": '"１２３"'}, "guild.id", [*ID_WORDS, "'１２３' (text)"], id="guild-id-fullwidth-digits"),
    pytest.param({"guild.id": '"-5"'}, "guild.id", [*ID_WORDS, "'-5' (text)"], id="guild-id-negative-in-quotes"),
    pytest.param({"guild.id": '""'}, "guild.id", [*ID_WORDS, "'' (text)"], id="guild-id-empty"),
    pytest.param({"guild.id": "[1]"}, "guild.id", [*ID_WORDS, "got a list"], id="guild-id-list"),
    pytest.param(
        {"roles.coordinator": '"<@&100000000000000007>"'},
        "roles.coordinator",
        [*ID_WORDS, "'<@&100000000000000007>' (text)"],
        id="role-id-pasted-as-mention",
    ),
    pytest.param({"roles.teacher": '"@everyone"'}, "roles.teacher", [*ID_WORDS, "'@everyone'"], id="role-everyone"),
    pytest.param(
        {"channels.announcements": '"<#100000000000000002>"'},
        "channels.announcements",
        [*ID_WORDS, "'<#100000000000000002>'"],
        id="channel-id-pasted-as-link",
    ),
    pytest.param(
        {"channels.teachers": "{ id = 1 }"}, "channels.teachers", [*ID_WORDS, "a [section]"], id="channel-id-table"
    ),
    pytest.param({"roles.teacher": REMOVE}, "roles.teacher", ["is missing", "config.example.toml"], id="role-missing"),
    pytest.param({"links": REMOVE}, "links", ["[links] section is missing"], id="section-missing"),
    pytest.param({"guild": "5"}, "guild", ["section written as [guild]", "got 5"], id="section-as-number"),
    # --- session channels ----------------------------------------------------------------------------
    pytest.param(
        {"channels.sessions": "[]"}, "channels.sessions", ["one or more Discord ids", "empty list"], id="sessions-empty"
    ),
    pytest.param(
        {"channels.sessions": '"100000000000000005"'},
        "channels.sessions",
        ["list of one or more Discord ids", "like [123456789012345678]"],
        id="sessions-not-a-list",
    ),
    pytest.param(
        {"channels.sessions": "[0]"}, "channels.sessions", ["must list Discord ids", "0 is not one"], id="sessions-zero"
    ),
    pytest.param(
        {"channels.sessions": "[-1]"},
        "channels.sessions",
        ["must list Discord ids", "-1 is not one"],
        id="sessions-negative",
    ),
    pytest.param(
        {"channels.sessions": '[100000000000000005, "x"]'},
        "channels.sessions",
        ["'x' (text) is not one"],
        id="sessions-text-item",
    ),
    pytest.param({"channels.sessions": "[[1]]"}, "channels.sessions", ["a list is not one"], id="sessions-nested"),
    pytest.param(
        {"channels.sessions": "[5, 5]"},
        "channels.sessions",
        ["5 more than once", "list each channel once"],
        id="sessions-duplicate",
    ),
    pytest.param(
        {"channels.default_session": "100000000000000099"},
        "channels.default_session",
        ["one of channels.sessions", "100000000000000005, 100000000000000006", "got 100000000000000099"],
        id="default-session-not-listed",
    ),
    # --- the time zone: only US Pacific, whatever else is typed ------------------------------------------
    *[
        pytest.param(
            {"sessions.timezone": value},
            "sessions.timezone",
            ["must be 'America/Los_Angeles'", shown, "US Pacific Time"],
            id=f"timezone-{name}",
        )
        for name, value, shown in [
            ("PST", '"PST"', "'PST' (text)"),
            ("UTC+3", '"UTC+3"', "'UTC+3' (text)"),
            ("EST5EDT", '"EST5EDT"', "'EST5EDT' (text)"),
            ("Mars-Olympus", '"Mars/Olympus"', "'Mars/Olympus' (text)"),
            ("other-IANA-zone", '"Europe/London"', "'Europe/London' (text)"),
            ("lower-case", '"america/los_angeles"', "'america/los_angeles' (text)"),
            ("empty", '""', "'' (text)"),
            ("number", "-8", "got -8"),
        ]
    ],
    # --- whole numbers: out of range, wrong types (TOML has floats, dates, times, inf and nan) -------------
    pytest.param(
        {"sessions.grace_minutes": "90"}, "sessions.grace_minutes", ["between 0 and 30", "got 90"], id="grace-too-big"
    ),
    pytest.param(
        {"sessions.grace_minutes": "-1"}, "sessions.grace_minutes", ["between 0 and 30", "got -1"], id="grace-negative"
    ),
    pytest.param(
        {"sessions.grace_minutes": str(10**30)},
        "sessions.grace_minutes",
        ["between 0 and 30", str(10**30)],
        id="grace-huge",
    ),
    pytest.param(
        {"sessions.grace_minutes": "5.5"}, "sessions.grace_minutes", ["whole number", "5.5"], id="grace-float"
    ),
    pytest.param(
        {"sessions.grace_minutes": '"5"'}, "sessions.grace_minutes", ["whole number", "'5' (text)"], id="grace-text"
    ),
    pytest.param(
        {"sessions.grace_minutes": "nan"}, "sessions.grace_minutes", ["whole number", "got nan"], id="grace-nan"
    ),
    pytest.param(
        {"sessions.grace_minutes": "inf"}, "sessions.grace_minutes", ["whole number", "got inf"], id="grace-inf"
    ),
    pytest.param(
        {"sessions.grace_minutes": "12:30:00"},
        "sessions.grace_minutes",
        ["whole number", "got a time"],
        id="grace-toml-time",
    ),
    pytest.param(
        {"sessions.grace_minutes": "1979-05-27"},
        "sessions.grace_minutes",
        ["whole number", "a date"],
        id="grace-toml-date",
    ),
    pytest.param(
        {"sessions.grace_minutes": "[5]"}, "sessions.grace_minutes", ["whole number", "got a list"], id="grace-list"
    ),
    pytest.param(
        {"sessions.grace_minutes": "true"}, "sessions.grace_minutes", ["whole number", "got true"], id="grace-bool"
    ),
    pytest.param(
        {"sessions.open_minutes_before": "61"},
        "sessions.open_minutes_before",
        ["between 0 and 60"],
        id="open-before-too-big",
    ),
    pytest.param(
        {"sessions.open_minutes_before": "-10"},
        "sessions.open_minutes_before",
        ["between 0 and 60"],
        id="open-before-negative",
    ),
    pytest.param(
        {"sessions.silent_sit_minutes": "[5, 15]"},
        "sessions.silent_sit_minutes",
        ["between 10 and 20", "got 5"],
        id="sit-too-short",
    ),
    pytest.param(
        {"sessions.silent_sit_minutes": "[25]"},
        "sessions.silent_sit_minutes",
        ["between 10 and 20", "got 25"],
        id="sit-too-long",
    ),
    pytest.param(
        {"sessions.silent_sit_minutes": "[]"},
        "sessions.silent_sit_minutes",
        ["at least one", "10 and 20"],
        id="sit-empty",
    ),
    pytest.param(
        {"sessions.silent_sit_minutes": '["15"]'},
        "sessions.silent_sit_minutes",
        ["whole number", "'15' (text)"],
        id="sit-text-item",
    ),
    pytest.param(
        {"sessions.default_silent_sit_minutes": "12"},
        "sessions.default_silent_sit_minutes",
        ["one of sessions.silent_sit_minutes (10, 15, 20)", "got 12"],
        id="default-sit-not-offered",
    ),
    pytest.param(
        {"sessions.default_silent_sit_minutes": "15.0"},
        "sessions.default_silent_sit_minutes",
        ["whole number", "15.0"],
        id="default-sit-float",
    ),
    pytest.param(
        {"sessions.choice_timeout_minutes": "0"},
        "sessions.choice_timeout_minutes",
        ["between 1 and 15", "got 0"],
        id="choice-timeout-zero",
    ),
    pytest.param(
        {"sessions.horizon_days": "400"}, "sessions.horizon_days", ["between 7 and 365", "400"], id="horizon-too-long"
    ),
    pytest.param(
        {"sessions.horizon_days": "0"}, "sessions.horizon_days", ["between 7 and 365", "got 0"], id="horizon-zero"
    ),
    pytest.param(
        {"sessions.lock_chat": '"yes"'}, "sessions.lock_chat", ["true or false", "'yes'"], id="lock-chat-text"
    ),
    pytest.param({"sessions.lock_chat": "1"}, "sessions.lock_chat", ["true or false", "got 1"], id="lock-chat-1"),
    pytest.param(
        {"reminders.allowed_offsets_minutes": "[0, 60]"},
        "reminders.allowed_offsets_minutes",
        ["between 1 and 10080", "got 0"],
        id="offsets-zero",
    ),
    pytest.param(
        {"reminders.allowed_offsets_minutes": "[-15]"},
        "reminders.allowed_offsets_minutes",
        ["between 1 and 10080", "got -15"],
        id="offsets-negative",
    ),
    pytest.param(
        {"reminders.allowed_offsets_minutes": f"[{10**20}]"},
        "reminders.allowed_offsets_minutes",
        ["between 1 and 10080", str(10**20)],
        id="offsets-huge",
    ),
    pytest.param(
        {"reminders.allowed_offsets_minutes": "[60, 60]"},
        "reminders.allowed_offsets_minutes",
        ["60 more than once"],
        id="offsets-duplicate",
    ),
    pytest.param(
        {"reminders.default_offsets_minutes": "[30]"},
        "reminders.default_offsets_minutes",
        ["one of reminders.allowed_offsets_minutes (1440, 60, 15)", "30"],
        id="default-offset-not-allowed",
    ),
    pytest.param(
        {"reminders.default_offsets_minutes": '["60"]'},
        "reminders.default_offsets_minutes",
        ["whole number", "'60' (text)"],
        id="default-offset-text",
    ),
    pytest.param(
        {"reminders.unclaimed_alert_teachers_hours": "0"},
        "reminders.unclaimed_alert_teachers_hours",
        ["between 1 and 336"],
        id="alert-hours-zero",
    ),
    pytest.param(
        {"reminders.unclaimed_alert_coordinators_hours": "1000"},
        "reminders.unclaimed_alert_coordinators_hours",
        ["between 1 and 336", "1000"],
        id="alert-hours-big",
    ),
    # --- the welcome words: the official opening, one message long, no invisible characters --------------
    pytest.param(
        {"welcome.words": '"Welcome, everyone."'},
        "welcome.words",
        ["'On behalf of CMSC'", "Delete this key"],
        id="welcome-without-opening",
    ),
    pytest.param({"welcome.words": '""'}, "welcome.words", ["must not be empty"], id="welcome-empty"),
    pytest.param({"welcome.words": '"   "'}, "welcome.words", ["must not be empty"], id="welcome-blank"),
    pytest.param({"welcome.words": "5"}, "welcome.words", ["text in quotes", "got 5"], id="welcome-number"),
    pytest.param(
        {"welcome.words": words("welcome. " * 250)},
        "welcome.words",
        ["at most 1800 characters", "one Discord message"],
        id="welcome-overlong",
    ),
    pytest.param(
        {"welcome.words": words(f"welcome{NUL}")},
        "welcome.words",
        ["invisible control character (U+0000)"],
        id="welcome-NUL",
    ),
    pytest.param(
        {"welcome.words": words(f"welcome{RLO}")},
        "welcome.words",
        ["invisible control character (U+202E)"],
        id="welcome-bidi-override",
    ),
    pytest.param(
        {"welcome.words": words(f"wel{ZWSP}come")},
        "welcome.words",
        ["invisible control character (U+200B)"],
        id="welcome-zero-width-space",
    ),
    pytest.param(
        {"welcome.words": words(f"welcome{BEL}")},
        "welcome.words",
        ["invisible control character (U+0007)"],
        id="welcome-bell-char",
    ),
    pytest.param(
        {"welcome.words": words(f"{ESC}[31mwelcome")},
        "welcome.words",
        ["invisible control character (U+001B)"],
        id="welcome-terminal-escape",
    ),
    # --- links: https only, nothing invisible, no markdown or scripts -------------------------------------
    pytest.param(
        {"links.community": '"http://community.test"'},
        "links.community",
        ["https://", "not secure"],
        id="link-plain-http",
    ),
    pytest.param(
        {"links.community": '"javascript:alert(1)"'},
        "links.community",
        ["must be a web link starting with https://", "'javascript:alert(1)'"],
        id="link-javascript",
    ),
    pytest.param(
        {"links.donate": '"file:///etc/passwd"'},
        "links.donate",
        ["must be a web link starting with https://", "'file:///etc/passwd'"],
        id="link-file-url",
    ),
    pytest.param(
        {"links.share": '"[share](https://evil.example)"'},
        "links.share",
        ["must be a web link starting with https://"],
        id="link-markdown",
    ),
    pytest.param(
        {"links.share": '"https://"'}, "links.share", ["must be a web link starting with https://"], id="link-no-host"
    ),
    pytest.param(
        {"links.donate": '"community.test/donate"'},
        "links.donate",
        ["https://", "community.test/donate"],
        id="link-no-scheme",
    ),
    pytest.param(
        {"links.share": '"https://community.test/a b"'},
        "links.share",
        ["must be a web link starting with https://"],
        id="link-with-space",
    ),
    pytest.param({"links.share": "5"}, "links.share", ["text in quotes", "got 5"], id="link-number"),
    pytest.param(
        {"links.community": '"https://community.test/\\u0000"'},
        "links.community",
        ["invisible control character (U+0000)"],
        id="link-NUL",
    ),
    pytest.param(
        {"links.community": f'"https://community.test/{RLO}gpj.exe"'},
        "links.community",
        ["invisible control character (U+202E)"],
        id="link-bidi-override",
    ),
    pytest.param(
        {"links.coordinators": '"ftp://community.test"'},
        "links.coordinators",
        ["'mailto:' followed by an email address", "https://"],
        id="contact-ftp",
    ),
    pytest.param(
        {"links.coordinators": f'"coordinators{AT}community.test"'},
        "links.coordinators",
        [f"write it as 'mailto:coordinators{AT}community.test'"],
        id="contact-bare-email",
    ),
    pytest.param(
        {"links.coordinators": '"mailto:nobody"'},
        "links.coordinators",
        ["mailto:name"],
        id="contact-mailto-without-address",
    ),
    pytest.param(
        {"links.coordinators": f'"mailto:a\\u0000{AT}community.test"'},
        "links.coordinators",
        ["invisible control character (U+0000)"],
        id="contact-NUL",
    ),
    # --- file paths ----------------------------------------------------------------------------------
    pytest.param({"storage.database": '""'}, "storage.database", ["must not be empty"], id="database-empty"),
    pytest.param({"storage.database": "5"}, "storage.database", ["text in quotes", "got 5"], id="database-number"),
    pytest.param(
        {"storage.database": '"data/\\u0000.sqlite3"'},
        "storage.database",
        ["invisible control character (U+0000)"],
        id="database-NUL",
    ),
    pytest.param({"storage.backups": '""'}, "storage.backups", ["must not be empty"], id="backups-empty"),
    pytest.param(
        {"storage.backups": '"data/bot.sqlite3"'},
        "storage.backups",
        ["a folder for the backups, not the database file itself"],
        id="backups-onto-the-database",
    ),
    pytest.param(
        {"storage.keep_backups": "0"}, "storage.keep_backups", ["between 1 and 365 backups", "got 0"], id="keep-none"
    ),
    pytest.param(
        {"storage.keep_backups": "366"}, "storage.keep_backups", ["between 1 and 365 backups"], id="keep-too-many"
    ),
    pytest.param(
        {"storage.keep_backups": '"14"'},
        "storage.keep_backups",
        ["whole number of backups", "'14' (text)"],
        id="keep-as-text",
    ),
    pytest.param(
        {"storage.keep_backups": "7.5"}, "storage.keep_backups", ["whole number of backups", "7.5"], id="keep-half"
    ),
    pytest.param({"storage.keep_backup": "7"}, "storage.keep_backup", ["did you mean 'keep_backups'"], id="keep-typo"),
    pytest.param({"recordings.file": "7"}, "recordings.file", ["text in quotes", "got 7"], id="recordings-number"),
    pytest.param(
        {"recordings.file": '"recordings\\u0000.yaml"'},
        "recordings.file",
        ["invisible control character (U+0000)"],
        id="recordings-NUL",
    ),
    pytest.param({"recordings.file": '"   "'}, "recordings.file", ["must not be empty"], id="recordings-blank"),
    # --- the token never belongs in the file -----------------------------------------------------------
    pytest.param(
        {"token": f'"{SECRET}"'},
        "token",
        ["never be written in the config file", "DISCORD_TOKEN"],
        id="token-top-level",
    ),
    pytest.param(
        {"guild.token": f'"{SECRET}"'}, "guild.token", ["DISCORD_TOKEN_FILE", "reset the token"], id="token-in-section"
    ),
    pytest.param({"links.bot_token": f'"{SECRET}"'}, "links.bot_token", ["never be written"], id="token-suffix"),
    pytest.param({"guild.TOKEN": f'"{SECRET}"'}, "guild.TOKEN", ["never be written"], id="token-upper-case"),
    # --- unknown keys --------------------------------------------------------------------------------
    pytest.param(
        {"sessions.grace_minuts": "3"}, "sessions.grace_minuts", ["unknown key", "'grace_minutes'"], id="key-misspelt"
    ),
    pytest.param({"roles.wizard": "1"}, "roles.wizard", ["unknown key", "coordinator, teacher"], id="key-unknown"),
    pytest.param({"sesions.grace_minutes": "5"}, "sesions", ["unknown key", "'sessions'"], id="section-misspelt"),
    # --- not TOML at all: times and dates that do not exist, syntax, encoding -----------------------------
    pytest.param(
        raw(toml({"sessions.grace_minutes": "25:00"})),
        "",
        ["not valid TOML", "line 21, column"],
        id="toml-25h00-unquoted",
    ),
    pytest.param(
        raw(toml({"sessions.grace_minutes": "24:60:00"})),
        "",
        ["not valid TOML", "line 21, column"],
        id="toml-24h60-unquoted",
    ),
    pytest.param(
        raw(toml({"sessions.grace_minutes": "2026-02-30"})),
        "",
        ["not valid TOML", "line 21, column", "invalid date"],
        id="toml-30-february",
    ),
    pytest.param(raw(toml({}) + "[guild]\nid = 5\n"), "", ["not valid TOML", "twice"], id="toml-section-twice"),
    pytest.param(
        raw('[guild]\nid = "100000000000000001\n'), "", ["not valid TOML", "line 2", "quotes"], id="toml-unclosed-quote"
    ),
    pytest.param(
        raw(toml({}).replace('"data/bot.sqlite3"', f'"data/{NUL}"')), "", ["not valid TOML", "line"], id="toml-raw-NUL"
    ),
    pytest.param(raw(toml({}).encode() + b"# caf\xe9\n"), "", ["not UTF-8", "save it as UTF-8"], id="not-utf8"),
    pytest.param(raw(BOM + toml({})), "", ["not valid TOML", "line 1, column 1"], id="byte-order-mark"),
    pytest.param(raw(""), "guild", ["[guild] section is missing"], id="empty-file"),
    pytest.param(
        raw(toml({"sessions.grace_minutes": "9" * 5000})),
        "",
        ["a number thousands of digits long"],
        id="toml-5000-digit-number",
    ),
]

# Good controls: these must load (the table cannot pass by refusing everything).
GOOD: list[Any] = [
    pytest.param({}, id="base"),
    pytest.param({"welcome.words": words(f"welcome {EMOJI_TITLE}")}, id="welcome-with-emoji-and-joiner"),
    pytest.param({"welcome.words": f'"""\n{MARKER},\n  welcome\tto this session."""'}, id="welcome-multi-line-tab"),
    pytest.param({"welcome.words": words("@everyone is welcome, **all** of you")}, id="welcome-with-mention-text"),
    pytest.param({"guild.id": '" 100000000000000001 "'}, id="id-in-quotes-with-spaces"),
    pytest.param({"guild.id": str(2**64 - 1)}, id="id-largest-snowflake"),
    pytest.param({"links.community": '"https://community.test/café/ハート"'}, id="link-unicode-path"),
    pytest.param({"sessions.timezone": '"America/Los_Angeles"'}, id="timezone-pacific"),
    pytest.param({"sessions.grace_minutes": "0", "sessions.horizon_days": "365"}, id="range-edges"),
    pytest.param({"reminders.default_offsets_minutes": "[]"}, id="no-default-reminders"),
]


def write(folder: Path, case: dict[str, Any]) -> Path:
    """Write the case's config.toml into folder and return its path."""
    path = folder / "config.toml"
    text = case["__raw__"] if "__raw__" in case else toml(case)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def run_check(path: Path) -> tuple[int, str]:
    """`python -m bot check --config path` in-process: its exit code and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", "--config", str(path)])
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize(("case", "key", "expected"), BROKEN)
def test_bad_config_is_refused_naming_the_key_and_nothing_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: dict[str, Any], key: str, expected: list[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    path = write(tmp_path, case)
    before = tree(tmp_path)

    with pytest.raises(ConfigErrors) as caught:
        load_config(path)
    by_key = {error.key: error.message for error in caught.value.errors}
    assert key in by_key, f"no message for {key!r}: {list(by_key)}"
    message = by_key[key]
    assert not missing(message, expected), f"{message!r} lacks {missing(message, expected)}"
    assert not raw_wording(str(caught.value))
    assert SECRET not in str(caught.value) and "secret-looking" not in str(caught.value)

    code, printed = run_check(path)
    assert code == 1
    assert "[BAD] config" in printed and "not checked: the config must load first" in printed
    assert not missing(printed, expected[:1])
    assert not raw_wording(printed) and "secret-looking" not in printed
    assert tree(tmp_path) == before, "check neither edits the config nor creates a database"


@pytest.mark.parametrize("case", GOOD)
def test_good_controls_load(tmp_path: Path, case: dict[str, Any]) -> None:
    path = write(tmp_path, case)
    before = path.read_bytes()
    config = load_config(path)
    assert config.sessions.timezone == "America/Los_Angeles"
    assert MARKER in config.welcome.words
    assert path.read_bytes() == before
