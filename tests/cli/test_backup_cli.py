"""`python -m bot backup` copies a consistent database while the bot holds it open and keeps writing."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import Database
from loopback import World
from loopback.harness import config_for_world


async def test_backup_while_the_bot_writes(tmp_path: Path) -> None:
    config = config_for_world(World.default(), tmp_path / "practice")
    db = await Database.open(config.storage.database)  # the running bot's exclusive handle
    start = dt.datetime(2030, 1, 7, 18, tzinfo=dt.UTC)
    session = await db.add_one_off(start=start, duration_minutes=30, channel_id=1, title="Sit")
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set():
            await db.sign_up(session.id, 1000 + written)
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.create_task(keep_writing())
    target = tmp_path / "backup.sqlite3"
    code = await asyncio.to_thread(
        main, ["backup", "--config", str(tmp_path / "practice" / "config.toml"), "--to", str(target)]
    )
    stop.set()
    written = await writer
    await db.close()
    assert code == 0 and written > 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM occurrences").fetchone()[0] == 1
        assert 0 <= copy.execute("SELECT count(*) FROM signups").fetchone()[0] <= written
    assert not (tmp_path / "backup.sqlite3.partial").exists()


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_for_world(World.default(), tmp_path / "practice")
    target = tmp_path / "exists.sqlite3"
    target.write_bytes(b"keep me")
    assert main(["backup", "--config", str(tmp_path / "practice" / "config.toml"), "--to", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"


def config_path(tmp_path: Path, **storage: object) -> Path:
    """A harness config.toml in tmp_path/practice, with [storage] overrides."""
    config_for_world(World.default(), tmp_path / "practice", sections={"storage": dict(storage)})
    return tmp_path / "practice" / "config.toml"


async def make_database(path: Path, feedback: int = 1) -> None:
    """A database holding `feedback` pieces of feedback."""
    async with Database.open(path) as db:
        for number in range(feedback):
            await db.add_feedback(1, f"kind words {number}")


def feedback_in(path: Path) -> int:
    """How many pieces of feedback a database file holds."""
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM feedback").fetchone()[0])


async def test_backups_go_into_the_folder_checked_0600_and_rotated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_path(tmp_path, keep_backups=2)
    await make_database(tmp_path / "practice" / "practice-circles.sqlite3", feedback=3)
    folder = tmp_path / "practice" / "data" / "backups"
    (folder).mkdir(parents=True)
    by_hand = folder / "my-own-copy.sqlite3"
    by_hand.write_bytes(b"a copy someone made by hand")
    made = []
    for _ in range(4):
        assert await asyncio.to_thread(main, ["backup", "--config", str(config)]) == 0
        made.append(capsys.readouterr().out)
    kept = sorted(p for p in folder.iterdir() if p.name.startswith("practice-circles-"))
    assert len(kept) == 2, "keep_backups = 2"
    assert ["removed 1 older one(s)" in out for out in made] == [False, False, True, True]
    assert all(f"to {path} " in "".join(made[-2:]) for path in kept), "the two kept are the two newest"
    for path in kept:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert feedback_in(path) == 3
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert by_hand.read_bytes() == b"a copy someone made by hand", "only the bot's own backups are rotated"
    assert "SQLite's integrity check: ok" in made[0]


async def test_a_damaged_copy_is_deleted_and_older_backups_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_path(tmp_path, keep_backups=1)
    database = tmp_path / "practice" / "practice-circles.sqlite3"
    await make_database(database, feedback=200)
    assert await asyncio.to_thread(main, ["backup", "--config", str(config)]) == 0
    folder = tmp_path / "practice" / "data" / "backups"
    [good] = list(folder.iterdir())
    capsys.readouterr()
    # Scribble over the middle of the database (a failing disk would): its pages no longer add up.
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        size = connection.execute("PRAGMA page_size").fetchone()[0]
    with database.open("r+b") as raw:
        raw.seek(size * (pages // 2))
        raw.write(b"\xff" * size * 2)
    assert await asyncio.to_thread(main, ["backup", "--config", str(config)]) != 0
    err = capsys.readouterr().err
    assert "failed SQLite's integrity check" in err and "no older backup was removed" in err
    assert list(folder.iterdir()) == [good], "the bad copy is gone, the last good one stays"


def test_backup_before_the_bot_ever_ran_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_path(tmp_path)
    assert main(["backup", "--config", str(config)]) == 2
    assert "there is no database at" in capsys.readouterr().err
    assert not (tmp_path / "practice" / "data").exists()
