"""User-facing text for members."""

from __future__ import annotations
