"""Checks for free text people type: titles, reasons, feedback.

Mentions in such text can never ping anyone (the client's allowed mentions forbid it, and
displays escape markdown); here we refuse what no one means to type and cap what Discord can show.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import PracticeCirclesError

# Zero-width (non-)joiners are part of ordinary writing in Persian, Hindi and other scripts, and
# of many emoji; other format characters (bidi overrides, invisible separators) are refused.
_JOINERS = ("\u200c", "\u200d")


class InvalidTextError(PracticeCirclesError):
    """Typed text that cannot be used as given."""


def invisible_character(text: str, *, allowed: str = "") -> str | None:
    """The first control or invisible formatting character in text (joiners and `allowed` excepted), if any."""
    for character in text:
        if character in _JOINERS or character in allowed:
            continue
        if unicodedata.category(character) in {"Cc", "Cf", "Zl", "Zp"}:
            return character
    return None


def clean_text(value: str, *, what: str, max_length: int, multiline: bool = False) -> str:
    """Trim, refuse control and invisible formatting characters, and cap the length."""
    text = value.strip()
    if not text:
        raise InvalidTextError(f"the {what} is empty; please write a few words.")
    character = invisible_character(text, allowed="\n" if multiline else "")
    if character == "\n":
        raise InvalidTextError(f"the {what} must be on one line.")
    if character is not None:
        raise InvalidTextError(
            f"the {what} contains an invisible control character (U+{ord(character):04X}); "
            "please retype it without copying special characters."
        )
    if len(text) > max_length:
        raise InvalidTextError(f"the {what} is {len(text)} characters long; please keep it to {max_length}.")
    return text


# Markdown a Discord client interprets anywhere in a line (emphasis, code, spoilers, masked links),
# and mention syntax; neutralised so user text shows exactly as typed and never pings or links.
_MARKDOWN = re.compile(r"([\\*_~`|\[\]])")
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)")


def display_safe(text: str) -> str:
    """User text made inert for display: markdown shown literally, mentions unable to ping or link."""
    # A zero-width space inside the mention syntax keeps it readable but never a mention.
    defused = _MENTION.sub(lambda match: match.group(0)[0] + "\u200b" + match.group(0)[1:], text)
    return _MARKDOWN.sub(r"\\\1", defused)


def plain_cut(text: str, limit: int) -> str:
    """Plain text (choice names, labels, log details) cut to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def safe_cut(raw: str, limit: int) -> str:
    """Typed text made inert (display_safe) and cut to `limit` characters without splitting an escape."""
    safe = display_safe(raw)
    if len(safe) <= limit:
        return safe
    keep = min(len(raw), limit)
    # Escapes lengthen the text, so shorten the raw text until its inert form and the ellipsis fit.
    while keep > 0 and len(display_safe(raw[:keep])) > limit - 1:
        keep -= 1
    return display_safe(raw[:keep]) + "…"
