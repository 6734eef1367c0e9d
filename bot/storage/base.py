"""Connections, transactions and the low-level query helpers every query module builds on.

Two SQLite connections per Database:

- the *writer* runs every write, always inside `BEGIN IMMEDIATE`, one transaction at a time
  (an asyncio.Lock serialises writers within the process; `busy_timeout` makes other processes
  wait instead of failing);
- the *reader* (`PRAGMA query_only`) answers reads from tasks that do not hold the transaction.
  With WAL it sees the last committed state and never another task's half-done transaction,
  which a single shared connection would show it.

Reads of one row by its key (`_fetchone`), or of a handful from an index (`_fetchfew`), outside a
transaction go to a third, plain sqlite3
connection, also query-only, on the event loop itself: such a read takes microseconds, while the
hop to aiosqlite's thread and back costs a tenth of a millisecond or more (and, when the loop is
busy, waits for the thread to get the interpreter back); an interaction makes several. If SQLite
would have to wait for a lock, the read goes the usual way instead of waiting on the loop.

A task that holds the transaction reads through the writer, so it sees its own writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StorageError

__all__ = ["Params", "StorageBase"]

Params = Sequence[Any]


class StorageBase:
    """Owns the connections and the transaction discipline; query mixins build on it."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._writer = writer
        self._reader: aiosqlite.Connection | None = None
        self._point_reader: sqlite3.Connection | None = None
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._savepoint_depth = 0
        self._closed = False
        self._commits = 0

    def now(self) -> datetime:
        """Return the current time from the database's clock (aware, injectable in tests)."""
        moment = self._clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise TypeError("the database clock returned a naive datetime")
        return moment

    @property
    def commits(self) -> int:
        """How many write transactions this Database has committed: what was read before it moved may be stale."""
        return self._commits

    def in_transaction(self) -> bool:
        """Tell whether the calling task holds this database's write transaction."""
        return self._owner is not None and self._owner is asyncio.current_task()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block in one BEGIN IMMEDIATE transaction: commit on success, roll back on error.

        Nested use by the task that holds the transaction becomes a SAVEPOINT, so repository
        methods (which each open a transaction) compose inside a caller's larger one, and an
        inner failure the caller catches undoes only the inner part. Tasks started inside a
        transaction do not share it: their writes wait until it ends, so do not await them there.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a transaction needs a running asyncio task")
        if self._owner is task:
            async with self._savepoint():
                yield
            return
        async with self._write_lock:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._owner = task
            try:
                if self._writer.in_transaction:
                    # An earlier transaction was interrupted before its ROLLBACK ran; start clean.
                    await self._writer.execute("ROLLBACK")
                await self._begin()
                try:
                    yield
                    await self._writer.execute("COMMIT")
                    self._commits += 1
                except BaseException:
                    # Shielded so a second cancellation cannot leave the transaction open.
                    await asyncio.shield(self._rollback())
                    raise
            finally:
                self._owner = None
                self._savepoint_depth = 0

    async def _begin(self) -> None:
        """Start the write transaction, turning a lock timeout into a readable error."""
        try:
            await self._writer.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StorageError(
                    f"{self.path} stayed locked by another process for longer than the busy timeout; "
                    "is a tool holding it open?"
                ) from error
            raise

    async def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already done so."""
        if self._writer.in_transaction:
            await self._writer.execute("ROLLBACK")

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        """Run a nested block as a savepoint of the current transaction."""
        self._savepoint_depth += 1
        name = f"nested_{self._savepoint_depth}"
        await self._writer.execute(f"SAVEPOINT {name}")
        try:
            yield
            await self._writer.execute(f"RELEASE {name}")
        except BaseException:
            await asyncio.shield(self._undo_savepoint(name))
            raise
        finally:
            self._savepoint_depth -= 1

    async def _undo_savepoint(self, name: str) -> None:
        """Undo and forget a savepoint, leaving the outer transaction going."""
        if self._writer.in_transaction:
            await self._writer.execute(f"ROLLBACK TO {name}")
            await self._writer.execute(f"RELEASE {name}")

    def _require_transaction(self) -> None:
        """Refuse a write from a task that does not hold the transaction (a programming error)."""
        if not self.in_transaction():
            raise RuntimeError("storage writes must run inside `async with db.transaction()`")

    def _read_connection(self) -> aiosqlite.Connection:
        """Pick the connection a read should use: the writer for the transaction holder."""
        if self._reader is None or self.in_transaction():
            return self._writer
        return self._reader

    async def _fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a query and return all rows."""
        return list(await self._read_connection().execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run a query for one row by its key and return it, if any (see the module docstring)."""
        rows = await self._fetchfew(sql, params)
        return rows[0] if rows else None

    async def _fetchfew(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a query answered from an index with a handful of rows; on the event loop outside a transaction."""
        if self._point_reader is not None and not self.in_transaction():
            try:
                return self._point_reader.execute(sql, params).fetchall()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
        return await self._fetchall(sql, params)

    async def _fetchvalue(self, sql: str, params: Params = ()) -> Any:
        """Run a query and return the first column of its first row (None if no row)."""
        rows = await self._fetchall(sql, params)
        return rows[0][0] if rows else None

    async def _write(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in the held transaction and return how many rows it changed."""
        self._require_transaction()
        async with self._writer.execute(sql, params) as cursor:
            return cursor.rowcount

    async def _write_returning(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one write statement with a RETURNING clause and return the rows it gave back."""
        self._require_transaction()
        return list(await self._writer.execute_fetchall(sql, params))

    async def _insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT in the held transaction and return the new rowid."""
        self._require_transaction()
        async with self._writer.execute(sql, params) as cursor:
            if cursor.lastrowid is None:
                raise RuntimeError("INSERT did not produce a rowid")
            return cursor.lastrowid


def placeholders(count: int) -> str:
    """Return `?, ?, ...` for an IN list of `count` values (values are always bound, never inlined)."""
    if count < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * count)
