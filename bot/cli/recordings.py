"""The `recordings` command (being built)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add the `recordings` command."""
    subparsers.add_parser("recordings", help="(being built)")
