"""Keeping under Discord's global rate limit rather than running into it.

Discord lets a bot make 50 REST requests a second across all routes (interaction callbacks
excepted) and answers the rest with a global 429; every 429 counts towards the invalid-request
ban (10,000 in ten minutes). discord.py learns per-route limits from headers and waits before
them, but it meets the global limit only when a 429 comes back, and by then the requests it has
in flight arrive inside the announced retry_after too. A reminder fan-out to hundreds of members
(opening each DM, then sending) would run into it again and again. So every request first takes a
turn from `GlobalPacer`, a little below the limit, first come first served.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import discord

__all__ = ["BUCKET_SWEEP_EVERY", "GLOBAL_REQUESTS_PER_SECOND", "GlobalPacer", "pace_requests", "sweep_buckets_seldom"]

# Discord's global limit is 50 a second; the margin absorbs timing jitter between us and Discord.
GLOBAL_REQUESTS_PER_SECOND: Final = 45
# Interaction callbacks are not bound by the global limit, and have a 3-second deadline.
EXEMPT_PATH_PREFIXES: Final = ("/interactions/",)
# A turn that waited is counted at the moment it was due if it woke up at most this late: the event
# loop rounds its waits up to the millisecond, and counting each turn at its wake-up carried that
# lateness into every later turn (a long fan-out ran ~5 % slower than the pace). Later than this
# (a busy loop), the turn counts when it really went, so a stall never lets a burst through.
LATENESS_FORGIVEN: Final = 0.002
# discord.py's own clean-up of idle rate-limit buckets runs at most this often (seconds).
BUCKET_SWEEP_EVERY: Final = 10.0


class GlobalPacer:
    """At most `limit` turns in any `period` seconds; callers wait in arrival order."""

    def __init__(
        self,
        limit: int = GLOBAL_REQUESTS_PER_SECOND,
        period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a pacer needs a positive limit and period")
        self.limit = limit
        self.period = period
        self.clock = clock
        self._taken: deque[float] = deque()
        self._queue = asyncio.Lock()

    async def turn(self) -> None:
        """Wait until one more request fits in the last `period` seconds, and count it."""
        async with self._queue:
            while True:
                now = self.clock()
                while self._taken and self._taken[0] <= now - self.period:
                    self._taken.popleft()
                if len(self._taken) < self.limit:
                    self._taken.append(now)
                    return
                due = self._taken[0] + self.period
                await asyncio.sleep(due - now)
                if self.clock() - due <= LATENESS_FORGIVEN:
                    self._taken.popleft()  # the turn this one waited for has left the window
                    self._taken.append(due)
                    return


def pace_requests(http: discord.http.HTTPClient, pacer: GlobalPacer | None = None) -> GlobalPacer:
    """Make every REST request of this discord.py client (interaction callbacks excepted) wait its turn."""
    pacer = pacer or GlobalPacer()
    request = http.request

    async def paced(route: discord.http.Route, **kwargs: Any) -> Any:
        if not route.path.startswith(EXEMPT_PATH_PREFIXES):
            await pacer.turn()
        return await request(route, **kwargs)

    http.request = paced  # type: ignore[method-assign]
    return pacer


def sweep_buckets_seldom(
    http: discord.http.HTTPClient, every: float = BUCKET_SWEEP_EVERY, clock: Callable[[], float] = time.monotonic
) -> None:
    """Let discord.py forget idle rate-limit buckets at most every `every` seconds, not on every new bucket.

    discord.py keeps one bucket per channel and, once it holds 256, walks all of them for ones idle
    for five minutes each time it makes a new one. A fan-out posts into a new DM channel per member,
    so each request walked every bucket of the last five minutes: at 100,000 members that walk was
    most of the bot's time and held the fan-out below the pace. Buckets are only forgotten after
    five idle minutes anyway, so sweeping every few seconds forgets them as well.
    """
    sweep = http._try_clear_expired_ratelimits
    last = -math.inf

    def seldom() -> None:
        nonlocal last
        now = clock()
        if now - last >= every:
            last = now
            sweep()

    http._try_clear_expired_ratelimits = seldom  # type: ignore[method-assign]
