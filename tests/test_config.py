"""Tests for bot.config: every broken setting is refused with a message a volunteer can act on."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot import texts
from bot.config import Secret, load_config, load_token
from bot.errors import ConfigError, ConfigErrors

REPO_ROOT = Path(__file__).resolve().parents[1]
AT = "@"  # kept apart so no tool mistakes the test addresses for real ones

# A valid configuration, section by section; each value is TOML text so cases can put in anything.
BASE: dict[str, dict[str, str]] = {
    "guild": {"id": "100000000000000001"},
    "channels": {
        "announcements": "100000000000000002",
        "teachers": "100000000000000003",
        "coordinators": "100000000000000004",
        "sessions": "[100000000000000005, 100000000000000006]",
    },
    "roles": {"coordinator": "100000000000000007", "teacher": "100000000000000008"},
    "reminders": {
        "allowed_offsets_minutes": "[1440, 60, 15]",
        "default_offsets_minutes": "[60]",
    },
    "sessions": {"grace_minutes": "5", "silent_sit_minutes": "[10, 15, 20]"},
    "links": {
        "community": '"https://community.test/join"',
        "coordinators": f'"mailto:coordinators{AT}community.test"',
        "donate": '"https://community.test/donate"',
        "share": '"https://community.test/share"',
    },
}

REMOVE = object()


def render(changes: dict[str, object] | None = None) -> str:
    """BASE as TOML, with changes: {'section.key': toml_text or REMOVE, 'section': REMOVE, 'top': text}."""
    sections = {name: dict(keys) for name, keys in BASE.items()}
    top: dict[str, str] = {}
    for dotted, value in (changes or {}).items():
        section, _, key = dotted.partition(".")
        if not key:
            if value is REMOVE:
                sections.pop(section, None)
            else:
                sections.pop(section, None)
                top[section] = str(value)
        elif value is REMOVE:
            sections[section].pop(key, None)
        else:
            sections.setdefault(section, {})[key] = str(value)
    lines = [f"{key} = {value}" for key, value in top.items()]
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """The messages load_config gives for this text (fails the test if it loads)."""
    with pytest.raises(ConfigErrors) as caught:
        load_config(write(tmp_path, text))
    return [error.message for error in caught.value.errors]


def test_base_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render()))
    assert config.guild.id == 100000000000000001
    assert config.channels.default_session == 100000000000000005  # first session channel by default
    assert config.sessions.timezone == "America/Los_Angeles"
    assert config.welcome.words == texts.OFFICIAL_WELCOME_WORDS
    assert config.reminders.unclaimed_alert_teachers_hours == 48
    assert config.reminders.unclaimed_alert_coordinators_hours == 6
    assert config.sessions.open_minutes_before == 10
    assert config.sessions.choice_timeout_minutes == 3
    assert config.sessions.lock_chat is True
    assert config.sessions.horizon_days == 56
    assert config.placeholders() == []


BROKEN = [
    # (changes, words that must appear in the one message)
    ({"sessions.grace_minutes": "90"}, ["sessions.grace_minutes", "between 0 and 30", "got 90"]),
    ({"sessions.grace_minutes": "-1"}, ["sessions.grace_minutes", "between 0 and 30", "got -1"]),
    ({"sessions.grace_minutes": "5.5"}, ["sessions.grace_minutes", "whole number", "0 and 30", "5.5"]),
    ({"sessions.grace_minutes": '"5"'}, ["sessions.grace_minutes", "whole number", "'5' (text)"]),
    ({"sessions.open_minutes_before": "61"}, ["sessions.open_minutes_before", "between 0 and 60", "61"]),
    ({"sessions.silent_sit_minutes": "[5, 15]"}, ["sessions.silent_sit_minutes", "10 and 20", "got 5"]),
    ({"sessions.silent_sit_minutes": "[10, 10]"}, ["sessions.silent_sit_minutes", "10 more than once"]),
    ({"sessions.silent_sit_minutes": "[]"}, ["sessions.silent_sit_minutes", "at least one", "10 and 20"]),
    (
        {"sessions.default_silent_sit_minutes": "12"},
        ["sessions.default_silent_sit_minutes", "one of sessions.silent_sit_minutes (10, 15, 20)", "12"],
    ),
    ({"sessions.choice_timeout_minutes": "0"}, ["sessions.choice_timeout_minutes", "between 1 and 15"]),
    ({"sessions.horizon_days": "400"}, ["sessions.horizon_days", "between 7 and 365", "400"]),
    (
        {"sessions.timezone": '"Europe/London"'},
        ["sessions.timezone", "'America/Los_Angeles'", "Europe/London", "US Pacific Time"],
    ),
    ({"sessions.lock_chat": '"yes"'}, ["sessions.lock_chat", "true or false", "'yes'"]),
    (
        {"reminders.allowed_offsets_minutes": "[0, 60]"},
        ["reminders.allowed_offsets_minutes", "between 1 and 10080", "got 0"],
    ),
    (
        {"reminders.allowed_offsets_minutes": "[20000]"},
        ["reminders.allowed_offsets_minutes", "between 1 and 10080", "got 20000"],
    ),
    (
        {"reminders.allowed_offsets_minutes": "[60, 60]"},
        ["reminders.allowed_offsets_minutes", "60 more than once"],
    ),
    (
        {"reminders.default_offsets_minutes": "[30]"},
        ["reminders.default_offsets_minutes", "reminders.allowed_offsets_minutes (1440, 60, 15)", "30"],
    ),
    (
        {"reminders.unclaimed_alert_teachers_hours": "0"},
        ["reminders.unclaimed_alert_teachers_hours", "between 1 and 336"],
    ),
    (
        {"reminders.unclaimed_alert_coordinators_hours": "1000"},
        ["reminders.unclaimed_alert_coordinators_hours", "between 1 and 336", "1000"],
    ),
    ({"guild.id": '"abc"'}, ["guild.id", "Discord id", "positive whole number", "'abc'"]),
    ({"guild.id": "-5"}, ["guild.id", "Discord id", "-5"]),
    ({"guild.id": "0"}, ["guild.id", "Discord id", "got 0"]),
    ({"channels.announcements": "true"}, ["channels.announcements", "Discord id", "got true"]),
    ({"roles.teacher": "1.5"}, ["roles.teacher", "Discord id", "1.5"]),
    ({"channels.sessions": "[]"}, ["channels.sessions", "one or more Discord ids", "empty list"]),
    ({"channels.sessions": '[100000000000000005, "x"]'}, ["channels.sessions", "'x' (text) is not one"]),
    ({"channels.sessions": "[5, 5]"}, ["channels.sessions", "5 more than once"]),
    (
        {"channels.default_session": "100000000000000099"},
        ["channels.default_session", "one of channels.sessions", "100000000000000005", "100000000000000099"],
    ),
    (
        {"welcome.words": '"Welcome, everyone."'},
        ["welcome.words", "'On behalf of CMSC'", "no participant is leading", "Delete this key"],
    ),
    ({"welcome.words": '""'}, ["welcome.words", "must not be empty"]),
    (
        {"welcome.words": '"On behalf of CMSC, ' + "welcome. " * 300 + '"'},
        ["welcome.words", "at most 1800 characters", "one Discord message"],
    ),
    ({"links.community": '"http://community.test"'}, ["links.community", "https://", "not secure"]),
    ({"links.donate": '"community.test/donate"'}, ["links.donate", "https://", "community.test/donate"]),
    ({"links.share": "5"}, ["links.share", "text in quotes", "got 5"]),
    ({"links.coordinators": '"ftp://community.test"'}, ["links.coordinators", "mailto:", "https://"]),
    (
        {"links.coordinators": f'"coordinators{AT}community.test"'},
        ["links.coordinators", f"write it as 'mailto:coordinators{AT}community.test'"],
    ),
    ({"links.coordinators": '"mailto:nobody"'}, ["links.coordinators", "mailto:name"]),
    ({"storage.database": '""'}, ["storage.database", "must not be empty"]),
    ({"recordings.file": "7"}, ["recordings.file", "text in quotes", "got 7"]),
    ({"roles.teacher": REMOVE}, ["roles.teacher", "is missing", "config.example.toml"]),
    ({"links": REMOVE}, ["[links] section is missing", "config.example.toml"]),
    ({"guild": "5"}, ["guild", "section written as [guild]", "got 5"]),
    ({"guild.token": '"abc.def.ghi"'}, ["guild.token", "never", "DISCORD_TOKEN", "DISCORD_TOKEN_FILE"]),
    ({"token": '"abc.def.ghi"'}, ["token", "DISCORD_TOKEN environment variable", "reset the token"]),
    (
        {"sessions.grace_minuts": "3"},
        ["sessions.grace_minuts", "unknown key", "did you mean 'grace_minutes'?"],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), BROKEN, ids=[next(iter(c)) for c, _ in BROKEN])
def test_broken_setting_is_refused_with_a_helpful_message(
    tmp_path: Path, changes: dict[str, object], expected: list[str]
) -> None:
    messages = problems(tmp_path, render(changes))
    assert len(messages) == 1, messages
    for words in expected:
        assert words in messages[0]
    # pydantic's own wording never reaches the user
    for raw in ("Input should", "pydantic", "type=", "Value error", "errors.pydantic.dev"):
        assert raw not in messages[0]


def test_token_value_is_never_repeated_in_the_message(tmp_path: Path) -> None:
    messages = problems(tmp_path, render({"guild.token": '"MTIz.secret-looking.value"'}))
    assert "secret-looking" not in "\n".join(messages)


def test_several_errors_are_reported_at_once(tmp_path: Path) -> None:
    text = render(
        {
            "sessions.grace_minutes": "90",
            "guild.id": '"abc"',
            "links.community": '"http://community.test"',
            "sessions.horizon_days": "1",
            "roles.teacher": REMOVE,
        }
    )
    with pytest.raises(ConfigErrors) as caught:
        load_config(write(tmp_path, text))
    keys = {error.key for error in caught.value.errors}
    assert keys == {"sessions.grace_minutes", "guild.id", "links.community", "sessions.horizon_days", "roles.teacher"}
    assert "5 problem(s)" in str(caught.value)


def test_unknown_key_without_a_close_match_lists_the_keys_allowed(tmp_path: Path) -> None:
    [message] = problems(tmp_path, render({"roles.wizard": "1"}))
    assert message.startswith("roles.wizard: unknown key")
    assert "coordinator, teacher" in message


def test_unknown_section_is_named(tmp_path: Path) -> None:
    [message] = problems(tmp_path, render({"sesions.grace_minutes": "5"}))
    assert "sesions" in message and "did you mean 'sessions'?" in message


def test_discord_ids_may_be_pasted_in_quotes(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            render(
                {
                    "guild.id": '"100000000000000001"',
                    "channels.sessions": '["100000000000000005", 100000000000000006]',
                    "channels.default_session": '"100000000000000006"',
                }
            ),
        )
    )
    assert config.guild.id == 100000000000000001
    assert config.channels.sessions == [100000000000000005, 100000000000000006]
    assert config.channels.default_session == 100000000000000006


def test_relative_paths_are_read_from_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render({"storage.database": '"db/bot.sqlite3"'})))
    assert config.storage.database == tmp_path / "db" / "bot.sqlite3"
    assert config.recordings.file == tmp_path / "recordings.yaml"  # the default, resolved the same way


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render({"storage.database": '"/var/lib/pc/bot.sqlite3"'})))
    assert config.storage.database == Path("/var/lib/pc/bot.sqlite3")


def test_welcome_words_may_span_lines(tmp_path: Path) -> None:
    text = render({"welcome.words": '"""\nOn behalf of CMSC,\n   welcome to this practice session."""'})
    config = load_config(write(tmp_path, text))
    assert config.welcome.words == "On behalf of CMSC, welcome to this practice session."


def test_example_config_loads_and_its_placeholders_are_found() -> None:
    config = load_config(REPO_ROOT / "config.example.toml")
    assert config.welcome.words == texts.OFFICIAL_WELCOME_WORDS
    assert config.storage.database == REPO_ROOT / "data" / "practice-circles.sqlite3"
    assert config.recordings.file == REPO_ROOT / "recordings.yaml"
    assert {"guild.id", "channels.sessions", "roles.teacher", "links.donate", "links.coordinators"} <= set(
        config.placeholders()
    )


def test_example_config_marks_every_placeholder_to_replace() -> None:
    lines = (REPO_ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if "example.org" in line or "111111111111111111" in line:
            assert line.lstrip().startswith("#") or "<-- REPLACE" in line, line


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    [message] = problems(tmp_path, "[guild]\nid = \n")
    assert "not valid TOML" in message
    assert "line 2, column" in message


def test_missing_file_says_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigErrors) as caught:
        load_config(tmp_path / "config.toml")
    message = str(caught.value)
    assert str(tmp_path / "config.toml") in message
    assert "Copy config.example.toml" in message


def test_file_that_is_not_utf8_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(render().encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigErrors, match="UTF-8"):
        load_config(path)


# --- the token -----------------------------------------------------------------------------------


def test_token_from_environment() -> None:
    assert load_token({"DISCORD_TOKEN": "  abc.def.ghi\n"}).reveal() == "abc.def.ghi"


def test_token_from_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text("abc.def.ghi\n", encoding="utf-8")
    assert load_token({"DISCORD_TOKEN_FILE": str(token_file)}).reveal() == "abc.def.ghi"


def test_token_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_token({"DISCORD_TOKEN_FILE": str(tmp_path / "nope.txt")})
    assert caught.value.key == "DISCORD_TOKEN_FILE"
    assert "no such file" in caught.value.message


def test_token_file_empty(tmp_path: Path) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text("  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN_FILE.*empty"):
        load_token({"DISCORD_TOKEN_FILE": str(token_file)})


def test_token_variable_empty() -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN: is set but empty"):
        load_token({"DISCORD_TOKEN": "   "})


def test_token_not_set_at_all() -> None:
    with pytest.raises(ConfigError) as caught:
        load_token({})
    assert "DISCORD_TOKEN" in caught.value.message and "DISCORD_TOKEN_FILE" in caught.value.message


def test_token_set_twice_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "token.txt"
    token_file.write_text("from-file", encoding="utf-8")
    with pytest.raises(ConfigError, match="set only one"):
        load_token({"DISCORD_TOKEN": "from-env", "DISCORD_TOKEN_FILE": str(token_file)})


@pytest.mark.parametrize("pasted", ["Bot abc.def.ghi", "abc def", "abc\ndef"])
def test_token_paste_mistakes_are_refused_without_echoing_it(pasted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_token({"DISCORD_TOKEN": pasted})
    assert "def" not in caught.value.message


def test_secret_never_shows_itself() -> None:
    secret = Secret("abc.def.ghi")
    assert "abc" not in repr(secret)
    assert "<hidden>" in repr(secret)
    assert str(secret) == "<hidden>"
    assert f"{secret}" == "<hidden>"
    assert "abc" not in repr([secret])
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert secret.reveal() == "abc.def.ghi"


# --- [web] ----------------------------------------------------------------------------------------

WEB = {"web.public_url": '"https://calendar.community.test/practice/"', "web.join_url": '"https://discord.gg/abc"'}


def test_without_a_web_section_there_is_no_web_server(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render()))
    assert config.web is None and config.web_enabled is None


def test_web_section_defaults_to_this_machine_on_port_8080(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render(WEB)))
    web = config.web_enabled
    assert web is not None
    assert (web.host, web.port) == ("127.0.0.1", 8080)
    # Links are built by appending paths, so the trailing slash is dropped once here.
    assert web.public_url == "https://calendar.community.test/practice"


def test_web_section_switched_off_is_kept_but_not_run(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, render({**WEB, "web.enabled": "false"})))
    assert config.web is not None and config.web_enabled is None


WEB_BROKEN: list[tuple[dict[str, object], list[str]]] = [
    ({"web.port": "0"}, ["web.port", "between 1 and 65535", "got 0"]),
    ({"web.port": "70000"}, ["web.port", "between 1 and 65535"]),
    ({"web.port": '"8080"'}, ["web.port", "port number", "'8080' (text)"]),
    ({"web.host": '"http://localhost:8080"'}, ["web.host", "without a port or http://", "127.0.0.1"]),
    ({"web.host": '"bad host"'}, ["web.host", "address to listen on"]),
    ({"web.public_url": '"http://calendar.community.test"'}, ["web.public_url", "https://", "not secure"]),
    ({"web.public_url": '"https://calendar.community.test/?x=1"'}, ["web.public_url", "without '?' or '#'"]),
    ({"web.join_url": '"discord.gg/abc"'}, ["web.join_url", "https://"]),
    ({"web.join_url": REMOVE}, ["web.join_url", "is missing", "config.example.toml"]),
    ({"web.enabled": '"yes"'}, ["web.enabled", "true or false"]),
    ({"web.prot": "8080"}, ["web.prot", "unknown key", "did you mean 'port'?"]),
    ({"web": "1"}, ["web", "section written as [web]"]),
]


@pytest.mark.parametrize(("changes", "expected"), WEB_BROKEN, ids=[next(iter(c)) for c, _ in WEB_BROKEN])
def test_broken_web_setting_is_refused_by_key(tmp_path: Path, changes: dict[str, object], expected: list[str]) -> None:
    base: dict[str, object] = {} if changes.get("web") else dict(WEB)
    messages = problems(tmp_path, render({**base, **changes}))
    assert len(messages) == 1, messages
    for words in expected:
        assert words in messages[0]


def test_web_links_left_as_in_the_example_are_placeholders(tmp_path: Path) -> None:
    example = {
        "web.public_url": '"https://example.org/replace-me/practice"',
        "web.join_url": '"https://example.org/replace-me/invite"',
    }
    assert load_config(write(tmp_path, render(example))).placeholders() == ["web.public_url", "web.join_url"]
    # Switched off, the web links are not in use, so nothing needs replacing yet.
    switched_off = load_config(write(tmp_path, render({**example, "web.enabled": "false"})))
    assert switched_off.placeholders() == []
