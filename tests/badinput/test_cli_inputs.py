"""Command-line arguments: every bad one exits 2 (or 1 for check's report) with a plain `error:` line.

Cases run `python -m bot ...` in-process against a workspace holding a valid config.toml, the
shipped recordings list and its bell: the exit code, words naming the option and what is allowed,
no traceback, and the workspace byte-for-byte unchanged (no audio copied, no list rewritten, no
database made). A few run as real processes too, to show stderr carries no traceback there either.
"""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from loopback import World
from loopback.harness import config_for_world
from tests.badinput.cases import (
    BEL,
    EMOJI_TITLE,
    ESC,
    EVIL_URL,
    FILE_URL,
    RLO,
    TRAVERSAL,
    ZWSP,
    missing,
    raw_wording,
    tree,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BELL = str(REPO_ROOT / "audio" / "bell.ogg")
# Placeholders in a case's arguments, replaced by the workspace's paths.
CONFIG, LIST, WORKSPACE = "<config>", "<recordings.yaml>", "<workspace>"

WEEKDAYS = "Use MON, TUE, WED, THU, FRI, SAT, SUN"
DATE_RANGE = "2000-01-01 to 2037-12-31"
INVISIBLE = "invisible control character"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder with a valid config.toml, recordings.yaml and audio/bell.ogg (no database yet)."""
    folder = tmp_path / "bot-home"
    config_for_world(World.default(), folder)
    return folder


def preview(*arguments: str) -> tuple[str, ...]:
    """`schedule preview ...`."""
    return ("schedule", "preview", *arguments)


def add(*arguments: str, title: str = "Calm", kind: str = "practice", source: str = BELL) -> tuple[str, ...]:
    """`recordings add SOURCE --title T --kind K ... --recordings LIST`."""
    return ("recordings", "add", source, "--title", title, "--kind", kind, *arguments, "--recordings", LIST)


# (arguments, expected exit code, words stderr (or stdout for check) must contain)
BROKEN: list[Any] = [
    # --- schedule preview --weekly: hours, minutes, days -------------------------------------------------
    pytest.param(preview("--weekly", "MON@25:00"), 2, ["'25:00': hours are 00-23"], id="weekly-25h00"),
    pytest.param(preview("--weekly", "MON@24:60"), 2, ["'24:60': hours are 00-23"], id="weekly-24h60"),
    pytest.param(preview("--weekly", "MON@24:00"), 2, ["midnight is 00:00, not 24:00"], id="weekly-24h00"),
    pytest.param(preview("--weekly", "MON@18:60"), 2, ["'18:60': minutes are 00-59"], id="weekly-18h60"),
    pytest.param(preview("--weekly", "MON@-1:30"), 2, ["is not a time", "24-hour HH:MM"], id="weekly-negative-hour"),
    pytest.param(preview("--weekly", "MON@6pm"), 2, ["'6pm' is not a time", "like 18:30"], id="weekly-am-pm"),
    pytest.param(preview("--weekly", "MON@18:30 PST"), 2, ["is not a time"], id="weekly-time-with-zone"),
    pytest.param(
        preview("--weekly", "FUNDAY@18:30"), 2, ["'FUNDAY' is not a weekday", WEEKDAYS], id="weekly-unknown-weekday"
    ),
    pytest.param(
        preview("--weekly", "MON,,WED@18:30"), 2, ["A weekday is empty", "doubled commas"], id="weekly-doubled-comma"
    ),
    pytest.param(preview("--weekly", "@18:30"), 2, ["names no day before the @"], id="weekly-no-day"),
    pytest.param(preview("--weekly", "MON 18:30"), 2, ["needs days and a time joined by @"], id="weekly-no-at"),
    pytest.param(
        preview("--weekly", f"MON{RLO}@18:30"),
        2,
        ["is not a weekday", "\\u202e"],
        id="weekly-bidi-override-shown-escaped",
    ),
    pytest.param(preview("--weekly", ""), 2, ["needs days and a time joined by @"], id="weekly-empty"),
    # --- dates: 30 February, month 13, year 0, outside the supported range ---------------------------------
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2027-02-30"),
        2,
        ["'2027-02-30': February 2027 has 28 days", "01-28"],
        id="from-30-february",
    ),
    pytest.param(preview("--weekly", "MON@18:30", "--from", "2026-13-01"), 2, ["months are 01-12"], id="from-month-13"),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "0000-01-01"), 2, ["outside the dates", DATE_RANGE], id="from-year-0"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "1999-12-31"), 2, ["outside the dates", DATE_RANGE], id="from-1999"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2038-01-01"), 2, ["outside the dates", "after 2037"], id="from-2038"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "tomorrow"),
        2,
        ["'tomorrow' is not a date", "YYYY-MM-DD"],
        id="from-word",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "01/03/2026"),
        2,
        ["is not a date", "like 2026-03-01"],
        id="from-slashes",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2026-03-10", "--until", "2026-03-01"),
        2,
        ["is before the start date", "on or after the start"],
        id="until-before-from",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2026-03-10", "--until", "2026-02-30"),
        2,
        ["February 2026 has 28 days"],
        id="until-30-february",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2026-03-03", "--until", "2026-03-08"),
        2,
        ["has no sessions", "none of those weekdays"],
        id="until-no-session",
    ),
    # --- numbers: zero, negative, huge, words, digits int() cannot read -------------------------------------
    pytest.param(
        preview("--weekly", "MON@18:30", "--count", "0"), 2, ["--count '0'", "from 1 to 10000"], id="count-zero"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--count=-1"), 2, ["--count '-1'", "from 1 to 10000"], id="count-negative"
    ),
    pytest.param(preview("--weekly", "MON@18:30", "--count", "99999999999"), 2, ["from 1 to 10000"], id="count-huge"),
    pytest.param(
        preview("--weekly", "MON@18:30", "--count", "ten"), 2, ["--count 'ten'", "whole number"], id="count-word"
    ),
    pytest.param(preview("--weekly", "MON@18:30", "--count", "1e3"), 2, ["--count '1e3'"], id="count-exponent"),
    pytest.param(
        preview("--weekly", "MON@18:30", "--count", "²"),
        2,
        ["--count '²'", "whole number"],
        id="count-superscript-digit",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2037-06-01", "--count", "10000"),
        2,
        ["goes past 2037-12-31", "fewer sessions"],
        id="count-past-2037",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval", "0"), 2, ["from 1 to 52 weeks", "got 0"], id="interval-zero"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval", "53"), 2, ["from 1 to 52 weeks", "got 53"], id="interval-53"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval=-2"), 2, ["The interval '-2'", "1 to 52"], id="interval-negative"
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval", "two"),
        2,
        ["The interval 'two'", "whole number"],
        id="interval-word",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval", "²"),
        2,
        ["The interval '²'", "whole number"],
        id="interval-superscript-digit",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--interval", "9" * 30), 2, ["from 1 to 52 weeks"], id="interval-huge"
    ),
    # --- --once ------------------------------------------------------------------------------------------
    pytest.param(preview("--once", "2027-02-30 18:30"), 2, ["February 2027 has 28 days"], id="once-30-february"),
    pytest.param(preview("--once", "2027-03-01 25:00"), 2, ["hours are 00-23"], id="once-25h00"),
    pytest.param(preview("--once", "2027-03-01 24:60"), 2, ["hours are 00-23"], id="once-24h60"),
    pytest.param(
        preview("--once", "2027-03-01 18:30 PST"), 2, ["has a time zone or offset", "without one"], id="once-with-PST"
    ),
    pytest.param(preview("--once", "2027-03-01T18:30Z"), 2, ["has a time zone or offset"], id="once-with-Z"),
    pytest.param(preview("--once", "2027-03-01 18:30+03:00"), 2, ["has a time zone or offset"], id="once-with-UTC+3"),
    pytest.param(preview("--once", "tomorrow evening"), 2, ["is not a date"], id="once-words"),
    pytest.param(
        preview("--once", "2027-03-01"), 2, ["is not a date and time", "YYYY-MM-DD HH:MM"], id="once-date-only"
    ),
    pytest.param(preview("--once", "0000-01-01 10:00"), 2, ["outside the dates", DATE_RANGE], id="once-year-0"),
    pytest.param(
        preview("--once", "2027-03-01 18:30", "--count", "3"),
        2,
        ["--count does not apply", "--weekly"],
        id="once-with-count",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--once", "2027-03-01 18:30"),
        2,
        ["either --weekly or --once"],
        id="weekly-and-once",
    ),
    pytest.param(preview(), 2, ["Say what to preview", "--weekly DAYS@HH:MM"], id="preview-nothing"),
    pytest.param(preview("--weekly"), 2, ["argument --weekly: expected one argument"], id="weekly-without-value"),
    pytest.param(("schedule",), 2, ["required: SUBCOMMAND"], id="schedule-without-subcommand"),
    pytest.param(("shedule", "preview"), 2, ["invalid choice: 'shedule'"], id="command-misspelt"),
    # --- recordings add: URLs and paths where a local file or an id belongs ----------------------------------
    pytest.param(
        add(source=EVIL_URL), 2, ["only a file on this computer", "not a web address"], id="add-source-https-url"
    ),
    pytest.param(add(source=FILE_URL), 2, ["only a file on this computer"], id="add-source-file-url"),
    pytest.param(add(source="-"), 2, ["only a file on this computer", "'-'"], id="add-source-stdin"),
    pytest.param(
        add(source="/nonexistent/calm.wav"), 2, ["there is no file at /nonexistent/calm.wav"], id="add-source-missing"
    ),
    pytest.param(add(source="/dev/null"), 2, ["/dev/null is not an ordinary file"], id="add-source-device"),
    pytest.param(add(source="/etc/passwd"), 2, ["reading it as audio", "failed"], id="add-source-not-audio"),
    pytest.param(add(source=WORKSPACE), 2, ["is not an ordinary file"], id="add-source-folder"),
    pytest.param(
        add("--id", EVIL_URL),
        2,
        ["id must be", "lowercase letters, digits and hyphens", EVIL_URL],
        id="add-id-https-url",
    ),
    pytest.param(add("--id", TRAVERSAL), 2, ["id must be", "lowercase letters", TRAVERSAL], id="add-id-traversal"),
    pytest.param(add("--id", FILE_URL), 2, ["id must be"], id="add-id-file-url"),
    pytest.param(
        add("--id", "bell"), 2, ["already has an entry with this id", "choose another with --id"], id="add-id-taken"
    ),
    pytest.param(add("--id", "Calm_1"), 2, ["id must be", "like 'loving-kindness-es'"], id="add-id-bad-slug"),
    pytest.param(
        add(kind="music"), 2, ["kind must be one of practice, welcome-reading, bell", "'music'"], id="add-kind-unknown"
    ),
    pytest.param(add(title=""), 2, ["cannot make an id from this title", "--id"], id="add-title-empty"),
    pytest.param(add("--id", "calm", title="   "), 2, ["title must not be empty"], id="add-title-blank"),
    pytest.param(add(title="x" * 101), 2, ["title must be at most 100 characters"], id="add-title-101-chars"),
    pytest.param(add(title=f"{RLO}mlaC"), 2, ["title ", INVISIBLE, "U+202E"], id="add-title-bidi-override"),
    pytest.param(add(title=f"{ESC}[31mCalm"), 2, ["title ", INVISIBLE, "U+001B"], id="add-title-terminal-escape"),
    pytest.param(add(title=f"Ca{ZWSP}lm"), 2, ["title ", INVISIBLE, "U+200B"], id="add-title-zero-width"),
    pytest.param(add("--source", f"Teacher{BEL}"), 2, ["source ", INVISIBLE, "U+0007"], id="add-source-bell-char"),
    pytest.param(
        add(title=EMOJI_TITLE), 2, ["cannot make an id from this title", "--id"], id="add-emoji-title-needs-an-id"
    ),
    pytest.param(
        add("--language", "english"), 2, ["language must be a language code such as en"], id="add-language-word"
    ),
    pytest.param(
        add("--source-url", "http://soundcloud.test/x"),
        2,
        ["source_url must be a web link", "https://"],
        id="add-source-url-http",
    ),
    pytest.param(
        add("--source-url", "javascript:alert(1)"), 2, ["source_url must be a web link"], id="add-source-url-javascript"
    ),
    pytest.param(add("--audio-dir", "/tmp"), 2, ["the audio folder /tmp is outside"], id="add-audio-dir-outside"),
    pytest.param(
        ("recordings", "add", BELL, "--kind", "bell", "--recordings", LIST),
        2,
        ["the following arguments are required: --title"],
        id="add-without-title",
    ),
    # --- recordings verify / list on something that is not a list ------------------------------------------
    pytest.param(
        ("recordings", "verify", "--recordings", WORKSPACE), 2, ["cannot read", "Is a directory"], id="verify-folder"
    ),
    pytest.param(
        ("recordings", "verify", "--recordings", "/etc/passwd"),
        2,
        ["must start with 'recordings:'"],
        id="verify-not-a-list",
    ),
    pytest.param(
        ("recordings", "list", "--recordings", "/nonexistent/recordings.yaml"),
        2,
        ["there is no approved-recordings list", "recordings add"],
        id="list-missing",
    ),
    pytest.param(("recordings", "list", "--recordings", BELL), 2, ["is not UTF-8 text"], id="list-audio-file"),
    # --- invite-url ----------------------------------------------------------------------------------------
    *[
        pytest.param(
            ("invite-url", "--client-id", value),
            2,
            ["--client-id", "a number of 17 to 20 digits", "General Information"],
            id=f"client-id-{name}",
        )
        for name, value in [
            ("word", "abc"),
            ("negative", "-123456789012345678"),
            ("zero", "0"),
            ("too-long", "1" * 30),
            ("url", "https://discord.com/developers/applications/123456789012345678"),
            ("empty", ""),
            ("superscript-digits", "¹²³⁴⁵⁶⁷⁸⁹¹²³⁴⁵⁶⁷⁸⁹"),
            ("mention", "<@123456789012345678>"),
        ]
    ],
    # --- check, backup and run ------------------------------------------------------------------------------
    pytest.param(
        ("check", "--config", "/nonexistent/config.toml"),
        1,
        ["[BAD] config", "no configuration file", "Copy config.example.toml"],
        id="check-config-missing",
    ),
    pytest.param(("check", "--config", WORKSPACE), 1, ["[BAD] config", "is a folder"], id="check-config-folder"),
    pytest.param(
        ("check", "--config", "/nonexistent/config.toml", "--live"),
        1,
        ["[BAD] config", "[BAD] token", "needs the token", "[BAD] server", "not checked: the config must be usable"],
        id="check-live-without-config-or-token",
    ),
    pytest.param(
        ("check", "--config", BELL, "--live", "--live"),
        1,
        ["[BAD] config", "not UTF-8", "[BAD] server      not checked"],
        id="check-live-twice-on-an-audio-file",
    ),
    pytest.param(("check", "--live=yes"), 2, ["--live: ignored explicit argument 'yes'"], id="check-live-with-a-value"),
    pytest.param(("check", "--config", BELL), 1, ["[BAD] config", "not UTF-8"], id="check-config-audio-file"),
    pytest.param(
        ("backup", "--config", CONFIG, "--to", CONFIG),
        2,
        ["--to", "already exists", "--force"],
        id="backup-over-existing-file",
    ),
    pytest.param(
        ("backup", "--config", CONFIG, "--to", "<workspace>/practice-circles.sqlite3", "--force"),
        2,
        ["--to: is the database itself"],
        id="backup-onto-the-database",
    ),
    pytest.param(
        ("backup", "--config", CONFIG), 2, ["there is no database at", "when it first starts"], id="backup-no-database"
    ),
    pytest.param(
        ("backup", "--config", CONFIG, "--force"), 2, ["--force: only goes with --to"], id="backup-force-without-to"
    ),
    pytest.param(
        ("restore", "--config", CONFIG, "--from", "<workspace>/nope.sqlite3"),
        2,
        ["there is no file at", "nope.sqlite3"],
        id="restore-from-missing-file",
    ),
    pytest.param(
        ("restore", "--config", CONFIG, "--from", BELL),
        2,
        ["bell.ogg is not a database SQLite can read"],
        id="restore-from-an-audio-file",
    ),
    pytest.param(
        ("restore", "--config", CONFIG, "--from", LIST),
        2,
        ["recordings.yaml is not a database SQLite can read"],
        id="restore-from-the-recordings-list",
    ),
    pytest.param(
        ("restore", "--config", CONFIG, "--from"), 2, ["--from: expected one argument"], id="restore-from-nothing"
    ),
    pytest.param(
        ("run", "--config", CONFIG), 2, ["DISCORD_TOKEN", "not set", "DISCORD_TOKEN_FILE"], id="run-without-token"
    ),
    pytest.param(
        ("run", "--config", "/nonexistent/config.toml"), 2, ["no configuration file"], id="run-config-missing"
    ),
]

# Good controls: the same commands with good values succeed (a DST-gap time is read as RFC 5545 says).
GOOD: list[Any] = [
    pytest.param(
        preview("--once", "2027-03-14 02:30"),
        ["03:30 PDT", "02:30 does not exist", "read as 03:30 PDT"],
        id="once-in-the-spring-forward-gap",
    ),
    pytest.param(
        preview("--weekly", "SUN@02:30", "--from", "2027-03-07", "--count", "2"),
        ["does not exist on Sun 14 Mar 2027", "read as 03:30 PDT"],
        id="weekly-through-the-gap",
    ),
    pytest.param(
        preview("--once", "2027-11-07 01:30"),
        ["happens twice", "the first one, 01:30 PDT"],
        id="once-in-the-fall-back-overlap",
    ),
    pytest.param(
        preview("--weekly", "mon,Wednesday@00:00", "--from", "2026-03-02", "--count", "2"),
        ["Every Monday and Wednesday at 00:00"],
        id="weekly-mixed-case-and-midnight",
    ),
    pytest.param(
        preview("--weekly", "MON@18:30", "--from", "2026-03-02", "--count", "١٢"),
        ["12  "],
        id="count-arabic-indic-digits",
    ),
    pytest.param(
        ("invite-url", "--client-id", " 123456789012345678 "),
        ["client_id=123456789012345678"],
        id="client-id-with-spaces",
    ),
]


def run_cli(arguments: tuple[str, ...], workspace: Path) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` in-process with the workspace's paths filled in: exit code, stdout, stderr."""
    replace = {CONFIG: str(workspace / "config.toml"), LIST: str(workspace / "recordings.yaml")}
    argv = [replace.get(a, a).replace(WORKSPACE, str(workspace)) for a in arguments]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's own refusals
            code = stop.code if isinstance(stop.code, int) else 2
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("arguments", "code", "expected"), BROKEN)
def test_bad_arguments_exit_with_a_plain_error_and_change_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, arguments: tuple[str, ...], code: int, expected: list[str]
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    before = tree(workspace)
    got, out, err = run_cli(arguments, workspace)
    assert got == code, (out, err)
    shown = out if code == 1 else err
    assert not missing(shown, expected), f"{shown!r} lacks {missing(shown, expected)}"
    if code == 2:
        assert "error: " in err, err
    assert not raw_wording(out + err)
    assert tree(workspace) == before, "a refused command changes nothing"


