"""What teachers do: claim and release sessions, choose the practice."""

from __future__ import annotations

from bot import texts
from bot.delivery.notices import SessionChange
from bot.errors import ConflictError, PermissionDeniedError
from bot.model import (
    Actor,
    OccurrenceRow,
)
from bot.schedule.rules import when
from bot.services.permissions import is_coordinator, require_teacher
from bot.services.practices import find_practice
from bot.services.sessions.base import (
    MAX_REASON,
    UPCOMING_STATUSES,
    SessionBase,
    SessionSummary,
)
from bot.validation import clean_text, display_safe


class TeacherActions(SessionBase):
    """What teachers do: claim and release sessions, choose the practice."""

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
            details = {"old_teacher": claim.teacher_id, "new_teacher": None}
            await self.notices.queue(SessionChange("teacher", before, after, actor.user_id, details))
        self.notices.send_queued()
        await self.announcer.to_coordinators(
            texts.RELEASED_FOR_COORDINATORS.format(
                title=display_safe(after.title),
                start=when(after.start_utc),
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
