"""The Database: opening the SQLite file, the single-instance lock, pragmas and migrations.

Open it with `db = await Database.open(path)` or `async with Database.open(path) as db:`.
The query methods come from the mixins in this package (series, people, records, deliveries, privacy);
every write runs in `async with db.transaction():`, and a caller may wrap several calls in one.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from bot.errors import DatabaseInUseError, SchemaBehindError, StorageError
from bot.storage.deliveries import DeliveryQueries
from bot.storage.feeds import FeedQueries
from bot.storage.links import LinkQueries
from bot.storage.migrator import Migration, load_migrations, split_statements
from bot.storage.people import PeopleQueries
from bot.storage.privacy import PrivacyQueries
from bot.storage.runs import RunQueries
from bot.storage.stats import StatsQueries
from bot.storage.timestamps import utc_now

__all__ = [
    "BUSY_TIMEOUT_MS",
    "PRIVATE_FILE",
    "CopyReport",
    "Database",
    "inspect_copy",
    "lock_path_for",
    "make_private_folder",
    "restore_database",
]

log = logging.getLogger(__name__)

# How long a connection waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 5000
# STRICT tables need 3.37; RETURNING needs 3.35.
_MIN_SQLITE = (3, 37, 0)
# Who attends self-compassion sessions is nobody else's business: only the bot's user may read its
# files. SQLite gives the -wal and -shm files the database file's own mode, so creating the
# database with this mode covers them too.
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# The files that together are one database in write-ahead-log mode.
_COMPANIONS = ("-wal", "-shm")


def lock_path_for(db_path: Path) -> Path:
    """Return the single-instance lock file that sits beside a database file."""
    return db_path.with_name(db_path.name + ".lock")


def companions(db_path: Path) -> list[Path]:
    """The write-ahead log and shared-memory files beside a database file."""
    return [db_path.with_name(db_path.name + suffix) for suffix in _COMPANIONS]


def make_private_folder(folder: Path) -> None:
    """Create folder (and parents) if missing; a folder made here is the bot's user's alone."""
    try:
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create the folder {folder}: {error.strerror}") from error


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (before SQLite opens it)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    except OSError as error:
        raise StorageError(f"cannot create {path}: {error.strerror}") from error


def _make_private(db_path: Path) -> None:
    """Create the database file 0600, or take group and world access away from one made before."""
    if not db_path.exists():
        _create_private(db_path)
        return
    for path in (db_path, *companions(db_path)):
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(PRIVATE_FILE)
                log.info("made %s readable by its owner only", path)
        except FileNotFoundError:
            continue
        except PermissionError:
            # Owned by another user: the bot can still use it, but cannot tighten it.
            log.warning("%s can be read by other users and is not ours to change; chmod 600 it", path)


def _acquire_instance_lock(db_path: Path) -> int:
    """Take the exclusive, non-blocking flock that keeps a second bot off the same database."""
    lock_path = lock_path_for(db_path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError as error:
        raise StorageError(f"cannot create the lock file {lock_path}: {error.strerror}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise DatabaseInUseError(
            f"another Practice Circles instance is already using {db_path} (pid {holder}); "
            "stop it before starting another, or give this one a different database path",
            holder,
        ) from None
    # The pid is only for the message above; the flock itself is what excludes, and the kernel
    # drops it when this process ends, however it ends.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


async def _connect(path: Path, *, query_only: bool) -> aiosqlite.Connection:
    """Open one connection in autocommit mode (we issue BEGIN ourselves) with our pragmas."""
    # isolation_level=None stops the sqlite3 module from opening transactions behind our back.
    connection = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.row_factory = sqlite3.Row
        if not query_only:
            # WAL is a property of the file; the reader inherits it and must not try to set it.
            mode = await _pragma(connection, "journal_mode = WAL")
            if str(mode).lower() != "wal":
                raise StorageError(f"{path}: SQLite refused write-ahead logging (journal_mode is {mode})")
        await connection.execute("PRAGMA foreign_keys = ON")
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the file.
        await connection.execute("PRAGMA synchronous = NORMAL")
        if query_only:
            await connection.execute("PRAGMA query_only = ON")
    except BaseException:
        await connection.close()
        raise
    return connection


def _connect_point_reader(path: Path) -> sqlite3.Connection:
    """The query-only connection for one-row reads on the event loop; it never waits for a lock."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


async def _pragma(connection: aiosqlite.Connection, pragma: str) -> Any:
    """Run a PRAGMA and return its single value."""
    rows = list(await connection.execute_fetchall(f"PRAGMA {pragma}"))
    return rows[0][0] if rows else None


