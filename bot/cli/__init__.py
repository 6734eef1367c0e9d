"""Command-line interface: `python -m bot <command> ...`.

Each command lives in its own module with a `register(subparsers)` function that adds its parser
and sets `handler` to a function taking the parsed arguments and returning an exit code. Domain
errors are printed here, in one place, as a clear line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from bot.errors import PracticeCirclesError
from bot.redaction import RedactingFormatter

log = logging.getLogger(__name__)

# Modules under bot.cli that add commands, in the order `--help` lists them.
COMMAND_MODULES = ("run", "check", "schedule", "recordings", "invite", "backup", "restore", "demo")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Practice Circles: a Discord bot for free drop-in self-compassion practice sessions.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the chosen command, and turn domain errors into a readable message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every log line, whoever writes it (discord.py, aiohttp, the bot), passes one redacting formatter.
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    try:
        return int(args.handler(args))
    except PracticeCirclesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Logged rather than left to Python's own traceback printer, so the formatter hides tokens here too.
        log.exception("python -m bot %s stopped on an unexpected error", args.command)
        return 1
