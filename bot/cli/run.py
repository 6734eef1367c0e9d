"""`python -m bot run --config FILE`: run the bot against Discord (token from the environment)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.adapters.bot import PracticeCirclesBot, run_until_stopped
from bot.adapters.endpoints import DiscordEndpoints
from bot.config import TOKEN_FILE_VARIABLE, TOKEN_VARIABLE, load_config, load_token
from bot.errors import ConfigError
from bot.media.recordings import load_recordings
from bot.storage import Database

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the `run` command."""
    parser = subparsers.add_parser(
        "run",
        help="run the bot (needs DISCORD_TOKEN or DISCORD_TOKEN_FILE)",
        description="Run Practice Circles. The bot token is read from DISCORD_TOKEN or from the file "
        "named by DISCORD_TOKEN_FILE, never from the config.",
    )
    parser.add_argument("--config", default="config.toml", type=Path, help="path to config.toml")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    asyncio.run(run_bot(args.config))
    return 0


async def run_bot(config_path: Path, environ: Mapping[str, str] | None = None) -> None:
    """Load everything, refuse early with a clear message if anything is unusable, then run until stopped."""
    env = os.environ if environ is None else environ
    config = load_config(config_path)
    token = load_token(env)
    endpoints = DiscordEndpoints.from_environ(env)
    for key in config.placeholders():
        # `check` refuses these; the bot still runs, so a half-filled config can be tried out.
        log.warning("config: %s still holds the example value from config.example.toml", key)
    catalog = load_recordings(config.recordings.file)
    for refused in catalog.refused:
        log.warning("approved recordings: %s (it will not be offered)", refused)
    async with Database.open(config.storage.database) as db:
        bot = PracticeCirclesBot(config, db, catalog, endpoints=endpoints)
        if not await run_until_stopped(bot, token.reveal()):
            variable = TOKEN_FILE_VARIABLE if env.get(TOKEN_FILE_VARIABLE, "").strip() else TOKEN_VARIABLE
            raise ConfigError(
                variable,
                (
                    "Discord refused this token: it was reset, or not copied whole. Copy the current token "
                    "from the Discord Developer Portal (Bot page, Reset Token) and set it again"
                ),
            )