class Database(DeliveryQueries, FeedQueries, LinkQueries, PeopleQueries, PrivacyQueries, StatsQueries, RunQueries):
    """A Practice Circles SQLite database; see the package docstring for the rules."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        clock: Callable[[], datetime],
        lock_fd: int | None,
    ) -> None:
        super().__init__(path, writer, clock)
        self._lock_fd = lock_fd

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        exclusive: bool = True,
        migrate: bool = True,
        clock: Callable[[], datetime] = utc_now,
        migrations: Sequence[Migration] | None = None,
    ) -> _Opening:
        """Open (creating folders and file as needed) and migrate a database; await it or `async with` it.

        exclusive: take the single-instance lock (the bot); tools such as `check` pass False.
        migrate: apply pending migrations; if False an out-of-date schema is refused.
        clock: where "now" comes from (tests pass a fake); migrations: for tests only.
        """
        return _Opening(Path(path), exclusive, migrate, clock, list(migrations) if migrations is not None else None)

    @classmethod
    async def _open(
        cls,
        path: Path,
        exclusive: bool,
        migrate: bool,
        clock: Callable[[], datetime],
        migrations: list[Migration] | None,
    ) -> Database:
        """Do the work of open()."""
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StorageError(
                f"SQLite {sqlite3.sqlite_version} is too old; Practice Circles needs "
                f"{'.'.join(map(str, _MIN_SQLITE))} or newer"
            )
        known = migrations if migrations is not None else load_migrations()
        # Opening is a one-off start-up step, so these few blocking filesystem calls are acceptable.
        path = path.expanduser().absolute()  # noqa: ASYNC240
        make_private_folder(path.parent)
        lock_fd = _acquire_instance_lock(path) if exclusive else None
        db: Database | None = None
        try:
            _make_private(path)
            writer = await _connect(path, query_only=False)
            db = cls(path, writer, clock, lock_fd)
            await db._migrate(known, apply=migrate)
            db._reader = await _connect(path, query_only=True)
            db._point_reader = _connect_point_reader(path)
            return db
        except BaseException as error:
            if db is not None:
                await db.close()
            elif lock_fd is not None:
                os.close(lock_fd)
            if isinstance(error, sqlite3.DatabaseError):
                raise StorageError(f"{path} cannot be used as a Practice Circles database: {error}") from error
            raise

    async def close(self) -> None:
        """Wait for any running transaction, then close the connections and release the lock."""
        if self._closed:
            return
        if self.in_transaction():
            raise RuntimeError("close() called inside a transaction")
        async with self._write_lock:
            self._closed = True
            try:
                if self._point_reader is not None:
                    self._point_reader.close()
                    self._point_reader = None
                if self._reader is not None:
                    await self._reader.close()
                await self._writer.close()
            finally:
                if self._lock_fd is not None:
                    os.close(self._lock_fd)
                    self._lock_fd = None

    async def __aenter__(self) -> Database:
        """Use an open database as a context manager that closes it."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the database."""
        await self.close()

    async def schema_version(self) -> int:
        """Return `PRAGMA user_version`: the number of the last migration applied."""
        return int(await self._fetchvalue("PRAGMA user_version"))

    async def _migrate(self, migrations: list[Migration], *, apply: bool) -> None:
        """Apply pending migrations, each in its own transaction with its version bump."""
        latest = migrations[-1].version if migrations else 0
        current = await self.schema_version()
        if current > latest:
            raise StorageError(
                f"{self.path}: this database was created by a newer Practice Circles (schema {current}); "
                f"upgrade the bot (this version knows schema {latest})"
            )
        if current == latest:
            return
        if not apply:
            raise SchemaBehindError(
                f"{self.path} has schema {current} but this Practice Circles uses schema {latest}; "
                "start the bot once to upgrade it",
                current,
                latest,
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            async with self.transaction():
                # Read again under the write lock: another process may have migrated meanwhile.
                if await self.schema_version() >= migration.version:
                    continue
                for statement in split_statements(migration.sql):
                    await self._write(statement)
                await self._write(f"PRAGMA user_version = {int(migration.version)}")

    async def pragmas(self) -> dict[str, Any]:
        """Return the writer connection's journal_mode, foreign_keys, busy_timeout and synchronous."""
        names = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        return {name: await _pragma(self._writer, name) for name in names}

    async def schema_sql(self) -> list[str]:
        """Return the CREATE statements of every table and index, in name order (for comparisons)."""
        rows = await self._fetchall(
            "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [row["sql"] for row in rows]

    async def backup_to(self, target: Path) -> None:
        """Write a consistent copy of the database to `target` (safe while the bot runs), atomically, 0600."""
        target = Path(target)
        make_private_folder(target.parent)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        _create_private(partial)
        # SQLite's online backup copies a consistent snapshot even while others write; the copy is
        # only renamed into place once complete, so a failed backup never leaves a broken file.
        try:
            async with aiosqlite.connect(partial) as copy:
                await self._writer.backup(copy)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)

    async def integrity_check(self) -> list[str]:
        """Run SQLite's integrity and foreign-key checks; return the problems found ([] means healthy)."""
        problems = [row[0] for row in await self._fetchall("PRAGMA integrity_check")]
        if problems == ["ok"]:
            problems = []
        for row in await self._fetchall("PRAGMA foreign_key_check"):
            problems.append(f"row {row[1]} of table {row[0]} points at a missing row of {row[2]}")
        return problems


class _Opening:
    """What Database.open returns: await it for a Database, or use it with `async with`."""

    def __init__(
        self,
        path: Path,
        exclusive: bool,
        migrate: bool,
        clock: Callable[[], datetime],
        migrations: list[Migration] | None,
    ) -> None:
        self._args = (path, exclusive, migrate, clock, migrations)
        self._db: Database | None = None

    def __await__(self) -> Generator[Any, None, Database]:
        """Open the database."""
        return Database._open(*self._args).__await__()

    async def __aenter__(self) -> Database:
        """Open the database for the block."""
        self._db = await Database._open(*self._args)
        return self._db

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the database."""
        if self._db is not None:
            await self._db.close()


# --- copies: checking a backup, putting one back ---------------------------------------------------


@dataclass(frozen=True)
class CopyReport:
    """What a database file holds: its schema version and what SQLite's checks found wrong."""

    path: Path
    schema: int
    problems: list[str]


async def inspect_copy(path: Path) -> CopyReport:
    """Open a copy (a backup) on its own and run SQLite's integrity and foreign-key checks on it."""
    path = Path(path)
    if not path.is_file():
        raise StorageError(f"there is no file at {path}")
    try:
        async with aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000) as copy:
            await copy.execute("PRAGMA query_only = ON")
            try:
                schema = int(await _pragma(copy, "user_version"))
            except sqlite3.DatabaseError as error:
                raise StorageError(f"{path} is not a database SQLite can read: {error}") from error
            problems = await _checks(copy)
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{path} is not a database SQLite can read: {error}") from error
    return CopyReport(path, schema, problems)


