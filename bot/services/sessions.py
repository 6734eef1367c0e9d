"""Sessions: series rules kept expanded into stored occurrences for a rolling horizon.

A series is a weekly rule at a Pacific wall-clock time (`bot.schedule.rules.WeeklyRule`). Its sessions
are stored as occurrences from now to `horizon` ahead, each with the UTC start the rule gave it
as its recurrence id. Expanding again only adds recurrence ids that are missing, so a session
that was cancelled or moved on its own keeps that change (like RFC 5545 EXDATE / RECURRENCE-ID).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from bot import texts
from bot.config import Config
from bot.delivery.notices import Notices, SessionChange
from bot.delivery.reminders import ReminderScheduler
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError, ScheduleError
from bot.model import (
    WEEKDAY_CODES,
    FeedbackRow,
    MemberRow,
    OccurrenceRow,
    OccurrenceStatus,
    ReminderChannel,
    SeriesRow,
    SeriesStatus,
    SignupSource,
)
from bot.schedule.rules import (
    WeeklyRule,
    discord_timestamp,
    format_pacific,
    parse_pacific_datetime,
    parse_weekly,
    utc_to_pacific,
)
from bot.schedule.timezones import validate_timezone
from bot.services.permissions import Actor, is_coordinator, is_teacher, require_coordinator, require_teacher
from bot.services.practices import find_practice
from bot.storage import Database
from bot.validation import clean_text, display_safe

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


@dataclass(frozen=True)
class SessionSummary:
    """A session as members see it in a listing: when, where, who teaches, how many are coming."""

    occurrence: OccurrenceRow
    teacher_id: int | None
    signups: int


class Announcer(Protocol):
    """Where the core posts to the volunteers (implemented by the Discord layer)."""

    async def to_coordinators(self, text: str) -> None:
        """Post a short message in the coordinators' channel."""
        ...

    async def to_teachers(self, text: str, claim_occurrence_id: int) -> None:
        """Post in the teachers' channel with a Claim button for that session."""
        ...


