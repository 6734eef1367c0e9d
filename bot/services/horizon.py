"""The rolling horizon: every active series kept expanded into stored sessions from now to some weeks ahead.

Expanding again only adds recurrence ids that are missing, so a session that was cancelled or moved
on its own keeps that change (like RFC 5545 EXDATE / RECURRENCE-ID).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.model import SeriesRow
from bot.schedule.rules import rule_for
from bot.storage import Database

log = logging.getLogger(__name__)


class Horizon:
    """Keeps every active series expanded into occurrences from now to `length` ahead."""

    def __init__(self, db: Database, length: dt.timedelta, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.length = length
        self.clock = clock

    async def expand(self, series: SeriesRow) -> int:
        """Store the series' missing occurrences inside the horizon; returns how many were added."""
        if series.status != "active":
            return 0
        now = self.clock()
        starts = rule_for(series).occurrences_between(now, now + self.length)
        return await self.db.ensure_occurrences(
            series.id,
            starts,
            duration_minutes=series.duration_minutes,
            channel_id=series.channel_id,
            title=series.title,
            practice=series.default_practice,
        )

    async def extend(self) -> int:
        """Expand every active series (at start-up and daily); returns how many occurrences were added."""
        added = 0
        for series in await self.db.list_series(statuses=["active"]):
            added += await self.expand(series)
        if added:
            log.info("schedule horizon extended: %d new session(s)", added)
        return added
