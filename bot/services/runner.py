"""The session runner: what happens in a session's channel from just before it starts to its end.

Seed 002, section 3, is the spec. Each session goes through these steps, every one written to the
database (`session_runs`) before the bot acts on Discord, so a restart resumes where it was:

    scheduled --open--> open --begin (start + grace)--> teacher_led
                                                   \\--> welcome -> choosing -> recording | silent_sit
                                                                               -> resting
    any of them --close (end time)--> closed;  cancelled sessions never open.

- Teacher present at `begin` (the claimed teacher, or any teacher, who then claims it): the
  teacher leads; the bot stays silent unless the teacher asks it to play an approved recording or
  the bell.
- No teacher: the bot posts and speaks the official welcome words, then offers a choice between
  an approved recording and a silent sit of 10-20 minutes opened and closed by the bell. The first
  choice runs; with no choice in time, a silent sit of the default length. While the bot leads,
  no participant can speak (Stage audience / server mute) and the chat is read-only for
  non-teachers if configured. A teacher who arrives takes over: playback stops gently, the
  restrictions are lifted and the teacher leads.
- Close: playback stops, every restriction is restored (also after a restart), the Stage closes,
  and a short thank-you with the donation and sharing links is posted.

Discord is behind the `Room` protocol (bot.adapters.room); tests use a fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from bot import texts
from bot.config import Config
from bot.errors import ConflictError, NotFoundError, PermissionDeniedError
from bot.media.recordings import RecordingCatalog
from bot.model import Actor, OccurrenceRow, Recording, RunPhase, RunRow
from bot.ports import Alerts, PlaybackResult, Room
from bot.services.permissions import is_coordinator, is_teacher
from bot.storage import Database
from bot.timers import Timers
from bot.validation import display_safe

log = logging.getLogger(__name__)

# Phases in which the bot leads and participants stay silent.
BOT_LEADS: Final[tuple[RunPhase, ...]] = ("welcome", "choosing", "recording", "silent_sit", "resting")
SILENT_CHOICE_PREFIX: Final = "silent:"
RECORDING_CHOICE_PREFIX: Final = "recording:"


def job_id(step: str, occurrence_id: int) -> str:
    """The timer id of one runner step of one session, e.g. `begin:42`."""
    return f"{step}:{occurrence_id}"


class SessionRunner:
    """Runs every session through its lifecycle; timers are rebuilt from the database at start-up."""

    def __init__(
        self,
        db: Database,
        config: Config,
        recordings: Callable[[], RecordingCatalog],
        timers: Timers,
        room: Room,
        alerts: Alerts,
        clock: Callable[[], dt.datetime],
        *,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.recordings = recordings
        self.timers = timers
        self.room = room
        self.alerts = alerts
        self.clock = clock
        # Run when a session opens: e.g. synthesise the spoken welcome reading the first time it may be needed.
        self.prepare = prepare
        self._opening = asyncio.Lock()

    # --- timers -------------------------------------------------------------------------------

    def arm(self, occurrence: OccurrenceRow) -> None:
        """(Re)arm the open, begin and close timers of a scheduled session (cancelled: disarm)."""
        for step in ("open", "begin", "close"):
            self.timers.cancel(job_id(step, occurrence.id))
        if occurrence.status == "cancelled":
            return
        sessions = self.config.sessions
        now = self.clock()
        opens = occurrence.start_utc - dt.timedelta(minutes=sessions.open_minutes_before)
        begins = occurrence.start_utc + dt.timedelta(minutes=sessions.grace_minutes)
        if occurrence.status == "scheduled":
            self.timers.schedule_at(job_id("open", occurrence.id), max(opens, now), self.open, occurrence.id)
            self.timers.schedule_at(job_id("begin", occurrence.id), max(begins, now), self.begin, occurrence.id)
        self.timers.schedule_at(job_id("close", occurrence.id), max(occurrence.end_utc, now), self.close, occurrence.id)

    async def rebuild(self, horizon: dt.timedelta) -> int:
        """At start-up: resume runs in progress and arm every upcoming session; returns sessions armed."""
        now = self.clock()
        armed = 0
        for run in await self.db.active_runs():
            occurrence = await self.db.get_occurrence(run.occurrence_id)
            if occurrence is None:
                continue
            armed += 1
            await self._resume(occurrence, run)
        upcoming = await self.db.list_occurrences(now - dt.timedelta(hours=6), now + horizon, statuses=["scheduled"])
        for occurrence in upcoming:
            if occurrence.end_utc <= now:
                continue  # it would have run while the bot was down; nothing to do now
            self.arm(occurrence)
            armed += 1
        return armed

    async def _resume(self, occurrence: OccurrenceRow, run: RunRow) -> None:
        """Carry on a run that was in progress when the bot stopped."""
        now = self.clock()
        self.timers.schedule_at(job_id("close", occurrence.id), max(occurrence.end_utc, now), self.close, occurrence.id)
        if occurrence.end_utc <= now:
            return  # the close timer fires at once and restores everything
        if run.phase == "open":
            begins = occurrence.start_utc + dt.timedelta(minutes=self.config.sessions.grace_minutes)
            self.timers.schedule_at(job_id("begin", occurrence.id), max(begins, now), self.begin, occurrence.id)
        elif run.phase == "welcome":
            # The welcome was cut off; say it again from the start.
            self.timers.schedule_at(job_id("welcome", occurrence.id), now, self._welcome_and_offer, occurrence.id)
        elif run.phase == "choosing":
            ends = run.phase_ends_at or now
            self.timers.schedule_at(job_id("choice", occurrence.id), max(ends, now), self.choice_timeout, occurrence.id)
        elif run.phase == "recording" and run.choice:
            skip = (now - run.phase_started_at).total_seconds()
            self.timers.schedule_at(
                job_id("play", occurrence.id), now, self._play_choice, occurrence.id, run.choice, skip
            )
        elif run.phase == "silent_sit":
            ends = run.phase_ends_at or now
            self.timers.schedule_at(job_id("sit", occurrence.id), max(ends, now), self.end_silent_sit, occurrence.id)
        # Nobody saw who arrived while the bot was away: a timer job (as every step that touches Discord) greets them.
        self.timers.schedule_at(job_id("arrivals", occurrence.id), now, self._arrived_while_away, occurrence.id)

    async def _arrived_while_away(self, occurrence_id: int) -> None:
        """After a restart: count everyone present, silence them if the bot leads, or let a teacher take over."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            return
        for person in await self.room.present(occurrence):
            await self.member_joined(occurrence.id, person)

    # --- steps --------------------------------------------------------------------------------

    async def open(self, occurrence_id: int) -> None:
        """A few minutes before the start: open the Stage or channel and post the session card."""
        # One at a time: when a session is already due as the bot starts, its open and begin timers
        # fire together and begin opens it too; each would otherwise post its own card.
        async with self._opening:
            occurrence = await self.db.get_occurrence(occurrence_id)
            if occurrence is None or occurrence.status != "scheduled":
                return
            venue = await self.room.venue(occurrence)
            await self.db.start_run(occurrence.id, venue)
            if self.prepare is not None:
                await self.prepare()
            await self.db.set_occurrence_status(occurrence.id, "open")
            await self.room.open(occurrence, venue)
            # People already in the channel count as arriving now (attendance for the popularity figures),
            # those who signed up only: nobody else's presence is recorded.
            for person in await self.room.present(occurrence):
                await self.count_attendance(occurrence.id, person.user_id)

    async def begin(self, occurrence_id: int) -> None:
        """At start + grace: the teacher leads, or the bot welcomes the group and offers a choice."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.status in ("cancelled", "closed"):
            return
        # Opens it if its open step has not run; if that step is running now, waits for it to finish.
        await self.open(occurrence.id)
        run = await self.db.get_run(occurrence.id)
        if run is None:
            return
        if run.phase != "open":
            return
        present = await self.room.present(occurrence)
        teacher = await self._teacher_among(occurrence, present)
        if teacher is not None:
            await self._teacher_leads(occurrence, teacher)
            return
        if await self.db.set_phase(occurrence.id, "welcome", expected=("open",)) is None:
            return
        await self.db.set_occurrence_status(occurrence.id, "no_teacher")
        restrictions = await self.room.restrict(occurrence, run.venue, present)
        await self.db.update_restrictions(occurrence.id, restrictions)
        await self._drop_superseded_unmutes(restrictions)
        await self._welcome_and_offer(occurrence.id)

    async def _welcome_and_offer(self, occurrence_id: int) -> None:
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase != "welcome":
            return
        words = self.config.welcome.words
        await self.room.post(occurrence, texts.WELCOME_POST.format(words=words))
        reading = self._welcome_reading()
        if reading is not None:
            result = await self._play(occurrence, reading)
            if not result.finished and not result.refused:
                return  # stopped: a teacher took over or the session closed
        ends = self.clock() + dt.timedelta(minutes=self.config.sessions.choice_timeout_minutes)
        if await self.db.set_phase(occurrence.id, "choosing", ends_at=ends, expected=("welcome",)) is None:
            return
        await self.room.offer_choice(occurrence, self.practice_recordings(), self.config.sessions.silent_sit_minutes)
        self.timers.schedule_at(job_id("choice", occurrence.id), ends, self.choice_timeout, occurrence.id)

    async def choose(self, occurrence_id: int, member: Actor, choice: str) -> str:
        """A participant's choice: 'recording:<id>' or 'silent:<minutes>'. The first choice runs."""
        occurrence = await self._session(occurrence_id)
        label = self._check_choice(choice)
        run = await self.db.set_phase(
            occurrence.id,
            "recording" if choice.startswith(RECORDING_CHOICE_PREFIX) else "silent_sit",
            expected=("choosing",),
            choice=choice,
            chosen_by=member.user_id,
            ends_at=self._sit_end(choice),
        )
        if run is None:
            raise ConflictError(texts.CHOICE_ALREADY_MADE)
        self.timers.cancel(job_id("choice", occurrence.id))
        await self.room.post(occurrence, texts.CHOICE_MADE.format(choice=display_safe(label)))
        self.timers.schedule_at(
            job_id("play", occurrence.id), self.clock(), self._play_choice, occurrence.id, choice, 0.0
        )
        return label

    async def choice_timeout(self, occurrence_id: int) -> None:
        """Nobody chose in time: a silent sit of the default length."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            return
        choice = f"{SILENT_CHOICE_PREFIX}{self.config.sessions.default_silent_sit_minutes}"
        run = await self.db.set_phase(
            occurrence.id, "silent_sit", expected=("choosing",), choice=choice, ends_at=self._sit_end(choice)
        )
        if run is None:
            return
        await self.room.post(
            occurrence, texts.CHOICE_DEFAULT.format(minutes=self.config.sessions.default_silent_sit_minutes)
        )
        await self._play_choice(occurrence.id, choice, 0.0)

    async def _play_choice(self, occurrence_id: int, choice: str, skip_seconds: float) -> None:
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase not in ("recording", "silent_sit"):
            return
        if choice.startswith(RECORDING_CHOICE_PREFIX):
            recording = self.recordings().get(choice.removeprefix(RECORDING_CHOICE_PREFIX))
            result = await self._play(occurrence, recording, skip_seconds=skip_seconds)
            if result.finished or result.refused:
                await self._rest(occurrence)
            return
        # A silent sit: the bell opens it, a timer ends it with the bell.
        if skip_seconds == 0.0:
            await self._bell(occurrence)
        assert run.phase_ends_at is not None
        self.timers.schedule_at(job_id("sit", occurrence.id), run.phase_ends_at, self.end_silent_sit, occurrence.id)

    async def end_silent_sit(self, occurrence_id: int) -> None:
        """The silent sit is over: the bell, then quiet until the session ends."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase != "silent_sit":
            return
        await self._bell(occurrence)
        await self._rest(occurrence)

    async def _rest(self, occurrence: OccurrenceRow) -> None:
        if await self.db.set_phase(occurrence.id, "resting", expected=("recording", "silent_sit")) is not None:
            await self.room.post(occurrence, texts.PRACTICE_ENDED)

    async def close(self, occurrence_id: int) -> None:
        """At the end: stop audio, restore every restriction, close the Stage, thank everyone."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            return
        for step in ("open", "begin", "choice", "play", "sit", "welcome"):
            self.timers.cancel(job_id(step, occurrence.id))
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase == "closed":
            return  # never opened (cancelled, or the bot was down throughout), or already closed
        await self.db.set_phase(occurrence.id, "closed")
        await self.room.stop_playback(occurrence)
        await self._restore(occurrence, run)
        await self.room.close(occurrence, run.venue)
        await self.db.close_attendance(occurrence.id, self.clock())
        if occurrence.status not in ("cancelled", "closed"):
            await self.db.set_occurrence_status(occurrence.id, "closed")
        links = self.config.links
        await self.room.post(occurrence, texts.SESSION_CLOSED.format(donate=links.donate, share=links.share))

    # --- people arriving, leaving, asking to speak -----------------------------------------------

    async def member_joined(self, occurrence_id: int, member: Actor) -> None:
        """Someone joined the session's channel: attendance, a teacher taking over, or silence them."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase == "closed":
            return
        await self.count_attendance(occurrence.id, member.user_id)
        if run.phase not in BOT_LEADS:
            return
        if await self._may_teach(occurrence, member):
            await self.teacher_arrived(occurrence.id, member)
            return
        change = await self.room.silence(occurrence, run.venue, member)
        await self._remember(occurrence.id, change)

    async def count_attendance(self, occurrence_id: int, user_id: int) -> bool:
        """Record an arrival, but only for a member who signed up (or agreed, with the card's Count me in)."""
        if not await self.db.is_signed_up(occurrence_id, user_id):
            return False
        return await self.db.record_join(occurrence_id, user_id, self.clock())

    async def member_left(self, occurrence_id: int, member_id: int) -> None:
        """Someone left: attendance; a server mute the bot set is lifted (now, or when they next connect)."""
        run = await self.db.get_run(occurrence_id)
        if run is None:
            return
        await self.db.record_leave(occurrence_id, member_id, self.clock())
        muted = list(run.restrictions.get("muted", []))
        if member_id in muted:
            # Discord lifts a server mute only while the member is connected: do it when they return.
            await self.db.add_pending_unmute(member_id)
            muted.remove(member_id)
            await self.db.update_restrictions(occurrence_id, {**run.restrictions, "muted": muted})

    async def asked_to_speak(self, occurrence_id: int, member: Actor) -> None:
        """Someone raised their hand on the Stage or unmuted: while the bot leads, gently decline."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase not in BOT_LEADS:
            return
        if await self._may_teach(occurrence, member):
            await self.teacher_arrived(occurrence.id, member)
            return
        change = await self.room.silence(occurrence, run.venue, member)
        await self._remember(occurrence.id, change)
        declined = set(run.restrictions.get("declined", []))
        if member.user_id not in declined:
            # Said once per person per session, so the chat does not fill with the same words.
            await self.room.post(occurrence, texts.SPEAK_DECLINED)
            await self._remember(occurrence.id, {"declined": [member.user_id]})

    async def teacher_arrived(self, occurrence_id: int, teacher: Actor) -> None:
        """A teacher came while the bot leads: stop gently, lift the restrictions, hand over."""
        occurrence = await self._session(occurrence_id)
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase not in (*BOT_LEADS, "open"):
            return
        await self._teacher_leads(occurrence, teacher)

    async def teacher_play(self, occurrence_id: int, teacher: Actor, recording_id: str) -> Recording:
        """The leading teacher asks the bot to play an approved recording or the bell."""
        occurrence = await self._session(occurrence_id)
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase != "teacher_led":
            raise ConflictError(texts.TEACHER_PLAY_NOT_LEADING)
        if not (is_teacher(teacher, self.config.roles) or is_coordinator(teacher, self.config.roles)):
            raise PermissionDeniedError(texts.NOT_ALLOWED)  # NEEDS_TEACHER speaks of claiming sessions
        recording = self.recordings().get(recording_id)
        self.timers.schedule_at(
            job_id("play", occurrence.id), self.clock(), self._teacher_playback, occurrence.id, recording.id
        )
        return recording

    async def _teacher_playback(self, occurrence_id: int, recording_id: str) -> None:
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is not None:
            await self._play(occurrence, self.recordings().get(recording_id))

    async def running_sessions(self) -> list[OccurrenceRow]:
        """The sessions running now (opened, not closed)."""
        rows = [await self.db.get_occurrence(run.occurrence_id) for run in await self.db.active_runs()]
        return [occurrence for occurrence in rows if occurrence is not None]

    async def take_pending_unmute(self, member_id: int) -> bool:
        """Whether a server mute the bot set on this member waits to be lifted; forgotten once asked."""
        return await self.db.take_pending_unmute(member_id)

    async def running_in(self, channel_id: int) -> OccurrenceRow | None:
        """The session running (opened, not closed) in a channel, if any."""
        for run in await self.db.active_runs():
            occurrence = await self.db.get_occurrence(run.occurrence_id)
            if occurrence is not None and occurrence.channel_id == channel_id:
                return occurrence
        return None

    # --- helpers ------------------------------------------------------------------------------

    async def _teacher_leads(self, occurrence: OccurrenceRow, teacher: Actor) -> None:
        run = await self.db.set_phase(occurrence.id, "teacher_led", expected=("open", *BOT_LEADS))
        if run is None:
            return
        for step in ("choice", "play", "sit", "welcome"):
            self.timers.cancel(job_id(step, occurrence.id))
        await self.room.stop_playback(occurrence)
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is None:
            try:
                await self.db.claim_teacher(occurrence.id, teacher.user_id)
            except ConflictError:
                log.info("session %d: claimed meanwhile by someone else", occurrence.id)
        await self._restore(occurrence, run)
        await self.db.set_occurrence_status(occurrence.id, "teacher_led")
        await self.room.post(occurrence, texts.TEACHER_LEADS.format(teacher=teacher.user_id))

    async def _restore(self, occurrence: OccurrenceRow, run: RunRow) -> None:
        current = await self.db.get_run(occurrence.id) or run
        left_over = await self.room.restore(occurrence, current.venue, dict(current.restrictions))
        for user_id in left_over.get("pending_unmute", []):
            await self.db.add_pending_unmute(user_id)
        await self.db.update_restrictions(occurrence.id, {})

    async def _remember(self, occurrence_id: int, change: dict[str, Any]) -> None:
        """Merge one more change into the run's restrictions (lists are unions)."""
        if not change:
            return
        run = await self.db.get_run(occurrence_id)
        if run is None:
            return
        merged = dict(run.restrictions)
        for key, value in change.items():
            if isinstance(value, list):
                merged[key] = sorted(set(merged.get(key, [])) | set(value))
            elif key not in merged:
                merged[key] = value  # the first record of a setting holds the original to restore
        await self.db.update_restrictions(occurrence_id, merged)
        await self._drop_superseded_unmutes(change)

    async def _drop_superseded_unmutes(self, change: dict[str, Any]) -> None:
        """A mute now recorded in a run is lifted at its close, so no pending unmute may lift it sooner."""
        for user_id in change.get("muted", []):
            await self.db.take_pending_unmute(user_id)

    async def _teacher_among(self, occurrence: OccurrenceRow, present: Sequence[Actor]) -> Actor | None:
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is not None:
            for person in present:
                if person.user_id == claim.teacher_id:
                    return person
        for person in present:
            if is_teacher(person, self.config.roles) and claim is None:
                return person
        return None

    async def _may_teach(self, occurrence: OccurrenceRow, member: Actor) -> bool:
        if not is_teacher(member, self.config.roles):
            return False
        claim = await self.db.get_teacher_claim(occurrence.id)
        return claim is None or claim.teacher_id == member.user_id

    async def _play(
        self, occurrence: OccurrenceRow, recording: Recording, *, skip_seconds: float = 0.0
    ) -> PlaybackResult:
        result = await self.room.play(occurrence, recording, skip_seconds=skip_seconds)
        if result.refused:
            await self.alerts.to_coordinators(
                texts.RECORDING_REFUSED.format(
                    title=display_safe(recording.title), id=recording.id, reason=result.reason
                )
            )
        return result

    async def _bell(self, occurrence: OccurrenceRow) -> None:
        bells = self.recordings().by_kind("bell")
        if bells:
            await self._play(occurrence, bells[0])

    def _welcome_reading(self) -> Recording | None:
        readings = self.recordings().by_kind("welcome-reading")
        return readings[0] if readings else None

    def practice_recordings(self) -> list[Recording]:
        """The approved recordings participants may choose from."""
        return self.recordings().by_kind("practice")

    def _check_choice(self, choice: str) -> str:
        if choice.startswith(SILENT_CHOICE_PREFIX):
            minutes = choice.removeprefix(SILENT_CHOICE_PREFIX)
            if not minutes.isdigit() or int(minutes) not in self.config.sessions.silent_sit_minutes:
                raise NotFoundError(texts.NO_SUCH_CHOICE)
            return texts.SILENT_SIT_LABEL.format(minutes=int(minutes))
        if choice.startswith(RECORDING_CHOICE_PREFIX):
            recording_id = choice.removeprefix(RECORDING_CHOICE_PREFIX)
            try:
                recording = self.recordings().get(recording_id)
            except NotFoundError:
                raise NotFoundError(texts.NO_SUCH_CHOICE) from None
            if recording.kind != "practice":
                raise NotFoundError(texts.NO_SUCH_CHOICE)
            return recording.title
        raise NotFoundError(texts.NO_SUCH_CHOICE)

    def _sit_end(self, choice: str) -> dt.datetime | None:
        if not choice.startswith(SILENT_CHOICE_PREFIX):
            return None
        return self.clock() + dt.timedelta(minutes=int(choice.removeprefix(SILENT_CHOICE_PREFIX)))

    async def _session(self, occurrence_id: int) -> OccurrenceRow:
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            raise NotFoundError(texts.NO_SUCH_SESSION.format(id=occurrence_id))
        return occurrence