class SessionService:
    """Everything members, teachers and coordinators do to the schedule, with checks, audit and notices."""

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
    ) -> None:
        self.db = db
        self.config = config
        self.horizon = horizon
        self.reminders = reminders
        self.notices = notices
        self.announcer = announcer
        self.clock = clock
        # Called after every change to a session (the scheduled-events mirror, the session runner).
        self.listeners: list[Callable[[OccurrenceRow], Awaitable[None]]] = []

    # --- reading ------------------------------------------------------------------------------

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

    async def upcoming(self, days: int = 7) -> list[SessionSummary]:
        """Scheduled sessions from now to `days` ahead (1-28), with teacher and sign-up count."""
        if not 1 <= days <= MAX_LISTING_DAYS:
            raise ScheduleError(texts.LISTING_DAYS.format(max=MAX_LISTING_DAYS, got=days))
        now = self.clock()
        rows = await self.db.list_occurrences(
            now - dt.timedelta(minutes=1), now + dt.timedelta(days=days), statuses=UPCOMING_STATUSES
        )
        return await self._summaries([row for row in rows if row.end_utc > now])

    async def my_sessions(self, user_id: int) -> list[SessionSummary]:
        """The sessions a member is signed up for that have not ended."""
        now = self.clock()
        rows = await self.db.list_user_occurrences(user_id, now - dt.timedelta(hours=4))
        return await self._summaries([row for row in rows if row.end_utc > now and row.status != "cancelled"])

    async def teacher_sessions(self, teacher_id: int) -> list[SessionSummary]:
        """Upcoming sessions a teacher has claimed."""
        now = self.clock()
        rows = await self.db.list_occurrences(now, now + self.horizon.length, statuses=UPCOMING_STATUSES)
        summaries = await self._summaries(rows)
        return [summary for summary in summaries if summary.teacher_id == teacher_id]

    async def unclaimed(self, days: int = 14) -> list[SessionSummary]:
        """Sessions from now to `days` ahead (1-28) that have not begun and have no teacher yet."""
        now = self.clock()
        return [
            summary
            for summary in await self.upcoming(days)
            if summary.teacher_id is None and summary.occurrence.start_utc > now
        ]

    async def _summaries(self, rows: Sequence[OccurrenceRow]) -> list[SessionSummary]:
        # One query for every row's teacher and count: two per row made a 4-week listing take ~100 ms.
        facts = await self.db.teachers_and_signups([row.id for row in rows])
        return [SessionSummary(row, *facts.get(row.id, (None, 0))) for row in rows]

    # --- members ------------------------------------------------------------------------------

    async def sign_up(self, user_id: int, occurrence_id: int, source: SignupSource = "command") -> bool:
        """Sign a member up for one session; False if they already were."""
        occurrence = await self._open_for_signup(occurrence_id)
        return await self.db.sign_up(occurrence.id, user_id, source)

    async def sign_out(self, user_id: int, occurrence_id: int) -> bool:
        """Take a member off one session; False if they were not signed up."""
        await self.session(occurrence_id)
        return await self.db.sign_out(occurrence_id, user_id)

    async def sign_up_series(self, user_id: int, series_id: int) -> bool:
        """Sign a member up for every upcoming session of a series; False if they already were."""
        series = await self._series(series_id)
        if series.status == "ended":
            raise ConflictError(texts.SERIES_ENDED.format(title=display_safe(series.title)))
        return await self.db.sign_up_series(series.id, user_id)

    async def sign_out_series(self, user_id: int, series_id: int) -> bool:
        """Take a member off a series' upcoming sessions; False if they had not signed up for it."""
        await self._series(series_id)
        return await self.db.sign_out_series(series_id, user_id)

    async def set_reminders(
        self, user_id: int, offsets: Sequence[int] | None, channel: ReminderChannel, *, retry_dms: bool = False
    ) -> None:
        """Choose reminder times (from the allowed ones; None = the community default) and how to get them."""
        allowed = self.config.reminders.allowed_offsets_minutes
        if offsets is not None:
            unknown = sorted(set(offsets) - set(allowed))
            if unknown:
                raise ScheduleError(
                    texts.REMINDER_OFFSETS.format(
                        got=", ".join(map(str, unknown)), allowed=", ".join(map(str, allowed))
                    )
                )
        # retry_dms: the member picked direct messages themselves and may have opened them since a
        # refusal; try again (another refusal falls back to the thread and marks them closed again).
        if retry_dms and channel == "dm":
            await self.db.set_member(user_id, reminder_offsets=offsets, reminder_channel=channel, dm_closed=False)
        else:
            await self.db.set_member(user_id, reminder_offsets=offsets, reminder_channel=channel)

    async def set_timezone(self, user_id: int, name: str | None) -> str | None:
        """Remember a member's IANA time zone (None clears it); returns the stored name."""
        zone = None if name is None else validate_timezone(name)
        await self.db.set_member(user_id, timezone=zone)
        return zone

    async def add_feedback(self, user_id: int, text: str, occurrence_id: int | None = None) -> FeedbackRow:
        """Store feedback and pass it on to the coordinators."""
        body = clean_text(text, what="feedback", max_length=MAX_FEEDBACK, multiline=True)
        if occurrence_id is not None:
            await self.session(occurrence_id)
        row = await self.db.add_feedback(user_id, body, occurrence_id)
        await self.announcer.to_coordinators(
            texts.FEEDBACK_FOR_COORDINATORS.format(id=row.id, user=user_id, text=display_safe(body))
        )
        return row

    async def preferences(self, user_id: int) -> MemberRow | None:
        """A member's stored reminder and time-zone choices (None: nothing chosen yet)."""
        return await self.db.get_member(user_id)

    async def active_series(self) -> list[SeriesRow]:
        """Series still adding sessions, for members to sign up for or export."""
        return await self.db.list_series(statuses=["active"])

    async def my_series(self, user_id: int) -> list[SeriesRow]:
        """The series (active or paused) a member signed up for as a whole."""
        # A community runs a handful of series, so asking each one needs no query of its own.
        return [
            series
            for series in await self.db.list_series(statuses=["active", "paused"])
            if user_id in await self.db.series_signup_user_ids(series.id)
        ]

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

    # --- teachers -----------------------------------------------------------------------------

    async def claim(self, actor: Actor, occurrence_id: int) -> OccurrenceRow:
        """A teacher claims a session; exactly one of two racing teachers wins."""
        require_teacher(actor, self.config.roles)
        occurrence = await self._open_for_signup(occurrence_id)
        try:
            await self.db.claim_teacher(occurrence.id, actor.user_id)
        except ConflictError:
            raise ConflictError(texts.ALREADY_CLAIMED.format(title=display_safe(occurrence.title))) from None
        await self._changed(occurrence)
        return occurrence

    async def release(self, actor: Actor, occurrence_id: int, reason: str) -> OccurrenceRow:
        """A teacher gives a session back (or a coordinator releases it); coordinators hear at once."""
        why = clean_text(reason, what="reason", max_length=MAX_REASON)
        occurrence = await self.session(occurrence_id)
        coordinator = is_coordinator(actor, self.config.roles)
        if not coordinator:
            require_teacher(actor, self.config.roles)
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is None:
            raise ConflictError(texts.NOT_CLAIMED.format(title=display_safe(occurrence.title)))
        if claim.teacher_id != actor.user_id and not coordinator:
            raise PermissionDeniedError(texts.NOT_YOUR_CLAIM)
        async with self.db.transaction():
            await self.db.release_teacher(occurrence.id, actor_id=actor.user_id, reason=why)
            before, after = await self.db.touch_occurrence(occurrence.id)
        await self.notices.announce(
            SessionChange(
                "teacher", before, after, actor.user_id, {"old_teacher": claim.teacher_id, "new_teacher": None}
            )
        )
        await self.announcer.to_coordinators(
            texts.RELEASED_FOR_COORDINATORS.format(
                title=display_safe(after.title),
                start=discord_timestamp(after.start_utc),
                teacher=claim.teacher_id,
                reason=display_safe(why),
            )
        )
        await self._changed(after)
        return after

    async def choose_practice(self, actor: Actor, occurrence_id: int, practice: str) -> OccurrenceRow:
        """The session's teacher (or a coordinator) picks the practice from the course's catalog."""
        name = find_practice(practice)
        occurrence = await self.session(occurrence_id)
        if not is_coordinator(actor, self.config.roles):
            require_teacher(actor, self.config.roles)
            claim = await self.db.get_teacher_claim(occurrence.id)
            if claim is None or claim.teacher_id != actor.user_id:
                raise PermissionDeniedError(texts.CLAIM_FIRST)
        _, after = await self.db.update_occurrence_details(occurrence.id, practice=name)
        await self.reminders_follow(after)
        await self._changed(after)
        return after

    # --- coordinators: series ----------------------------------------------------------------

    async def create_series(
        self,
        actor: Actor,
        *,
        title: str,
        weekly: str,
        starts_on: str | dt.date,
        duration_minutes: int,
        channel_id: int | None = None,
        interval_weeks: int = 1,
        until: str | dt.date | None = None,
        practice: str | None = None,
    ) -> tuple[SeriesRow, int]:
        """Create a weekly series at a Pacific time and store its sessions; returns it and how many."""
        require_coordinator(actor, self.config.roles)
        rule = WeeklyRule.parse(weekly, starts_on, interval_weeks, until)
        series = await self.db.create_series(
            title=clean_text(title, what="title", max_length=MAX_TITLE),
            weekdays=[WEEKDAY_CODES[day] for day in sorted(rule.weekdays)],
            local_time=rule.at,
            starts_on=rule.starts_on,
            until=rule.until,
            interval_weeks=rule.interval_weeks,
            duration_minutes=self._duration(duration_minutes),
            channel_id=self._session_channel(channel_id),
            default_practice=None if practice is None else find_practice(practice),
        )
        await self.db.add_audit(actor.user_id, "series.create", f"series:{series.id}", {"rule": rule.describe()})
        added = await self._expand_and_arm(series)
        return series, added

    async def edit_series(
        self,
        actor: Actor,
        series_id: int,
        *,
        title: str | None = None,
        weekly: str | None = None,
        duration_minutes: int | None = None,
        channel_id: int | None = None,
        practice: str | None = None,
    ) -> SeriesRow:
        """Change a series; its upcoming sessions follow, and members signed up hear of real changes."""
        require_coordinator(actor, self.config.roles)
        series = await self._series(series_id)
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = clean_text(title, what="title", max_length=MAX_TITLE)
        if weekly is not None:
            weekdays, at = parse_weekly(weekly)
            changes["weekdays"] = [WEEKDAY_CODES[day] for day in sorted(weekdays)]
            changes["local_time"] = at
        if duration_minutes is not None:
            changes["duration_minutes"] = self._duration(duration_minutes)
        if channel_id is not None:
            changes["channel_id"] = self._session_channel(channel_id)
        if practice is not None:
            changes["default_practice"] = find_practice(practice)
        if not changes:
            raise ScheduleError(texts.NOTHING_TO_CHANGE)
        updated = await self.db.update_series(series.id, **changes)
        await self.db.add_audit(
            actor.user_id, "series.edit", f"series:{series.id}", {key: str(value) for key, value in changes.items()}
        )
        await self._follow_series(actor, series, updated)
        return updated

    async def pause_series(self, actor: Actor, series_id: int) -> tuple[SeriesRow, int]:
        """Pause a series: its upcoming sessions are cancelled (members told) until it is resumed."""
        return await self._stop_series(actor, series_id, "paused")

    async def end_series(self, actor: Actor, series_id: int) -> tuple[SeriesRow, int]:
        """End a series for good: its upcoming sessions are cancelled and members told."""
        return await self._stop_series(actor, series_id, "ended")

    async def resume_series(self, actor: Actor, series_id: int) -> tuple[SeriesRow, int]:
        """Resume a paused series: sessions the pause cancelled come back (members told), new ones are added."""
        require_coordinator(actor, self.config.roles)
        series = await self._series(series_id)
        if series.status != "paused":
            raise ConflictError(texts.SERIES_NOT_PAUSED.format(title=display_safe(series.title), status=series.status))
        updated = await self.db.update_series(series.id, status="active")
        restored = 0
        for occurrence in await self._future_sessions(series.id, statuses=["cancelled"]):
            if occurrence.cancelled_by == "series":
                before, after = await self.db.restore_occurrence(occurrence.id)
                await self._announce(SessionChange("restored", before, after, actor.user_id))
                restored += 1
        await self.db.add_audit(actor.user_id, "series.resume", f"series:{series.id}", {"restored": restored})
        added = await self._expand_and_arm(updated)
        return updated, restored + added

    async def _stop_series(self, actor: Actor, series_id: int, status: SeriesStatus) -> tuple[SeriesRow, int]:
        require_coordinator(actor, self.config.roles)
        series = await self._series(series_id)
        if series.status == "ended":
            raise ConflictError(texts.SERIES_ENDED.format(title=display_safe(series.title)))
        updated = await self.db.update_series(series.id, status=status)
        cancelled = 0
        for occurrence in await self._future_sessions(series.id, statuses=["scheduled"]):
            before, after = await self.db.cancel_occurrence(occurrence.id, by="series")
            await self._announce(SessionChange("cancelled", before, after, actor.user_id))
            cancelled += 1
        await self.db.add_audit(actor.user_id, f"series.{status}", f"series:{series.id}", {"cancelled": cancelled})
        return updated, cancelled

    async def _follow_series(self, actor: Actor, old: SeriesRow, new: SeriesRow) -> None:
        """Carry a series edit to its upcoming sessions, pairing old and new sessions by Pacific date."""
        now = self.clock()
        new_starts = {
            utc_to_pacific(start).date(): start
            for start in rule_for(new).occurrences_between(now, now + self.horizon.length)
        }
        for occurrence in await self._future_sessions(new.id, statuses=["scheduled"]):
            day = utc_to_pacific(occurrence.recurrence_id).date()
            if day not in new_starts:
                before, after = await self.db.cancel_occurrence(occurrence.id, by="series")
                await self._announce(SessionChange("cancelled", before, after, actor.user_id))
                continue
            rule_start = new_starts[day]
            # A session moved on its own keeps its time; one that followed the rule follows it still.
            start = occurrence.start_utc if occurrence.is_moved else rule_start
            before, after = await self.db.rebase_occurrence(occurrence.id, recurrence_id=rule_start, start=start)
            if before.start_utc != after.start_utc:
                await self._announce(SessionChange("moved", before, after, actor.user_id))
            if new.channel_id != old.channel_id and after.channel_id == old.channel_id:
                before, after = await self.db.set_occurrence_channel(after.id, new.channel_id)
                await self._announce(SessionChange("channel", before, after, actor.user_id))
            if (new.title, new.duration_minutes, new.default_practice) != (
                old.title,
                old.duration_minutes,
                old.default_practice,
            ):
                _, after = await self.db.update_occurrence_details(
                    after.id, title=new.title, duration_minutes=new.duration_minutes, practice=new.default_practice
                )
                await self.reminders_follow(after)
                await self._changed(after)
        await self._expand_and_arm(new)

    # --- coordinators: single sessions ---------------------------------------------------------

    async def add_session(
        self,
        actor: Actor,
        *,
        start: str,
        duration_minutes: int,
        title: str,
        channel_id: int | None = None,
        practice: str | None = None,
    ) -> OccurrenceRow:
        """Add a one-off session at a Pacific wall-clock time."""
        require_coordinator(actor, self.config.roles)
        instant = self._future_start(start)
        occurrence = await self.db.add_one_off(
            start=instant,
            duration_minutes=self._duration(duration_minutes),
            channel_id=self._session_channel(channel_id),
            title=clean_text(title, what="title", max_length=MAX_TITLE),
            practice=None if practice is None else find_practice(practice),
        )
        await self.db.add_audit(actor.user_id, "session.add", f"occurrence:{occurrence.id}", {"start": start})
        await self.reminders_follow(occurrence)
        await self._changed(occurrence)
        return occurrence

    async def cancel_session(self, actor: Actor, occurrence_id: int, reason: str) -> OccurrenceRow:
        """Cancel one session; members signed up are told."""
        require_coordinator(actor, self.config.roles)
        why = clean_text(reason, what="reason", max_length=MAX_REASON)
        await self.session(occurrence_id)
        before, after = await self.db.cancel_occurrence(occurrence_id)
        await self.db.add_audit(actor.user_id, "session.cancel", f"occurrence:{after.id}", {"reason": why})
        await self._announce(SessionChange("cancelled", before, after, actor.user_id, {"reason": why}))
        return after

    async def move_session(self, actor: Actor, occurrence_id: int, start: str) -> OccurrenceRow:
        """Move one session to a new Pacific wall-clock time; members signed up see old and new."""
        require_coordinator(actor, self.config.roles)
        instant = self._future_start(start)
        current = await self.session(occurrence_id)
        if instant == current.start_utc:
            raise ScheduleError(texts.SAME_TIME)
        before, after = await self.db.move_occurrence(occurrence_id, instant)
        await self.db.add_audit(actor.user_id, "session.move", f"occurrence:{after.id}", {"start": start})
        await self._announce(SessionChange("moved", before, after, actor.user_id))
        return after

    async def set_session_channel(self, actor: Actor, occurrence_id: int, channel_id: int) -> OccurrenceRow:
        """Put one session in another session channel; members signed up are told."""
        require_coordinator(actor, self.config.roles)
        channel = self._session_channel(channel_id)
        current = await self.session(occurrence_id)
        if current.channel_id == channel:
            raise ScheduleError(texts.SAME_CHANNEL)
        before, after = await self.db.set_occurrence_channel(occurrence_id, channel)
        await self.db.add_audit(actor.user_id, "session.channel", f"occurrence:{after.id}", {"channel": channel})
        await self._announce(SessionChange("channel", before, after, actor.user_id))
        return after

    async def assign_teacher(self, actor: Actor, occurrence_id: int, teacher: Actor) -> OccurrenceRow:
        """A coordinator gives a session to a teacher (replacing any other); members hear of a change."""
        require_coordinator(actor, self.config.roles)
        if not is_teacher(teacher, self.config.roles):
            raise ConflictError(texts.NOT_A_TEACHER)
        occurrence = await self._open_for_signup(occurrence_id)
        previous = await self.db.get_teacher_claim(occurrence.id)
        if previous is not None and previous.teacher_id == teacher.user_id:
            return occurrence
        async with self.db.transaction():
            if previous is not None:
                await self.db.release_teacher(
                    occurrence.id, actor_id=actor.user_id, reason="reassigned by a coordinator"
                )
            await self.db.claim_teacher(occurrence.id, teacher.user_id)
            await self.db.add_audit(
                actor.user_id, "teacher.assign", f"occurrence:{occurrence.id}", {"teacher": teacher.user_id}
            )
            before, after = await self.db.touch_occurrence(occurrence.id)
        if previous is not None:
            details = {"old_teacher": previous.teacher_id, "new_teacher": teacher.user_id}
            await self.notices.announce(SessionChange("teacher", before, after, actor.user_id, details))
        await self._changed(after)
        return after

    # --- shared steps -------------------------------------------------------------------------

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

    async def _announce(self, change: SessionChange) -> None:
        await self.notices.announce(change)
        self.reminders.schedule(change.after)  # a cancelled session's timers are simply removed
        await self._changed(change.after)

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

    def _session_channel(self, channel_id: int | None) -> int:
        channels = self.config.channels
        if channel_id is None:
            return channels.default_session
        if channel_id not in channels.sessions:
            raise ScheduleError(texts.NOT_A_SESSION_CHANNEL)
        return channel_id

    def _duration(self, minutes: int) -> int:
        if not MIN_DURATION <= minutes <= MAX_DURATION:
            raise ScheduleError(texts.DURATION_RANGE.format(low=MIN_DURATION, high=MAX_DURATION, got=minutes))
        return minutes

    def _future_start(self, text: str) -> dt.datetime:
        instant = parse_pacific_datetime(text)
        if instant <= self.clock():
            raise ScheduleError(texts.START_IN_PAST.format(start=format_pacific(instant)))
        return instant
