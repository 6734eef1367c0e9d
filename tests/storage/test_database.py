"""Opening, pragmas, migrations, the single-instance lock and transaction semantics."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.storage import Database, Migration, load_migrations, lock_path_for
from bot.storage.migrator import split_statements

from .conftest import FakeClock

LATEST = len(load_migrations())


def _extra_migration(sql: str, version: int = LATEST + 1) -> list[Migration]:
    """Return the real migrations plus one more (a stand-in for a future release)."""
    return [*load_migrations(), Migration(version, "future", sql)]


# --- opening and pragmas --------------------------------------------------------------------------


async def test_open_creates_folders_and_migrates(db_path: Path) -> None:
    assert not db_path.parent.exists()
    async with Database.open(db_path) as db:
        assert db_path.exists()  # noqa: ASYNC240 (a one-off stat in a test)
        assert await db.schema_version() == LATEST
        assert await db.integrity_check() == []


async def test_pragmas_are_set(db: Database) -> None:
    assert await db.pragmas() == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,  # NORMAL
    }


async def test_foreign_keys_are_enforced(db: Database) -> None:
    # add_feedback does no existence check of its own, so this reaches SQLite's foreign key.
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        await db.add_feedback(1, "thank you", occurrence_id=12345)
    assert await db.count_feedback() == 0


async def test_reopening_is_a_no_op_with_the_same_schema(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        schema = await db.schema_sql()
        await db.add_feedback(1, "kept")
    async with Database.open(db_path) as db:
        assert await db.schema_sql() == schema
        assert await db.schema_version() == LATEST
        assert await db.count_feedback() == 1


@pytest.fixture
def garbage_file(db_path: Path) -> Path:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not SQLite at all" * 100)
    return db_path


async def test_not_a_database_is_refused_clearly(garbage_file: Path) -> None:
    with pytest.raises(StorageError, match="cannot be used as a Practice Circles database"):
        await Database.open(garbage_file)
    # The failed open let go of the single-instance lock.
    fd = os.open(lock_path_for(garbage_file), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


# --- migrations -----------------------------------------------------------------------------------


async def test_later_migration_applies_once(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        assert await db.schema_version() == LATEST
    extended = _extra_migration("CREATE TABLE future_things (id INTEGER PRIMARY KEY);")
    async with Database.open(db_path, migrations=extended) as db:
        assert await db.schema_version() == LATEST + 1
        schema = await db.schema_sql()
        assert any("future_things" in sql for sql in schema)
    async with Database.open(db_path, migrations=extended) as db:
        assert await db.schema_sql() == schema


async def test_newer_schema_is_refused(db_path: Path) -> None:
    async with Database.open(db_path, migrations=_extra_migration("CREATE TABLE t (x INTEGER);")):
        pass
    with pytest.raises(StorageError) as caught:
        await Database.open(db_path)
    expected = f"this database was created by a newer Practice Circles (schema {LATEST + 1}); upgrade the bot"
    assert expected in str(caught.value)


async def test_failed_migration_leaves_no_trace(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    broken = _extra_migration("CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1);")
    with pytest.raises(StorageError, match="no such table"):
        await Database.open(db_path, migrations=broken)
    async with Database.open(db_path) as db:
        assert await db.schema_version() == LATEST
        assert not any("half_done" in sql for sql in await db.schema_sql())


async def test_outdated_schema_is_refused_without_migrate(db_path: Path) -> None:
    async with Database.open(db_path):
        pass
    extended = _extra_migration("CREATE TABLE t (x INTEGER);")
    with pytest.raises(StorageError, match="start the bot once to upgrade it"):
        await Database.open(db_path, migrate=False, migrations=extended)


def test_migration_files_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE a (x);")
    (tmp_path / "0003_third.sql").write_text("CREATE TABLE c (x);")
    with pytest.raises(StorageError, match="without gaps"):
        load_migrations(tmp_path)
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE b (x);")
    assert [m.version for m in load_migrations(tmp_path)] == [1, 2, 3]
    (tmp_path / "4_bad name.sql").write_text("")
    with pytest.raises(StorageError, match="NNNN_name.sql"):
        load_migrations(tmp_path)


def test_packaged_migrations_start_at_one() -> None:
    migrations = load_migrations()
    assert migrations[0].version == 1
    assert migrations[0].name == "initial"


def test_split_statements_respects_strings_comments_and_triggers() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE a (x TEXT DEFAULT 'one;two');
        /* block; comment */
        CREATE TRIGGER t AFTER INSERT ON a BEGIN
            UPDATE a SET x = 'y;z';
            DELETE FROM a WHERE x = ';';
        END;
        -- trailing comment
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[0].endswith("DEFAULT 'one;two');")
    assert "CREATE TRIGGER" in statements[1] and statements[1].endswith("END;")


def test_split_statements_refuses_an_unfinished_statement() -> None:
    with pytest.raises(StorageError, match="incomplete"):
        split_statements("CREATE TABLE a (x); CREATE TABLE b (")


# --- the single-instance lock --------------------------------------------------------------------


async def test_second_exclusive_open_is_refused(db: Database, db_path: Path) -> None:
    with pytest.raises(StorageError) as caught:
        await Database.open(db_path)
    expected = f"another Practice Circles instance is already using {db_path} (pid {os.getpid()})"
    assert str(caught.value).startswith(expected)


async def test_non_exclusive_open_works_beside_the_bot(db: Database, db_path: Path) -> None:
    await db.add_feedback(7, "hello")
    async with Database.open(db_path, exclusive=False) as tool:
        assert await tool.count_feedback() == 1
        assert await tool.integrity_check() == []


async def test_lock_is_released_on_close(db_path: Path) -> None:
    first = await Database.open(db_path)
    await first.close()
    second = await Database.open(db_path)
    await second.close()


# --- transactions ---------------------------------------------------------------------------------


async def test_error_rolls_the_whole_transaction_back(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction():
            await db.add_feedback(1, "one")
            await db.add_feedback(2, "two")
            raise RuntimeError("boom")
    assert await db.count_feedback() == 0


async def test_nested_calls_compose_into_one_transaction(db: Database) -> None:
    async with db.transaction():
        await db.add_feedback(1, "outer")
        async with db.transaction():
            await db.add_feedback(2, "inner")
    assert await db.count_feedback() == 2


async def test_caught_inner_failure_undoes_only_the_inner_part(db: Database) -> None:
    async with db.transaction():
        await db.add_feedback(1, "kept")
        with pytest.raises(ValueError, match="inner"):
            async with db.transaction():
                await db.add_feedback(2, "undone")
                raise ValueError("inner")
        await db.add_feedback(3, "also kept")
    assert sorted(f.text for f in await db.list_feedback()) == ["also kept", "kept"]


async def test_other_tasks_do_not_see_an_open_transaction(db: Database) -> None:
    written = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await db.add_feedback(1, "not yet committed")
            written.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await written.wait()
    assert await db.count_feedback() == 0  # the reader connection sees only committed data
    release.set()
    await task
    assert await db.count_feedback() == 1


async def test_cancelled_transaction_rolls_back_and_the_next_one_works(db: Database) -> None:
    written = asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await db.add_feedback(1, "cancelled")
            written.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(writer())
    await written.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.add_feedback(2, "after")
    assert [f.text for f in await db.list_feedback()] == ["after"]


async def test_clock_is_used_for_timestamps(db: Database, clock: FakeClock) -> None:
    row = await db.add_feedback(1, "timed")
    assert row.created_at == clock.now
