"""`python -m bot demo [--output DIR] [--speed N]`: the self-contained demo on the loopback Discord (no token)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

# The demo needs the loopback Discord, which the product does not: it is loaded only when asked for.
DEFAULT_SPEED = 60.0
# Above this the one-minute choice window would be under half a second of real time.
MAX_SPEED = 120.0
INSTALL_HINT = (
    "The demo needs the loopback Discord's extra packages: run `bash scripts/run`, or pip install -e '.[loopback]'."
)


def register(subparsers: Any) -> None:
    """Add the `demo` command."""
    parser = subparsers.add_parser(
        "demo",
        help="watch the bot run sessions on a loopback Discord (no token, about a minute and a half)",
        description="Start a loopback Discord and the real bot against it, on a temporary database, and "
        "run a compressed day: sign-ups and reminders, a teacher-led session, a session without a teacher "
        "(welcome words, a chosen recording) and a cancellation. Prints a timeline, writes transcript.md "
        "and the audio the Stage heard, and exits non-zero if any step did not happen as expected.",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="folder for transcript.md and the WAV files (default: a new temp one)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"how many times faster than real time the clock runs, 1-{MAX_SPEED:g} (default {DEFAULT_SPEED:g}: "
        "a minute passes in a second)",
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    if not args.verbose:
        # The timeline is the demo's output; the library's routine log lines would bury it.
        logging.getLogger().setLevel(logging.WARNING)
    try:
        from loopback.demo import DemoFailed, run_demo
    except ImportError as error:
        print(f"{INSTALL_HINT} ({error})", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(run_demo(args.output, args.speed))
    except DemoFailed as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    print(f"\nTranscript and audio: {result.output}")
    print(f"Total time: {result.seconds:.1f} s")
    if result.failure is not None:
        print(f"demo failed: {result.failure}", file=sys.stderr)
        return 1
    return 0
