"""The `schedule` command (being built)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add the `schedule` command."""
    subparsers.add_parser("schedule", help="(being built)")
