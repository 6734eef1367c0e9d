"""Awaitable changes: tests wait for something to become true instead of sleeping."""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signals:
    """Counters plus a 'something changed' pulse that waiters re-check their condition on."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._changed = asyncio.Event()

    def bump(self, name: str) -> None:
        """Count one more `name` and wake every waiter."""
        self.counts[name] += 1
        self.poke()

    def poke(self) -> None:
        """Wake every waiter so it re-checks its condition."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, condition: Callable[[], T | None], *, timeout: float, what: str) -> T:
        """Return the first truthy `condition()`; fail the test with `what` after `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    result = condition()
                    if result:
                        return result
                    await changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}") from None

    async def wait_count(self, name: str, count: int, *, timeout: float) -> int:
        """Wait until `name` has happened at least `count` times; returns the count."""
        await self.wait_until(
            lambda: self.counts[name] >= count,
            timeout=timeout,
            what=f"{name} #{count} (seen {self.counts[name]} so far)",
        )
        return self.counts[name]
