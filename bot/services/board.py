"""The schedule board: one message in the announcements channel showing the week ahead, kept current.

Every change to a session asks for a refresh; refreshes are coalesced (a burst of changes becomes
one edit a moment later, and edits stay at least `MIN_GAP` apart, well inside Discord's limit of 5
edits per 5 seconds in a channel). The message id is kept in the database; a board someone deleted
is posted again at the next refresh (the adapter finds it gone). At start-up and once a day the
board is refreshed as well, so the week ahead rolls on even without changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Final

from bot.model import OccurrenceRow
from bot.ports import BoardPublisher
from bot.services.sessions import SessionService, SessionSummary
from bot.storage import Database
from bot.timers import Timers

log = logging.getLogger(__name__)

BOARD_OBJECT: Final = "board"
REFRESH_JOB_ID: Final = "board:refresh"
# How long to wait for more changes before editing, and the least time between two edits.
COALESCE: Final = dt.timedelta(seconds=1)
MIN_GAP: Final = dt.timedelta(seconds=1.5)
# The board shows this many days ahead.
BOARD_DAYS: Final = 7


class ScheduleBoard:
    """Keeps the announcements channel's schedule message current."""

    def __init__(
        self,
        db: Database,
        sessions: SessionService,
        publisher: BoardPublisher,
        timers: Timers,
        channel_id: int,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self.sessions = sessions
        self.publisher = publisher
        self.timers = timers
        self.channel_id = channel_id
        self.clock = clock
        self._last_publish: dt.datetime | None = None
        self._publishing = asyncio.Lock()
        # How many refreshes have finished (tests and the demo wait on it instead of guessing).
        self.refreshes = 0
        self._refreshed = asyncio.Condition()

    async def follow(self, occurrence: OccurrenceRow) -> None:
        """A session changed: refresh the board soon (a burst of changes is one edit)."""
        self.request_refresh()

    def request_refresh(self) -> dt.datetime:
        """Ask for a refresh, coalesced with any already asked for; return when it will run."""
        pending = self.timers.pending().get(REFRESH_JOB_ID)
        if pending is not None:
            return pending
        when = self.clock() + COALESCE
        if self._last_publish is not None:
            when = max(when, self._last_publish + MIN_GAP)
        self.timers.schedule_at(REFRESH_JOB_ID, when, self.refresh)
        return when

    async def week_ahead(self) -> Sequence[SessionSummary]:
        """The sessions the board shows."""
        return await self.sessions.upcoming(BOARD_DAYS)

    async def refresh(self) -> int | None:
        """Edit the board in place (or post it, if it was never posted or was deleted); return its message id."""
        async with self._publishing:
            known = await self.db.get_object(BOARD_OBJECT)
            message_id = known[1] if known is not None and known[0] == self.channel_id else None
            summaries = await self.week_ahead()
            try:
                posted = await self.publisher.publish(self.channel_id, summaries, message_id)
            except Exception:
                log.exception("the schedule board could not be updated; trying again in a minute")
                self.timers.schedule_at(REFRESH_JOB_ID, self.clock() + dt.timedelta(minutes=1), self.refresh)
                return None
            finally:
                self._last_publish = self.clock()
            if posted != message_id:
                await self.db.set_object(BOARD_OBJECT, self.channel_id, posted)
        async with self._refreshed:
            self.refreshes += 1
            self._refreshed.notify_all()
        return posted

    async def wait_for_refreshes(self, count: int) -> None:
        """Wait until `count` refreshes have finished since start-up."""
        async with self._refreshed:
            await self._refreshed.wait_for(lambda: self.refreshes >= count)

    async def message_deleted(self, channel_id: int, message_id: int) -> None:
        """Someone deleted a message: if it was the board, post it again soon."""
        known = await self.db.get_object(BOARD_OBJECT)
        if known == (channel_id, message_id):
            await self.db.drop_object(BOARD_OBJECT)
            self.request_refresh()
