"""Sessions: series rules kept expanded into stored occurrences for a rolling horizon.

A series is a weekly rule at a Pacific wall-clock time (`bot.schedule.WeeklyRule`). Its sessions
are stored as occurrences from now to `horizon` ahead, each with the UTC start the rule gave it
as its recurrence id. Expanding again only adds recurrence ids that are missing, so a session
that was cancelled or moved on its own keeps that change (like RFC 5545 EXDATE / RECURRENCE-ID).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.schedule import WeeklyRule
from bot.storage import WEEKDAY_CODES, Database, SeriesRow

log = logging.getLogger(__name__)


def rule_for(series: SeriesRow) -> WeeklyRule:
    """The weekly rule a stored series describes."""
    return WeeklyRule(
        weekdays=frozenset(WEEKDAY_CODES.index(code) for code in series.weekdays),
        at=series.local_time,
        starts_on=series.starts_on,
        interval_weeks=series.interval_weeks,
        until=series.until,
    )


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
