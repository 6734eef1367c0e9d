"""User-facing text for events."""

from __future__ import annotations
