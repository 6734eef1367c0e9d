"""What members do: sign up and out, reminders, time zone, feedback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot import texts
from bot.errors import ConflictError, RateLimitedError, ScheduleError
from bot.model import (
    FeedbackRow,
    MemberRow,
    ReminderChannel,
    SeriesRow,
    SignupSource,
)
from bot.schedule.timezones import validate_timezone
from bot.services.sessions.base import (
    MAX_FEEDBACK,
    SessionBase,
    SessionSummary,
)
from bot.validation import clean_text, display_safe


class MemberActions(SessionBase):
    """What members do: sign up and out, reminders, time zone, feedback."""

    async def sign_up(self, user_id: int, occurrence_id: int, source: SignupSource = "command") -> bool:
        """Sign a member up for one session; False if they already were."""
        occurrence = await self._open_for_signup(occurrence_id)
        if source != "event":
            # Marking "Interested" on an event has no reply to carry a refusal, and Discord paces it.
            self.limits.spend(user_id, "changes")
        added = await self.db.sign_up(occurrence.id, user_id, source)
        if added:
            await self._member_changed(user_id)
        return added

    async def sign_out(self, user_id: int, occurrence_id: int) -> bool:
        """Take a member off one session; False if they were not signed up."""
        await self.session(occurrence_id)
        self.limits.spend(user_id, "changes")
        return await self.db.sign_out(occurrence_id, user_id)

    async def sign_up_series(self, user_id: int, series_id: int) -> bool:
        """Sign a member up for every upcoming session of a series; False if they already were."""
        series = await self._series(series_id)
        if series.status == "ended":
            raise ConflictError(texts.SERIES_ENDED.format(title=display_safe(series.title)))
        self.limits.spend(user_id, "changes")
        added = await self.db.sign_up_series(series.id, user_id)
        if added:
            await self._member_changed(user_id)
        return added

    async def sign_out_series(self, user_id: int, series_id: int) -> bool:
        """Take a member off a series' upcoming sessions; False if they had not signed up for it."""
        await self._series(series_id)
        self.limits.spend(user_id, "changes")
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
        self.limits.spend(user_id, "changes")
        # retry_dms: the member picked direct messages themselves and may have opened them since a
        # refusal; try again (another refusal falls back to the thread and marks them closed again).
        if retry_dms and channel == "dm":
            await self.db.set_member(user_id, reminder_offsets=offsets, reminder_channel=channel, dm_closed=False)
        else:
            await self.db.set_member(user_id, reminder_offsets=offsets, reminder_channel=channel)

    async def set_timezone(self, user_id: int, name: str | None) -> str | None:
        """Remember a member's IANA time zone (None clears it); returns the stored name."""
        zone = None if name is None else validate_timezone(name)
        self.limits.spend(user_id, "changes")
        await self.db.set_member(user_id, timezone=zone)
        await self._member_changed(user_id)
        return zone

    async def stop_reminders(self, user_id: int) -> bool:
        """No more reminders for this member (notices of changes still come); False if they had none already."""
        prefs = await self.db.get_member(user_id)
        if prefs is not None and prefs.reminder_offsets == ():
            return False
        self.limits.spend(user_id, "changes")
        await self.db.set_member(user_id, reminder_offsets=[])
        return True

    async def add_feedback(
        self, user_id: int, text: str, occurrence_id: int | None = None, *, anonymous: bool = False
    ) -> FeedbackRow:
        """Store feedback (without the author when anonymous) and pass it on to the coordinators."""
        body = clean_text(text, what="feedback", max_length=MAX_FEEDBACK, multiline=True)
        if occurrence_id is not None:
            await self.session(occurrence_id)
        try:
            self.limits.spend(user_id, "feedback")
        except RateLimitedError as error:
            # Nothing lost: the member gets their words back to send later.
            raise RateLimitedError(
                error.message + "\n" + texts.FEEDBACK_KEPT_FOR_YOU.format(text=display_safe(body)[:1500])
            ) from None
        row = await self.db.add_feedback(None if anonymous else user_id, body, occurrence_id)
        template = texts.FEEDBACK_ANONYMOUS_FOR_COORDINATORS if anonymous else texts.FEEDBACK_FOR_COORDINATORS
        await self.announcer.to_coordinators(template.format(id=row.id, user=user_id, text=display_safe(body)))
        return row

    async def preferences(self, user_id: int) -> MemberRow | None:
        """A member's stored reminder and time-zone choices (None: nothing chosen yet)."""
        return await self.db.get_member(user_id)

    async def my_series(self, user_id: int) -> list[SeriesRow]:
        """The series (active or paused) a member signed up for as a whole."""
        # A community runs a handful of series, so asking each one needs no query of its own.
        return [
            series
            for series in await self.db.list_series(statuses=["active", "paused"])
            if user_id in await self.db.series_signup_user_ids(series.id)
        ]

    async def my_sessions(self, user_id: int) -> list[SessionSummary]:
        """The sessions a member is signed up for that have not ended."""
        now = self.clock()
        rows = await self.db.list_user_occurrences(user_id, now - dt.timedelta(hours=4))
        return await self._summaries([row for row in rows if row.end_utc > now and row.status != "cancelled"])
