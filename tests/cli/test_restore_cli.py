"""`python -m bot restore`: lists the backups, puts a checked one back, and never under a running bot."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import Database, Migration, load_migrations
from bot.storage.database import companions
from tests.cli.test_backup_cli import config_path, feedback_in, make_database


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The bot's folder: a config.toml naming practice-circles.sqlite3 and data/backups."""
    config_path(tmp_path)
    return tmp_path / "practice"


def database(home: Path) -> Path:
    return home / "practice-circles.sqlite3"


async def backup(home: Path) -> Path:
    """One backup through the real command; returns its path."""
    assert await asyncio.to_thread(main, ["backup", "--config", str(home / "config.toml")]) == 0
    return max((home / "data" / "backups").glob("practice-circles-*.sqlite3"))


async def test_restore_puts_the_backup_back_and_keeps_the_database_aside(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await make_database(database(home), feedback=2)
    saved = await backup(home)
    async with Database.open(database(home)) as db:
        await db.add_feedback(1, "written after the backup")
    # A bot killed mid-write leaves its write-ahead log behind; the restore must not replay it.
    db = await Database.open(database(home))
    await db.add_feedback(1, "only in the write-ahead log")
    wal = companions(database(home))[0]
    left_behind = wal.read_bytes()
    await db.close()
    wal.write_bytes(left_behind)
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["restore", "--config", str(home / "config.toml")]) == 0
    listing = capsys.readouterr().out
    assert saved.name in listing and "--from" in listing

    code = await asyncio.to_thread(main, ["restore", "--config", str(home / "config.toml"), "--from", str(saved)])
    out = capsys.readouterr().out
    assert code == 0 and "Restored" in out and "integrity check: ok" in out
    assert not any(path.exists() for path in companions(database(home))), "the old write-ahead files are gone"
    assert stat.S_IMODE(database(home).stat().st_mode) == 0o600
    assert feedback_in(database(home)) == 2
    [aside] = (home / "data" / "backups").glob("before-restore-*.sqlite3")
    assert str(aside) in out and stat.S_IMODE(aside.stat().st_mode) == 0o600
    async with Database.open(database(home)) as db:
        assert await db.count_feedback() == 2
    with sqlite3.connect(aside) as kept:
        assert kept.execute("SELECT count(*) FROM feedback").fetchone()[0] >= 3, "nothing is lost"


async def test_restore_is_refused_while_the_bot_runs(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await make_database(database(home))
    saved = await backup(home)
    before = database(home).read_bytes()
    async with Database.open(database(home)):  # the running bot's exclusive handle
        code = await asyncio.to_thread(main, ["restore", "--config", str(home / "config.toml"), "--from", str(saved)])
    err = capsys.readouterr().err
    assert code == 2 and "already using" in err and "Stop the bot before restoring" in err
    assert database(home).read_bytes() == before
    assert not list((home / "data" / "backups").glob("before-restore-*"))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        pytest.param("garbage", ["is not a database SQLite can read"], id="not-sqlite"),
        pytest.param("empty-schema", ["is not a Practice Circles database"], id="no-schema"),
        pytest.param("newer", ["made by a newer Practice Circles", "upgrade the bot first"], id="newer-schema"),
        pytest.param("missing", ["there is no file at"], id="no-such-file"),
    ],
)
async def test_unusable_backups_are_refused_and_nothing_changes(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, words: list[str]
) -> None:
    await make_database(database(home))
    before = database(home).read_bytes()
    source = tmp_path / "offered.sqlite3"
    if damage == "garbage":
        source.write_bytes(b"not a database, just words" * 200)
    elif damage == "empty-schema":
        sqlite3.connect(source).close()
        with sqlite3.connect(source) as connection:
            connection.execute("CREATE TABLE t (x)")
    elif damage == "newer":
        future = [*load_migrations(), Migration(len(load_migrations()) + 1, "future", "CREATE TABLE f (x);")]
        async with Database.open(source, migrations=future):
            pass
    code = await asyncio.to_thread(main, ["restore", "--config", str(home / "config.toml"), "--from", str(source)])
    err = capsys.readouterr().err
    assert code == 2
    assert all(word in err for word in words), err
    assert "Traceback" not in err
    assert database(home).read_bytes() == before
    assert not list((home / "data" / "backups").glob("before-restore-*"))
