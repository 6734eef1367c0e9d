"""Checks for free text people type (titles, reasons, feedback), and the one way it is shown.

`clean_text` refuses what no one means to type and caps what Discord can show; `display_safe`
makes what was typed inert wherever Discord renders it. Mentions could not ping anyone anyway (the
client's allowed mentions forbid it), but a heading, a quote or a live link in someone's words would
still speak with the bot's voice.
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


# Markdown a Discord client reads anywhere in a line: emphasis, underline, strike-through, spoilers,
# code, masked links ([text](url)), the escape character itself, and `<`, which opens mentions,
# timestamps (<t:…>), command mentions (</cmd:id>), custom emoji and bracketed links (<https://…>).
_INLINE = re.compile(r"([\\*_~`|\[\]<])")
# What a client reads only at the start of a line: headings (#, ##, ###), subtext (-#), quotes
# (>, >>>) and list items (-, *, +, 1.). `*` is escaped everywhere already.
_LINE_START = re.compile(r"^([ \t]*)([#>+-]|[0-9]+(?=\.))", re.MULTILINE)
# A scheme followed by `://` is a live link wherever it stands.
_LINK_SCHEME = re.compile(r"(?i)([a-z][a-z0-9+.-]*):(?=//)")
# Mentions that would ping: @everyone and @here, and <@…>, <@!…>, <@&…>, <#…> (apart: `<@everyone` is both).
_EVERYONE = re.compile(r"@(?=everyone|here)")
_MENTION = re.compile(r"<(?=@|#)")


def display_safe(text: str) -> str:
    """User text made inert wherever Discord renders it: shown exactly as typed, never formatting, linking or pinging.

    The one function for every title, reason, feedback, recording title and name the bot shows in
    a message or embed. Markdown is escaped with backslashes (Discord shows the character itself);
    mention syntax gets a zero-width space, so it stays readable but never resolves. Button and
    select-option labels and event names, which Discord shows as plain text, take the text as typed.
    """
    # A zero-width space inside the mention syntax keeps it readable but never a mention.
    defused = _MENTION.sub("<\u200b", _EVERYONE.sub("@\u200b", text))
    escaped = _INLINE.sub(r"\\\1", defused)
    # A line's number marker is escaped at its dot (1\. stays "1."), the others at the marker itself.
    escaped = _LINE_START.sub(_escape_line_start, escaped)
    return _LINK_SCHEME.sub(r"\1\\:", escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.groups()
    if marker.isdigit():
        return f"{indent}{marker}\\"
    return f"{indent}\\{marker}"


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
