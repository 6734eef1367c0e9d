"""`python -m bot check` reports each part and exits 0 only when everything is usable."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.check import run_checks
from bot.config import load_config
from bot.core import utc_now
from bot.services.calendars import CalendarFeeds
from bot.storage import Database, lock_path_for
from bot.storage.migrator import load_migrations
from bot.web import WebServer
from tests.web.support import free_port

REPO = Path(__file__).resolve().parents[2]


# The example's ids and links, each replaced as a coordinator would (any other real-looking value will do).
FILLED_IN = {
    **{str(digit) * 18: str(1_234_567_890_123_456_70 + digit) for digit in range(1, 8)},
    "https://example.org/replace-me/": "https://circles.practice.test/",
    "coordinators@example.org": "coordinators@practice.test",
}
EXAMPLE_KEYS = [
    "guild.id",
    "channels.announcements",
    "channels.teachers",
    "channels.coordinators",
    "channels.sessions",
    "roles.coordinator",
    "roles.teacher",
    "links.community",
    "links.coordinators",
    "links.donate",
    "links.share",
]


def shipped_recordings(folder: Path) -> None:
    """Copy the shipped recordings list and its bell into folder."""
    shutil.copy(REPO / "recordings.yaml", folder / "recordings.yaml")
    (folder / "audio").mkdir()
    shutil.copy(REPO / "audio" / "bell.ogg", folder / "audio" / "bell.ogg")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A config.toml (the example, filled in) beside a copy of the shipped recordings list and bell."""
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    for example, own in FILLED_IN.items():
        text = text.replace(example, own)
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    shipped_recordings(tmp_path)
    return tmp_path


