"""Storage: the only package with SQL. SQLite through aiosqlite, numbered migrations, queries.

Rules every caller can rely on:

- `Database.open(path)` creates the folder and file, takes the single-instance lock
  (`exclusive=True`), sets WAL, foreign keys, a busy timeout and synchronous=NORMAL, and applies
  the migrations in `migrations/NNNN_name.sql` against `PRAGMA user_version`. A database from a
  newer version of the bot is refused with StorageError.
- Every write runs inside `BEGIN IMMEDIATE`. Repository methods open their own transaction;
  wrap several in `async with db.transaction():` to make them one (inner ones become savepoints).
  Writes in one process are serialised by an asyncio.Lock, so they never see "database is locked".
- Reads need no transaction; outside one they use a separate read-only connection and see the
  last committed state.
- Instants are aware UTC datetimes in Python and fixed-width ISO 8601 `...Z` text in SQLite
  (see `timestamps`); naive datetimes are refused with TypeError.
- Methods return the frozen dataclasses of `bot.model`, never sqlite rows.
"""

from bot.storage.database import BUSY_TIMEOUT_MS, Database, lock_path_for
from bot.storage.migrator import Migration, load_migrations
from bot.storage.timestamps import from_db_date, from_db_time, to_db_date, to_db_time, utc_now

__all__ = [
    "BUSY_TIMEOUT_MS",
    "Database",
    "Migration",
    "from_db_date",
    "from_db_time",
    "load_migrations",
    "lock_path_for",
    "to_db_date",
    "to_db_time",
    "utc_now",
]
