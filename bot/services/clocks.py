"""Time changes told ahead: a heads-up a few days before daylight saving moves a member's session on their clock.

For each member with a time zone and each upcoming session they signed up for, the session's start is
compared with the series' start one repeat before (`local_shift_note`): a difference on the member's
clock while the Pacific wall time stayed put means only one side changed daylight saving. Each such
session gets one ledger row (`notice:clocks`, keyed by session, member and change version), due
`time_change_notice_days` before the session, so it goes out exactly once, survives restarts (the
ledger is in the database and the sweep timer is rebuilt from it) and is dropped if the session
changes. The words are worked out again when it is sent, so a member who changed or cleared their
zone meanwhile gets nothing stale.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.delivery.dispatch import Dispatcher
from bot.delivery.ledger import Ledger, notice_kind
from bot.errors import PracticeCirclesError
from bot.model import DeliveryKey, OccurrenceRow
from bot.schedule.timezones import local_shift_note, previous_start
from bot.storage import Database

log = logging.getLogger(__name__)

CLOCKS_KIND = notice_kind("clocks")
SCAN_JOB_ID = "clocks:scan"


async def clock_note(db: Database, occurrence: OccurrenceRow, zone: str | None) -> str | None:
    """The daylight-saving note for a member in `zone` about a weekly session (None: nothing moved)."""
    if zone is None or occurrence.series_id is None:
        return None
    series = await db.get_series(occurrence.series_id)
    if series is None:
        return None
    try:
        return local_shift_note(occurrence.start_utc, previous_start(series, occurrence), zone)
    except (PracticeCirclesError, ValueError, LookupError):
        # A note is a courtesy; it must never cost the member their reminder.
        log.warning("no daylight-saving note for session %s in %s", occurrence.id, zone, exc_info=True)
        return None


class ClockChanges:
    """Finds sessions that daylight saving moves on members' clocks, and queues one heads-up for each."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        dispatcher: Dispatcher,
        *,
        notice_ahead: dt.timedelta,
        horizon: dt.timedelta,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.dispatcher = dispatcher
        self.notice_ahead = notice_ahead
        self.horizon = horizon
        self.clock = clock

    async def note(self, occurrence: OccurrenceRow, zone: str | None) -> str | None:
        """The daylight-saving note for a member in `zone` about this session (None: nothing moved)."""
        return await clock_note(self.db, occurrence, zone)

    async def notes_for(self, user_id: int, occurrences: list[OccurrenceRow]) -> dict[int, str]:
        """The notes a member sees beside their sessions (e.g. in /mysessions)."""
        member = await self.db.get_member(user_id)
        zone = None if member is None else member.timezone
        found: dict[int, str] = {}
        for occurrence in occurrences:
            note = await self.note(occurrence, zone)
            if note is not None:
                found[occurrence.id] = note
        return found

    async def scan(self) -> int:
        """Queue heads-ups for every member with a zone and every session of theirs ahead; return how many are new."""
        queued = 0
        for user_id, zone in await self.db.members_with_timezone():
            queued += await self._scan_member(user_id, zone)
        if queued:
            await self.dispatcher.schedule_next_sweep()
        return queued

    async def scan_member(self, user_id: int) -> int:
        """Queue what one member should hear (after they set a zone or signed up)."""
        member = await self.db.get_member(user_id)
        if member is None or member.timezone is None:
            return 0
        queued = await self._scan_member(user_id, member.timezone)
        if queued:
            await self.dispatcher.schedule_next_sweep()
        return queued

    async def follow(self, occurrence: OccurrenceRow) -> None:
        """After a session changed: its members with a zone may need a heads-up about its new version."""
        if occurrence.status != "scheduled":
            return
        queued = 0
        for user_id in await self.db.signed_up_user_ids(occurrence.id):
            member = await self.db.get_member(user_id)
            if member is not None and member.timezone is not None:
                queued += await self._queue(occurrence, user_id, member.timezone)
        if queued:
            await self.dispatcher.schedule_next_sweep()

    async def _scan_member(self, user_id: int, zone: str) -> int:
        now = self.clock()
        queued = 0
        for occurrence in await self.db.list_user_occurrences(user_id, now, now + self.horizon):
            if occurrence.status == "scheduled":
                queued += await self._queue(occurrence, user_id, zone)
        return queued

    async def _queue(self, occurrence: OccurrenceRow, user_id: int, zone: str) -> int:
        if occurrence.start_utc <= self.clock() or await self.note(occurrence, zone) is None:
            return 0
        key = DeliveryKey(occurrence.id, user_id, CLOCKS_KIND, occurrence.change_version)
        if await self.ledger.get(key) is not None:
            return 0
        await self.ledger.enqueue(key, max(self.clock(), occurrence.start_utc - self.notice_ahead))
        return 1
