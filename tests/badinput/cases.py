"""Shared pieces of the bad-input tables: hostile strings, and the checks every refusal must pass.

Each table row names its case (the pytest id or the loop's case id), the input, and words the
refusal must contain: the key, option or entry at fault and what is allowed, never just "error".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# Characters people paste by accident (or on purpose): control, bidi and invisible formatting.
NUL = "\x00"
BEL = "\x07"
ESC = "\x1b"
RLO = "\u202e"  # right-to-left override: makes text display reversed
ZWSP = "\u200b"  # zero-width space
ZWJ = "\u200d"  # zero-width joiner: part of ordinary emoji, always allowed
BOM = "\ufeff"

# Mentions and markdown that must never ping or format when the bot shows them back.
EVERYONE = "@everyone"
HERE = "@here"
BOLD = "**loud**"
MASKED_LINK = "[free gift](https://evil.example/x)"

# Things that look like audio locations where only a recording id belongs.
EVIL_URL = "https://evil.example/x.ogg"
TRAVERSAL = "../../etc/passwd"
FILE_URL = "file:///etc/passwd"

# Good controls: an emoji-only title (with a joiner and a variation selector) must be accepted.
EMOJI_TITLE = "🧘" + ZWJ + "♀️🌿✨"

# Wording that must never reach a coordinator: tracebacks, pydantic internals, the apology for bugs.
RAW_WORDING = (
    "Traceback (most recent call last)",
    "Input should",
    "errors.pydantic.dev",
    "pydantic",
    "Value error",
    "Something went wrong",
)


def missing(text: str, words: Iterable[str]) -> list[str]:
    """The expected words that do not appear in text."""
    return [word for word in words if word not in text]


def raw_wording(text: str) -> list[str]:
    """Wording in text that a volunteer should never see (tracebacks, library internals, bug apology)."""
    return [raw for raw in RAW_WORDING if raw in text]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes, to show that nothing was written or removed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
