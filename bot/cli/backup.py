"""`python -m bot backup --config FILE`: a checked copy of the database, even while the bot runs.

Without `--to`, the copy goes into `[storage] backups` under a name that says when it was taken,
and the oldest there are removed so that `[storage] keep_backups` remain. Every copy is checked
with SQLite's integrity check before it counts; a copy that fails is deleted and nothing older is
removed. Copies are readable by the bot's user only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from bot.config import Config, load_config
from bot.errors import ConfigError, StorageError
from bot.storage import Database
from bot.storage.backups import backup_name, rotate
from bot.storage.database import inspect_copy
from bot.texts import setup as texts


def register(subparsers: Any) -> None:
    """Add the `backup` command."""
    parser = subparsers.add_parser(
        "backup",
        help="copy the database safely into the backups folder (works while the bot is running)",
        description="Write a consistent copy of the database with SQLite's online backup, check it with "
        "SQLite's integrity check, and keep the newest [storage] keep_backups copies in [storage] backups.",
    )
    parser.add_argument("--config", default="config.toml", type=Path, help="path to config.toml")
    parser.add_argument(
        "--to", type=Path, help="write one copy to this file instead (it is checked, but never rotated away)"
    )
    parser.add_argument("--force", action="store_true", help="with --to: replace the file if it exists")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    database = Path(config.storage.database)
    if args.to is not None:
        if args.to.exists() and not args.force:
            raise ConfigError("--to", f"{args.to} already exists; choose another name or add --force to replace it")
        if args.to.resolve() == database.resolve():
            raise ConfigError("--to", "is the database itself; choose a different file for the copy")
        target = args.to
    else:
        if args.force:
            raise ConfigError("--force", "only goes with --to; backups into the folder never replace one another")
        target = backup_name(Path(config.storage.backups), dt.datetime.now(dt.UTC))
    if not database.exists():
        raise StorageError(texts.BACKUP_NO_DATABASE.format(database=database))
    problems = asyncio.run(_backup(database, target))
    if problems:
        target.unlink(missing_ok=True)
        raise StorageError(texts.BACKUP_DAMAGED.format(target=target, problems="; ".join(problems[:3])))
    print(texts.BACKUP_DONE.format(database=database, target=target))
    if args.to is None:
        _rotate(config)
    return 0


async def _backup(database: Path, target: Path) -> list[str]:
    """Copy, then check the copy on its own; what SQLite's checks found wrong with it ([] when none)."""
    # Not exclusive: the running bot holds the single-instance lock, and a backup beside it is safe.
    async with Database.open(database, exclusive=False, migrate=False) as db:
        await db.backup_to(target)
    try:
        return (await inspect_copy(target)).problems
    except StorageError as error:
        return [error.message]


def _rotate(config: Config) -> None:
    folder, keep = Path(config.storage.backups), config.storage.keep_backups
    removed = rotate(folder, keep)
    print(texts.BACKUP_ROTATED.format(keep=keep, folder=folder, removed=len(removed)))
    for path in removed:
        print(texts.BACKUP_REMOVED.format(name=path.name))
