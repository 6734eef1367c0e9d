"""The `run` command (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `run` command."""
    parser = subparsers.add_parser("run", help="(being built)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    raise SystemExit("not built yet")