async def _checks(connection: aiosqlite.Connection) -> list[str]:
    """SQLite's integrity and foreign-key checks; a page too damaged to read is one more problem."""
    try:
        problems = [row[0] for row in await connection.execute_fetchall("PRAGMA integrity_check")]
        if problems == ["ok"]:
            problems = []
        for row in await connection.execute_fetchall("PRAGMA foreign_key_check"):
            problems.append(f"row {row[1]} of table {row[0]} points at a missing row of {row[2]}")
    except sqlite3.DatabaseError as error:
        return [f"SQLite stopped reading it: {error}"]
    return problems


async def restore_database(backup: Path, database: Path, aside: Path) -> CopyReport:
    """Put a checked backup in place of the database, keeping the database as it was at `aside`.

    Refused while a bot uses the database (its single-instance lock is held), and for a backup that
    fails SQLite's checks or comes from a newer bot. The old write-ahead files are removed with the
    old database, so they can never be replayed into the restored one.
    """
    # A one-off command with the bot stopped: nothing else waits on this event loop.
    database = Path(database).expanduser().absolute()  # noqa: ASYNC240
    # The backup is checked before anything else is touched, so a refusal changes nothing.
    report = await inspect_copy(backup)
    latest = load_migrations()[-1].version
    if report.problems:
        shown = "; ".join(report.problems[:3])
        raise StorageError(f"{backup} fails SQLite's integrity check ({shown}); choose another backup")
    if report.schema < 1:
        raise StorageError(f"{backup} is not a Practice Circles database (it has no schema)")
    if report.schema > latest:
        raise StorageError(
            f"{backup} was made by a newer Practice Circles (schema {report.schema}, this one knows {latest}); "
            "upgrade the bot first"
        )
    make_private_folder(database.parent)
    try:
        lock_fd = _acquire_instance_lock(database)
    except StorageError as error:
        raise StorageError(f"{error}. Stop the bot before restoring (sudo systemctl stop practice-circles)") from None
    try:
        # Plain file work while the lock keeps any bot out; off the event loop.
        await asyncio.to_thread(_put_in_place, Path(backup), database, Path(aside))
    finally:
        os.close(lock_fd)
    return report


def _put_in_place(backup: Path, database: Path, aside: Path) -> None:
    """Set the database aside, then replace it with a durable 0600 copy of the backup."""
    _set_aside(database, aside)
    restoring = database.with_name(database.name + ".restoring")
    restoring.unlink(missing_ok=True)
    _create_private(restoring)
    with backup.open("rb") as source, restoring.open("r+b") as target:
        shutil.copyfileobj(source, target)
        target.flush()
        os.fsync(target.fileno())
    for stale in companions(database):
        stale.unlink(missing_ok=True)
    os.replace(restoring, database)
    _sync_folder(database.parent)


def _set_aside(database: Path, aside: Path) -> None:
    """Copy the database and its write-ahead files, byte for byte, to `aside` (the bot is stopped)."""
    if not database.exists():
        return
    make_private_folder(aside.parent)
    for source, target in zip((database, *companions(database)), (aside, *companions(aside)), strict=True):
        if source.exists():
            _create_private(target)
            shutil.copyfile(source, target)


def _sync_folder(folder: Path) -> None:
    """Make a rename in folder durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
