"""Finding the numbered migration files and cutting them into statements.

Migrations are package data (`bot/storage/migrations/NNNN_name.sql`), read with
importlib.resources so they work from a wheel as well as a checkout. Numbers start at 1 and have
no gaps; migration N leaves the database at `PRAGMA user_version = N`. Applying them is the
Database's job (one transaction per migration, together with the version bump).

Migrations run with foreign keys ON and inside a transaction, where `PRAGMA foreign_keys` cannot
be changed; a future migration that rebuilds a table should use `PRAGMA defer_foreign_keys = ON`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from bot.errors import StorageError

__all__ = ["Migration", "load_migrations", "split_statements"]

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def load_migrations(folder: Traversable | None = None) -> list[Migration]:
    """Read the migration files in version order, refusing gaps, duplicates and odd names."""
    if folder is None:
        folder = resources.files("bot.storage").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise StorageError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise StorageError(f"two migration files share number {version:04d}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    versions = sorted(found)
    if versions != list(range(1, len(versions) + 1)):
        raise StorageError(f"migration numbers must run 1, 2, 3... without gaps; found {versions}")
    return [found[version] for version in versions]


def split_statements(script: str) -> list[str]:
    """Cut a SQL script into complete statements, keeping `;` inside strings, comments and triggers."""
    # sqlite3.executescript would COMMIT any open transaction first, so a migration is run one
    # statement at a time inside our own BEGIN IMMEDIATE; sqlite3.complete_statement knows where
    # a statement really ends.
    statements: list[str] = []
    pieces = script.split(";")
    pending = ""
    # Every piece but the last was followed by a semicolon; the last is what trails the final one.
    for piece in pieces[:-1]:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if _has_code(statement):
                statements.append(statement)
            pending = ""
    remainder = pending + pieces[-1]
    if _has_code(remainder):
        raise StorageError(f"migration ends with an incomplete statement: {remainder.strip()[:80]!r}")
    return statements


def _has_code(text: str) -> bool:
    """Tell whether text holds anything besides whitespace, comments and semicolons."""
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)
    return bool(without_comments.replace(";", "").strip())
