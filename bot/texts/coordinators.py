"""User-facing text for coordinators."""

from __future__ import annotations
