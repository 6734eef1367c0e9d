"""The `check` command (being built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `check` command."""
    parser = subparsers.add_parser("check", help="(being built)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    raise SystemExit("not built yet")
