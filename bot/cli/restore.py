"""`python -m bot restore --config FILE [--from BACKUP]`: put a backup back, with the bot stopped.

Without `--from` it lists the backups in `[storage] backups`, newest first. With it, the backup is
checked (SQLite's integrity check, a schema this bot knows), the database as it was is kept beside
the backups as `before-restore-...`, and the backup takes its place; the old write-ahead files go
with the old database. A running bot holds the database's lock, so a restore under it is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.storage.backups import aside_name, list_backups
from bot.storage.database import restore_database
from bot.texts import setup as texts


def register(subparsers: Any) -> None:
    """Add the `restore` command."""
    parser = subparsers.add_parser(
        "restore",
        help="list the backups, or put one back in place of the database (stop the bot first)",
        description="Without --from: list the backups in [storage] backups. With --from: check that backup "
        "and put it in place of the database, keeping the current database beside the backups.",
    )
    parser.add_argument("--config", default="config.toml", type=Path, help="path to config.toml")
    parser.add_argument("--from", dest="source", type=Path, help="the backup file to put back")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    folder = Path(config.storage.backups)
    if args.source is None:
        backups = list_backups(folder)
        if not backups:
            print(texts.RESTORE_NONE.format(folder=folder))
            return 0
        print(texts.RESTORE_LIST.format(folder=folder, count=len(backups)))
        for backup in backups:
            print(texts.RESTORE_LINE.format(name=backup.path.name, kib=max(1, backup.size // 1024)))
        print(texts.RESTORE_HOW.format(config=args.config, example=backups[0].path))
        return 0
    database = Path(config.storage.database)
    aside = aside_name(folder, dt.datetime.now(dt.UTC))
    report = asyncio.run(restore_database(args.source, database, aside))
    print(texts.RESTORED.format(source=args.source, database=database, schema=report.schema))
    if aside.exists():
        print(texts.RESTORE_ASIDE.format(aside=aside))
    return 0
