"""What coordinators do: series and single sessions, assigning teachers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from bot import texts
from bot.delivery.notices import SessionChange
from bot.errors import ConflictError, ScheduleError
from bot.model import (
    WEEKDAY_CODES,
    Actor,
    OccurrenceRow,
    SeriesRow,
    SeriesStatus,
)
from bot.schedule.rules import (
    WeeklyRule,
    discord_timestamp,
    format_pacific,
    parse_pacific_datetime,
    parse_weekly,
    rule_for,
    utc_to_pacific,
)
from bot.services.permissions import is_teacher, require_coordinator
from bot.services.practices import find_practice
from bot.services.sessions.base import (
    MAX_DURATION,
    MAX_REASON,
    MAX_TITLE,
    MIN_DURATION,
    UPCOMING_STATUSES,
    SessionBase,
)
from bot.texts import room as room_texts
from bot.validation import clean_text, display_safe

# Coordinators' listings show the series still running first, then the paused, then the ended.
SERIES_STATUS_ORDER: Final[dict[SeriesStatus, int]] = {"active": 0, "paused": 1, "ended": 2}


class CoordinatorActions(SessionBase):
    """What coordinators do: series and single sessions, assigning teachers."""

    async def series_by_status(self) -> list[SeriesRow]:
        """Every series, active ones first, then paused, then ended; by number within each."""
        found = await self.db.list_series()
        return sorted(found, key=lambda series: (SERIES_STATUS_ORDER[series.status], series.id))

    async def changeable_sessions(self) -> list[OccurrenceRow]:
        """Sessions not yet over, cancelled or closed, up to the horizon: those a coordinator may still change."""
        now = self.clock()
        # From the longest a session can last, so one under way can still be changed.
        rows = await self.db.list_occurrences(
            now - dt.timedelta(minutes=MAX_DURATION), now + self.horizon.length, statuses=UPCOMING_STATUSES
        )
        return [row for row in rows if row.end_utc > now]

    async def series_signups_ahead(self, series_id: int) -> tuple[list[OccurrenceRow], int]:
        """A series' scheduled sessions still to come and their sign-ups in all: what ending it would cancel."""
        upcoming = await self.upcoming_in_series(series_id)
        summaries = await self._summaries(upcoming)
        return upcoming, sum(summary.signups for summary in summaries)

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
        # The edit, its sessions following it and the notices of those changes commit together.
        async with self.db.transaction():
            updated = await self.db.update_series(series.id, **changes)
            await self.db.add_audit(
                actor.user_id, "series.edit", f"series:{series.id}", {key: str(value) for key, value in changes.items()}
            )
            followed = await self._follow_series(actor, series, updated)
        await self._after_changes(*followed)
        await self._expand_and_arm(updated)
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
        async with self.db.transaction():
            updated = await self.db.update_series(series.id, status="active")
            restored: list[OccurrenceRow] = []
            for occurrence in await self._future_sessions(series.id, statuses=["cancelled"]):
                if occurrence.cancelled_by == "series":
                    before, after = await self.db.restore_occurrence(occurrence.id)
                    await self.notices.queue(SessionChange("restored", before, after, actor.user_id))
                    restored.append(after)
            await self.db.add_audit(actor.user_id, "series.resume", f"series:{series.id}", {"restored": len(restored)})
        await self._after_changes(*restored)
        added = await self._expand_and_arm(updated)
        return updated, len(restored) + added

    async def _stop_series(self, actor: Actor, series_id: int, status: SeriesStatus) -> tuple[SeriesRow, int]:
        require_coordinator(actor, self.config.roles)
        series = await self._series(series_id)
        if series.status == "ended":
            raise ConflictError(texts.SERIES_ENDED.format(title=display_safe(series.title)))
        # The series' new status, every cancellation and every notice of them commit together.
        async with self.db.transaction():
            updated = await self.db.update_series(series.id, status=status)
            cancelled: list[OccurrenceRow] = []
            for occurrence in await self._future_sessions(series.id, statuses=["scheduled"]):
                before, after = await self.db.cancel_occurrence(occurrence.id, by="series")
                await self.notices.queue(SessionChange("cancelled", before, after, actor.user_id))
                cancelled.append(after)
            await self.db.add_audit(
                actor.user_id, f"series.{status}", f"series:{series.id}", {"cancelled": len(cancelled)}
            )
        await self._after_changes(*cancelled)
        return updated, len(cancelled)

    async def _follow_series(self, actor: Actor, old: SeriesRow, new: SeriesRow) -> list[OccurrenceRow]:
        """Carry a series edit to its upcoming sessions (in the edit's transaction), pairing them by Pacific date.

        Queues a notice for each change members should hear of; returns the sessions as they now are.
        """
        now = self.clock()
        followed: list[OccurrenceRow] = []
        new_starts = {
            utc_to_pacific(start).date(): start
            for start in rule_for(new).occurrences_between(now, now + self.horizon.length)
        }
        for occurrence in await self._future_sessions(new.id, statuses=["scheduled"]):
            day = utc_to_pacific(occurrence.recurrence_id).date()
            if day not in new_starts:
                before, after = await self.db.cancel_occurrence(occurrence.id, by="series")
                await self.notices.queue(SessionChange("cancelled", before, after, actor.user_id))
                followed.append(after)
                continue
            rule_start = new_starts[day]
            # A session moved on its own keeps its time; one that followed the rule follows it still.
            start = occurrence.start_utc if occurrence.is_moved else rule_start
            before, after = await self.db.rebase_occurrence(occurrence.id, recurrence_id=rule_start, start=start)
            if before.start_utc != after.start_utc:
                await self.notices.queue(SessionChange("moved", before, after, actor.user_id))
            if new.channel_id != old.channel_id and after.channel_id == old.channel_id:
                before, after = await self.db.set_occurrence_channel(after.id, new.channel_id)
                await self.notices.queue(SessionChange("channel", before, after, actor.user_id))
            if (new.title, new.duration_minutes, new.default_practice) != (
                old.title,
                old.duration_minutes,
                old.default_practice,
            ):
                _, after = await self.db.update_occurrence_details(
                    after.id, title=new.title, duration_minutes=new.duration_minutes, practice=new.default_practice
                )
            followed.append(after)
        return followed

    async def add_session(
        self,
        actor: Actor,
        *,
        start: str,
        duration_minutes: int,
        title: str,
        channel_id: int | None = None,
        practice: str | None = None,
        overlap_confirmed: bool = False,
    ) -> OccurrenceRow:
        """Add a one-off session at a Pacific wall-clock time (an overlap with another must be confirmed)."""
        require_coordinator(actor, self.config.roles)
        instant = self._future_start(start)
        minutes = self._duration(duration_minutes)
        cleaned = clean_text(title, what="title", max_length=MAX_TITLE)
        overlaps = await self._overlapping(instant, instant + dt.timedelta(minutes=minutes), None)
        if overlaps and not overlap_confirmed:
            raise ConflictError(room_texts.OVERLAP_CONFIRM.format(sessions=_listed(overlaps)))
        occurrence = await self.db.add_one_off(
            start=instant,
            duration_minutes=minutes,
            channel_id=self._session_channel(channel_id),
            title=cleaned,
            practice=None if practice is None else find_practice(practice),
        )
        await self.db.add_audit(
            actor.user_id, "session.add", f"occurrence:{occurrence.id}", {"start": start, "overlaps": len(overlaps)}
        )
        if overlaps:
            await self._overlap_noted(actor, occurrence, overlaps)
        await self.reminders_follow(occurrence)
        await self._changed(occurrence)
        return occurrence

    async def cancel_session(self, actor: Actor, occurrence_id: int, reason: str) -> OccurrenceRow:
        """Cancel one session; members signed up are told."""
        require_coordinator(actor, self.config.roles)
        why = clean_text(reason, what="reason", max_length=MAX_REASON)
        await self.session(occurrence_id)
        async with self.db.transaction():
            before, after = await self.db.cancel_occurrence(occurrence_id)
            await self.db.add_audit(actor.user_id, "session.cancel", f"occurrence:{after.id}", {"reason": why})
            await self.notices.queue(SessionChange("cancelled", before, after, actor.user_id, {"reason": why}))
        await self._after_changes(after)
        return after

    async def move_session(
        self, actor: Actor, occurrence_id: int, start: str, *, overlap_confirmed: bool = False
    ) -> OccurrenceRow:
        """Move one session to a new Pacific wall-clock time; members signed up see old and new."""
        require_coordinator(actor, self.config.roles)
        instant = self._future_start(start)
        current = await self.session(occurrence_id)
        if instant == current.start_utc:
            raise ScheduleError(texts.SAME_TIME)
        overlaps = await self._overlapping(instant, instant + (current.end_utc - current.start_utc), current.id)
        if overlaps and not overlap_confirmed:
            raise ConflictError(room_texts.OVERLAP_CONFIRM.format(sessions=_listed(overlaps)))
        async with self.db.transaction():
            before, after = await self.db.move_occurrence(occurrence_id, instant)
            await self.db.add_audit(
                actor.user_id, "session.move", f"occurrence:{after.id}", {"start": start, "overlaps": len(overlaps)}
            )
            await self.notices.queue(SessionChange("moved", before, after, actor.user_id))
        await self._after_changes(after)
        if overlaps:
            await self._overlap_noted(actor, after, overlaps)
        return after

    async def _overlapping(self, start: dt.datetime, end: dt.datetime, exclude: int | None) -> list[OccurrenceRow]:
        """Upcoming sessions at the same time: the bot may have to lead both, and it has one voice."""
        found = await self.db.list_occurrences(
            start - dt.timedelta(minutes=MAX_DURATION), end, statuses=["scheduled", "open", "teacher_led", "no_teacher"]
        )
        return [o for o in found if o.id != exclude and o.start_utc < end and o.end_utc > start]

    async def _overlap_noted(self, actor: Actor, occurrence: OccurrenceRow, overlaps: list[OccurrenceRow]) -> None:
        await self.announcer.to_coordinators(
            room_texts.OVERLAP_CONFIRMED.format(
                title=display_safe(occurrence.title),
                when=discord_timestamp(occurrence.start_utc),
                sessions=_listed(overlaps),
                actor=f"<@{actor.user_id}>",
            )
        )

    async def set_session_channel(self, actor: Actor, occurrence_id: int, channel_id: int) -> OccurrenceRow:
        """Put one session in another session channel; members signed up are told."""
        require_coordinator(actor, self.config.roles)
        channel = self._session_channel(channel_id)
        current = await self.session(occurrence_id)
        if current.channel_id == channel:
            raise ScheduleError(texts.SAME_CHANNEL)
        async with self.db.transaction():
            before, after = await self.db.set_occurrence_channel(occurrence_id, channel)
            await self.db.add_audit(actor.user_id, "session.channel", f"occurrence:{after.id}", {"channel": channel})
            await self.notices.queue(SessionChange("channel", before, after, actor.user_id))
        await self._after_changes(after)
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
                await self.notices.queue(SessionChange("teacher", before, after, actor.user_id, details))
        self.notices.send_queued()
        await self._changed(after)
        return after

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


def _listed(sessions: list[OccurrenceRow]) -> str:
    """Sessions as members see them: title and time (Discord timestamps), at most five."""
    items = [
        room_texts.OVERLAP_ITEM.format(title=display_safe(o.title), when=discord_timestamp(o.start_utc))
        for o in sessions[:5]
    ]
    return ", ".join(items) + (f" and {len(sessions) - 5} more" if len(sessions) > 5 else "")
