"""User-facing text for teachers."""

from __future__ import annotations
