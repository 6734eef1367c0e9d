"""What every session action shares: the services it works with, reading sessions, and the steps after a change."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bot import texts
from bot.config import Config
from bot.delivery.notices import Notices
from bot.delivery.reminders import ReminderScheduler
from bot.errors import ConflictError, NotFoundError, ScheduleError
from bot.model import (
    OccurrenceRow,
    OccurrenceStatus,
    SeriesRow,
)
from bot.ports import Announcer
from bot.services.horizon import Horizon
from bot.services.limits import RateLimits
from bot.storage import Database
from bot.validation import display_safe

log = logging.getLogger(__name__)

# Listings show up to four weeks ahead.
MAX_LISTING_DAYS: Final = 28
# Sessions that have not been cancelled or finished, as shown in listings.
UPCOMING_STATUSES: Final[tuple[OccurrenceStatus, ...]] = ("scheduled", "open", "teacher_led", "no_teacher")
MIN_DURATION: Final = 10
MAX_DURATION: Final = 240
MAX_TITLE: Final = 100
MAX_REASON: Final = 300
MAX_FEEDBACK: Final = 1500
# A listing read for one member is shown to the next for this long, unless this process wrote to
# the database meanwhile (then it is read again at once). Only writes by another process (a
# command-line tool) can be this late to show.
LISTING_FRESH_FOR: Final = dt.timedelta(seconds=5)


@dataclass(frozen=True)
class _Listing:
    """One read of the upcoming sessions, shared by everyone asking while it is fresh."""

    read_at: dt.datetime
    commits: int
    # Each summary with its session's end, worked out once (members filter by it on every read).
    summaries: asyncio.Future[list[tuple[dt.datetime, SessionSummary]]]


@dataclass(frozen=True)
class SessionSummary:
    """A session as members see it in a listing: when, where, who teaches, how many are coming."""

    occurrence: OccurrenceRow
    teacher_id: int | None
    signups: int


class SessionBase:
    """The services a session action works with, how sessions are read, and what follows every change."""

    def __init__(
        self,
        db: Database,
        config: Config,
        *,
        horizon: Horizon,
        reminders: ReminderScheduler,
        notices: Notices,
        announcer: Announcer,
        clock: Callable[[], dt.datetime],
        limits: RateLimits | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.horizon = horizon
        self.reminders = reminders
        self.notices = notices
        self.announcer = announcer
        self.clock = clock
        self.limits = limits if limits is not None else RateLimits(config.limits, clock)
        # Called with a member's id after they signed up or set their time zone (time-change heads-ups).
        self.member_listeners: list[Callable[[int], Awaitable[object]]] = []
        # Called after every change to a session (the scheduled-events mirror, the session runner).
        self.listeners: list[Callable[[OccurrenceRow], Awaitable[None]]] = []
        # The upcoming listing by days ahead (see LISTING_FRESH_FOR).
        self._listings: dict[int, _Listing] = {}

    async def session(self, occurrence_id: int) -> OccurrenceRow:
        """A session by id, or a kind NotFoundError."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            raise NotFoundError(texts.NO_SUCH_SESSION.format(id=occurrence_id))
        return occurrence

    async def series(self, series_id: int) -> SeriesRow:
        """A series by id, or a kind NotFoundError."""
        return await self._series(series_id)

    async def upcoming_in_series(self, series_id: int) -> list[OccurrenceRow]:
        """A series' scheduled sessions still to come: those that pausing or ending it would cancel."""
        return await self._future_sessions(series_id, statuses=["scheduled"])

    async def signup_count(self, occurrence_id: int) -> int:
        """How many members are signed up for a session."""
        return await self.db.count_signups(occurrence_id)

    async def teacher_of(self, occurrence_id: int) -> int | None:
        """The user id of the teacher who has claimed a session, if anyone has."""
        claim = await self.db.get_teacher_claim(occurrence_id)
        return None if claim is None else claim.teacher_id

    async def session_of_event(self, event_id: int) -> int | None:
        """The session a mirrored guild scheduled event stands for, while the mirror still links them."""
        return await self.db.occurrence_for_link("event", event_id)

    async def upcoming(self, days: int = 7) -> list[SessionSummary]:
        """Scheduled sessions from now to `days` ahead (1-28), with teacher and sign-up count."""
        if not 1 <= days <= MAX_LISTING_DAYS:
            raise ScheduleError(texts.LISTING_DAYS.format(max=MAX_LISTING_DAYS, got=days))
        now = self.clock()
        listing = self._listings.get(days)
        if (
            listing is None
            or listing.commits != self.db.commits
            or not dt.timedelta(0) <= now - listing.read_at < LISTING_FRESH_FOR
        ):
            # Twenty members asking at once share one read instead of making twenty.
            read = asyncio.ensure_future(self._read_upcoming(days, now))
            listing = self._listings[days] = _Listing(now, self.db.commits, read)
            read.add_done_callback(lambda done: self._forget_failed(days, done))
        summaries = await asyncio.shield(listing.summaries)
        return [summary for end, summary in summaries if end > now]

    async def _read_upcoming(self, days: int, now: dt.datetime) -> list[tuple[dt.datetime, SessionSummary]]:
        rows = await self.db.list_occurrences(
            now - dt.timedelta(minutes=1), now + dt.timedelta(days=days), statuses=UPCOMING_STATUSES
        )
        summaries = await self._summaries([row for row in rows if row.end_utc > now])
        return [(summary.occurrence.end_utc, summary) for summary in summaries]

    def _forget_failed(self, days: int, read: asyncio.Future[list[tuple[dt.datetime, SessionSummary]]]) -> None:
        """A read that failed is not shown to the next member; they read again."""
        listing = self._listings.get(days)
        if listing is not None and listing.summaries is read and (read.cancelled() or read.exception() is not None):
            del self._listings[days]

    async def signed_up_among(self, user_id: int, occurrence_ids: Sequence[int]) -> set[int]:
        """Which of these sessions a member is signed up for (to mark them in a listing)."""
        return await self.db.signed_up_among(user_id, occurrence_ids)

    async def _summaries(self, rows: Sequence[OccurrenceRow]) -> list[SessionSummary]:
        # One query for every row's teacher and count: two per row made a 4-week listing take ~100 ms.
        facts = await self.db.teachers_and_signups([row.id for row in rows])
        return [SessionSummary(row, *facts.get(row.id, (None, 0))) for row in rows]

    async def active_series(self) -> list[SeriesRow]:
        """Series still adding sessions, for members to sign up for or export."""
        return await self.db.list_series(statuses=["active"])

    async def series_sessions(self, series_id: int) -> tuple[SeriesRow, list[OccurrenceRow]]:
        """A series and its stored sessions from the one under way on, cancelled ones included (calendar export)."""
        series = await self._series(series_id)
        now = self.clock()
        # Like _future_sessions, far enough to include a session moved past the horizon.
        far = now + self.horizon.length + dt.timedelta(days=366)
        rows = await self.db.list_occurrences(now - dt.timedelta(minutes=MAX_DURATION), far, series_id=series.id)
        return series, rows

    async def recent_sessions(self, days: int = 14) -> list[OccurrenceRow]:
        """Sessions that began in the last `days` days and were not cancelled, latest first (for feedback)."""
        now = self.clock()
        began = await self.db.list_occurrences(
            now - dt.timedelta(days=days), now, statuses=(*UPCOMING_STATUSES, "closed")
        )
        return began[::-1]

    async def _open_for_signup(self, occurrence_id: int) -> OccurrenceRow:
        occurrence = await self.session(occurrence_id)
        if occurrence.status == "cancelled":
            raise ConflictError(texts.SESSION_CANCELLED.format(title=display_safe(occurrence.title)))
        if occurrence.status == "closed" or occurrence.end_utc <= self.clock():
            raise ConflictError(texts.SESSION_OVER.format(title=display_safe(occurrence.title)))
        return occurrence

    async def extend_horizon(self) -> int:
        """Store sessions up to the horizon for every active series and arm their reminders."""
        added = 0
        for series in await self.db.list_series(statuses=["active"]):
            added += await self._expand_and_arm(series)
        return added

    async def reminders_follow(self, occurrence: OccurrenceRow) -> None:
        """Re-arm a session's reminder timers after it changed."""
        self.reminders.schedule(occurrence)

    async def _expand_and_arm(self, series: SeriesRow) -> int:
        added = await self.horizon.expand(series)
        if added:
            for occurrence in await self._future_sessions(series.id, statuses=["scheduled"]):
                self.reminders.schedule(occurrence)
                await self._changed(occurrence)
        return added

    async def _after_changes(self, *occurrences: OccurrenceRow) -> None:
        """Once changes (and their notices) have committed: re-arm reminders, send the notices, tell listeners."""
        for occurrence in occurrences:
            self.reminders.schedule(occurrence)  # a cancelled session's timers are simply removed
        self.notices.send_queued()
        for occurrence in occurrences:
            await self._changed(occurrence)

    async def _member_changed(self, user_id: int) -> None:
        for listener in self.member_listeners:
            try:
                await listener(user_id)
            except Exception:
                log.exception("a listener failed after a member's change")

    async def _changed(self, occurrence: OccurrenceRow) -> None:
        for listener in self.listeners:
            try:
                await listener(occurrence)
            except Exception:
                log.exception("a listener failed on session %d", occurrence.id)

    async def _future_sessions(self, series_id: int, *, statuses: Sequence[OccurrenceStatus]) -> list[OccurrenceRow]:
        now = self.clock()
        far = now + self.horizon.length + dt.timedelta(days=366)
        return await self.db.list_occurrences(now, far, statuses=statuses, series_id=series_id)

    async def _series(self, series_id: int) -> SeriesRow:
        series = await self.db.get_series(series_id)
        if series is None:
            raise NotFoundError(texts.NO_SUCH_SERIES.format(id=series_id))
        return series