def test_the_example_config_is_refused_naming_each_placeholder(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.example.toml", tmp_path / "config.example.toml")
    shipped_recordings(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", "config.example.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Everything is usable." not in result.stdout
    assert "[BAD] config" in result.stdout and "11 value(s) still hold the examples" in result.stdout
    named = [line.split("]", 1)[1].split()[0].rstrip(":") for line in result.stdout.splitlines() if "example " in line]
    assert named == EXAMPLE_KEYS
    assert "111111111111111111" in result.stdout and "Copy Server ID" in result.stdout
    assert "Copy Role ID" in result.stdout and "'https://example.org/replace-me/donate'" in result.stdout


def test_one_placeholder_left_is_named_alone(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text().replace("123456789012345677", "777777777777777777"))
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "1 value(s) still hold the examples" in out
    assert "roles.teacher: still the example id 777777777777777777" in out
    assert "roles.coordinator" not in out


def test_usable_setup_exits_zero_and_migrates_the_database(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN_FILE", raising=False)
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    out = capsys.readouterr().out
    assert "Everything is usable." in out
    assert "2 approved" in out and "spoken welcome reading prepared" in out, "check prepares the reading"
    assert "welcome-reading" in (workspace / "recordings.yaml").read_text()
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    assert "prepared" not in capsys.readouterr().out, "once"
    database = workspace / "data" / "practice-circles.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_broken_config_is_reported_with_its_key(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text().replace("grace_minutes = 5", "grace_minutes = 90"))
    assert main(["check", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "sessions.grace_minutes: must be between 0 and 30 minutes, got 90" in out
    assert "not checked: the config must load first" in out
    assert not (workspace / "data").exists(), "nothing is created when the config is unusable"


def test_tampered_recording_makes_check_fail(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (workspace / "audio" / "bell.ogg").open("ab") as bell:
        bell.write(b"\0")
    assert main(["check", "--config", str(workspace / "config.toml")]) == 1
    out = capsys.readouterr().out
    assert "refused" in out and "bell" in out
    assert "Please fix the items marked BAD" in out


def test_token_is_never_printed(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret-token-value"
    monkeypatch.setenv("DISCORD_TOKEN", secret)
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    captured = capsys.readouterr()
    assert "present (not shown)" in captured.out
    assert secret not in captured.out + captured.err


def test_missing_config_as_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(tmp_path / "nope.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "config.example.toml" in result.stdout


# --- [web] ----------------------------------------------------------------------------------------


def enable_web(workspace: Path, port: int) -> Path:
    """Switch the example's [web] section on, on a given port, with links of our own."""
    config = workspace / "config.toml"
    text = config.read_text()
    text = text.replace("enabled = false", "enabled = true").replace("port = 8080", f"port = {port}")
    text = text.replace("https://example.org/replace-me/practice", "https://calendar.community.test")
    text = text.replace("https://example.org/replace-me/discord-invite", "https://discord.gg/community")
    config.write_text(text)
    return config


def web_line(out: str) -> str:
    return next(line for line in out.splitlines() if "] web " in line)


def test_the_web_server_switched_off_is_reported_as_off(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    assert "[ok ] web         off (web.enabled = false)" in capsys.readouterr().out


def test_a_free_web_port_is_usable(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    assert main(["check", "--config", str(enable_web(workspace, port))]) == 0
    line = web_line(capsys.readouterr().out)
    assert "[ok ]" in line and f"http://127.0.0.1:{port}" in line and "the port is free" in line


def test_a_web_port_held_by_another_program_is_bad_and_named(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        assert main(["check", "--config", str(enable_web(workspace, port))]) == 1
    line = web_line(capsys.readouterr().out)
    assert "[BAD]" in line and f"web.port: port {port} on 127.0.0.1 is already in use" in line


async def test_a_web_port_held_by_the_running_bot_is_fine(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(enable_web(workspace, free_port()))
    async with Database.open(config.storage.database, exclusive=False) as db:
        feeds = CalendarFeeds(db, config, horizon=dt.timedelta(days=7), clock=utc_now)
        server = WebServer(config, feeds, lambda _: None)
        await server.start()
        try:
            findings = await run_checks(workspace / "config.toml", environ={})
        finally:
            await server.stop()
    [web] = [finding for finding in findings if finding.subject == "web"]
    assert web.usable and "a running Practice Circles answers there now" in web.detail


def _database_one_migration_behind(workspace: Path) -> Path:
    """The config's database as the previous version of the bot left it: every migration but the last."""
    database = workspace / "data" / "practice-circles.sqlite3"

    async def create() -> None:
        async with Database.open(database, migrations=load_migrations()[:-1]):
            pass

    asyncio.run(create())
    return database


@contextlib.contextmanager
def running_bot_lock(database: Path, pid: int = 4242) -> Iterator[None]:
    """Hold the database's single-instance lock as a running bot does (an flock, with its pid in the file)."""
    with lock_path_for(database).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(f"{pid}\n")
        lock.flush()
        yield


def _schema(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def test_check_never_migrates_a_database_a_running_bot_holds(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = _database_one_migration_behind(workspace)
    latest = load_migrations()[-1].version
    with running_bot_lock(database):
        assert main(["check", "--config", str(workspace / "config.toml")]) == 1
        assert _schema(database) == latest - 1, "the running bot's database is left as it is"
    out = capsys.readouterr().out
    assert "in use by a running Practice Circles (pid 4242)" in out
    assert f"has schema {latest - 1}; this version needs schema {latest}" in out
    assert "stop the bot, run check again (it applies the migrations), then start the bot" in out

    # Once the bot has stopped, check migrates as the upgrade steps say.
    assert main(["check", "--config", str(workspace / "config.toml")]) == 0
    assert _schema(database) == latest


def test_check_beside_a_running_bot_on_a_current_database_reports_it_usable(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = workspace / "config.toml"
    assert main(["check", "--config", str(config)]) == 0
    database = workspace / "data" / "practice-circles.sqlite3"
    capsys.readouterr()
    with running_bot_lock(database):
        assert main(["check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "integrity ok (in use by a running Practice Circles, pid 4242)" in out