@pytest.mark.parametrize(("arguments", "expected"), GOOD)
def test_good_controls_succeed(workspace: Path, arguments: tuple[str, ...], expected: list[str]) -> None:
    code, out, err = run_cli(arguments, workspace)
    assert (code, err) == (0, "")
    assert not missing(out, expected), f"{out!r} lacks {missing(out, expected)}"


def test_an_emoji_title_is_added_with_an_id(workspace: Path) -> None:
    listing = workspace / "recordings.yaml"
    code, out, err = run_cli(add("--id", "calm-emoji", title=EMOJI_TITLE), workspace)
    assert (code, err) == (0, "")
    assert f"added 'calm-emoji' to {listing}: {EMOJI_TITLE}" in out
    assert EMOJI_TITLE in listing.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param(preview("--weekly", "MON@18:30", "--from", "0000-01-01"), "outside the dates", id="year-0"),
        pytest.param(preview("--weekly", "MON@18:30", "--count", "²"), "--count '²'", id="superscript-count"),
        pytest.param(("invite-url", "--client-id", "¹²³⁴⁵⁶⁷⁸⁹¹²³⁴⁵⁶⁷⁸⁹"), "--client-id", id="superscript-id"),
        pytest.param(add(source=EVIL_URL), "only a file on this computer", id="url-as-file"),
        pytest.param(preview("--weekly", "MON@25:00"), "hours are 00-23", id="25h00"),
    ],
)
def test_as_a_real_process_stderr_has_the_error_line_and_no_traceback(
    workspace: Path, arguments: tuple[str, ...], expected: str
) -> None:
    argv = [a.replace(LIST, str(workspace / "recordings.yaml")) for a in arguments]
    result = subprocess.run(
        [sys.executable, "-m", "bot", *argv], capture_output=True, text=True, timeout=60, check=False, cwd=REPO_ROOT
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert "Traceback" not in result.stderr
