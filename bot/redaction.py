"""Token-shaped values hidden from every message the bot writes: errors, `check` reports and logs.

The bot's own token is a `bot.config.Secret` and never printed. This catches the rest: a token pasted
into the wrong config key, a file or a URL, and echoed back by a message that quotes what it read.
It imports nothing of the bot, so the domain errors themselves can use it.
"""

from __future__ import annotations

import logging
import re
from typing import Final

# A Discord bot token: three base64url parts joined by dots (the bot's user id, a timestamp, an
# HMAC); the lengths leave room for every token Discord has issued. Version strings, dates, paths
# and snowflakes never have three parts this long.
TOKEN_SHAPE: Final = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{25,}")
HIDDEN: Final = "[hidden: looks like a Discord token]"


def redact_tokens(text: str) -> str:
    """The text with every token-shaped value replaced by a note saying it was hidden."""
    return TOKEN_SHAPE.sub(HIDDEN, text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (message, arguments, traceback) has token-shaped values hidden."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as usual, then hide anything token-shaped."""
        return redact_tokens(super().format(record))
