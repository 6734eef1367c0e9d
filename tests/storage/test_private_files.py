"""The database, its write-ahead files, the lock and every copy are readable by the bot's user only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.storage import Database, lock_path_for
from bot.storage.database import companions


def mode(path: Path) -> int:
    """The permission bits of a file, like `ls -l` shows them."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def everyday_umask() -> object:
    """The usual umask (files 0644 unless the bot says otherwise), whatever the test runner uses."""
    before = os.umask(0o022)
    yield
    os.umask(before)


async def test_new_database_wal_shm_and_lock_are_0600(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        await db.add_feedback(1, "kind words")  # a write, so the write-ahead log holds something
        wal, shm = companions(db_path)
        for path in (db_path, wal, shm, lock_path_for(db_path)):
            assert mode(path) == 0o600, path.name
        assert mode(db_path.parent) == 0o700, "a folder the bot makes is its user's alone"


async def test_a_database_made_world_readable_before_is_tightened_at_open(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        await db.add_feedback(1, "kind words")
    for path in (db_path, *companions(db_path)):
        if path.exists():
            path.chmod(0o644)
    async with Database.open(db_path) as db:
        assert await db.count_feedback() == 1
        for path in (db_path, *companions(db_path)):
            assert mode(path) == 0o600, path.name


async def test_backup_copy_is_0600_and_leaves_no_partial(db: Database, tmp_path: Path) -> None:
    target = tmp_path / "copies" / "one.sqlite3"
    await db.backup_to(target)
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    assert not target.with_name("one.sqlite3.partial").exists()
