"""`python -m bot backup --config FILE --to PATH`: a safe copy of the database, even while the bot runs."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.errors import ConfigError
from bot.storage import Database


def register(subparsers: Any) -> None:
    """Add the `backup` command."""
    parser = subparsers.add_parser(
        "backup",
        help="copy the database safely (works while the bot is running)",
        description="Write a consistent copy of the database with SQLite's online backup.",
    )
    parser.add_argument("--config", default="config.toml", type=Path, help="path to config.toml")
    parser.add_argument("--to", required=True, type=Path, help="where to write the copy")
    parser.add_argument("--force", action="store_true", help="replace the file at --to if it exists")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.to.exists() and not args.force:
        raise ConfigError("--to", f"{args.to} already exists; choose another name or add --force to replace it")
    if args.to.resolve() == Path(config.storage.database).resolve():
        raise ConfigError("--to", "is the database itself; choose a different file for the copy")
    asyncio.run(_backup(Path(config.storage.database), args.to))
    print(f"Backed up {config.storage.database} to {args.to}")
    return 0


async def _backup(database: Path, target: Path) -> None:
    # Not exclusive: the running bot holds the single-instance lock, and a backup beside it is safe.
    async with Database.open(database, exclusive=False, migrate=False) as db:
        await db.backup_to(target)
