"""Per-member rate limits: feedback and changes, counted in a sliding window, answered with a kind message.

Kept in memory only: who did what when is exactly what a privacy-minded bot should not store, and a
restart forgetting the counts costs nothing but a fresh allowance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable
from typing import Literal

from bot import texts
from bot.config import LimitsSection
from bot.errors import RateLimitedError

__all__ = ["Bucket", "RateLimits"]

Bucket = Literal["feedback", "changes"]


class RateLimits:
    """How often each member may send feedback and change things; `spend` refuses kindly past the limit."""

    def __init__(self, limits: LimitsSection, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self._rules: dict[Bucket, tuple[int, dt.timedelta]] = {
            "feedback": (limits.feedback_per_hour, dt.timedelta(hours=1)),
            "changes": (limits.changes_per_minute, dt.timedelta(minutes=1)),
        }
        self._used: dict[tuple[Bucket, int], deque[dt.datetime]] = {}

    def spend(self, user_id: int, bucket: Bucket) -> None:
        """Count one action of this member, or raise RateLimitedError saying how long to wait."""
        allowed, window = self._rules[bucket]
        now = self.clock()
        used = self._used.setdefault((bucket, user_id), deque())
        while used and used[0] <= now - window:
            used.popleft()
        if len(used) >= allowed:
            wait = used[0] + window - now
            raise RateLimitedError(texts.RATE_LIMITED[bucket].format(wait=_wait_words(wait)))
        used.append(now)

    def forget(self, user_id: int) -> None:
        """Drop every count kept for a member (they asked to be forgotten)."""
        for key in [key for key in self._used if key[1] == user_id]:
            del self._used[key]


def _wait_words(wait: dt.timedelta) -> str:
    """A wait in the largest unit that reads naturally: '40 seconds', '12 minutes'."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 90:
        return texts.WAIT_SECONDS[seconds != 1].format(n=seconds)
    minutes = math.ceil(seconds / 60)
    return texts.WAIT_MINUTES[minutes != 1].format(n=minutes)
