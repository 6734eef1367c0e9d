"""The session runner: what happens in a session's channel from just before it starts to its end.

Seed 002, section 3, is the spec. Each session goes through these steps, every one written to the
database (`session_runs`) before the bot acts on Discord, so a restart resumes where it was:

    scheduled --open--> open --begin (start + grace)--> teacher_led
                                                   \\--> welcome -> choosing -> recording | silent_sit
                                                                  ^---- time left ----/      -> resting
    any of them --close (end time)--> closing --every restriction lifted--> closed

- Teacher present at `begin`: the claimed teacher if present, else any member holding the Teacher
  role now (the claimed one is late past the grace minutes; the claim moves to whoever leads and
  the coordinators are told). On a Stage the bot invites the leading teacher to speak. The bot
  stays silent unless the leading teacher asks it to play an approved recording or the bell.
- No teacher: the bot posts and speaks the official welcome words, then offers a choice between
  an approved recording and a silent sit of 10-20 minutes opened and closed by the bell (with
  optional interval bells). The first choice runs; with no choice in time, a silent sit of the
  default length. When it ends with time left, the choice is offered again, until the close.
  While the bot leads, no participant can speak (Stage audience / server mute), the chat is
  read-only for non-teachers if configured, and in voice channels cameras and screen sharing
  rest; coordinators and teachers are never silenced. Late joiners are told why, in words.
- One bot has one voice connection per server and it never moves while playing: a second
  bot-led session at the same time is guided in words only (written welcome, silent sits with
  their timing in the chat). A voice drop is said in the chat; the bot reconnects and carries on
  from where it was, and after repeated failure continues in words; coordinators are alerted.
- A teacher who arrives takes over: playback stops gently, the restrictions are lifted and the
  teacher leads.
- Close, restore first: playback stops, each restriction is lifted on its own; what fails stays
  recorded and is retried (at start-up too) until it succeeds, and after a few failures the
  coordinators are told once what to undo by hand. The run is `closed` only when nothing is left.

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
from bot.ports import Alerts, PlaybackResult, Room, VoiceTrouble
from bot.schedule.rules import discord_timestamp
from bot.services.permissions import is_coordinator, is_teacher
from bot.storage import Database
from bot.texts import room as room_texts
from bot.timers import Timers
from bot.validation import display_safe

log = logging.getLogger(__name__)

# Phases in which the bot leads and participants stay silent.
BOT_LEADS: Final[tuple[RunPhase, ...]] = ("welcome", "choosing", "recording", "silent_sit", "resting")
# Phases of a run that is still going (a closing run is only being restored).
RUNNING: Final[tuple[RunPhase, ...]] = ("open", "teacher_led", *BOT_LEADS)
SILENT_CHOICE_PREFIX: Final = "silent:"
RECORDING_CHOICE_PREFIX: Final = "recording:"
# Voice attempts at one item before the room carries on in words only: the first try and two more.
VOICE_ATTEMPTS: Final = 3
# Restores are retried after these delays (the last one repeats) until they succeed.
RESTORE_RETRY_DELAYS: Final = (
    dt.timedelta(seconds=20),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
)
# After this many failed attempts the coordinators are told (once) what to undo by hand.
RESTORE_ALERT_AFTER: Final = 3
# A late-joiner note is posted at most this often, so the chat does not fill with it.
LATE_NOTE_EVERY: Final = dt.timedelta(minutes=3)
# A resumed recording starts this much before where it broke off, so no words are lost.
RESUME_OVERLAP_SECONDS: Final = 2.0
STEPS: Final = ("open", "begin", "choice", "play", "sit", "welcome", "bell", "arrivals")


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
    ) -> None:
        self.db = db
        self.config = config
        self.recordings = recordings
        self.timers = timers
        self.room = room
        self.alerts = alerts
        self.clock = clock
        self._opening = asyncio.Lock()
        # Failed voice attempts per session (in memory: after a restart the bot may try afresh).
        self._voice_failures: dict[int, int] = {}
        self._late_note_at: dict[int, dt.datetime] = {}

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
        """At start-up: restore what is left to undo, resume runs in progress, arm upcoming sessions."""
        now = self.clock()
        armed = 0
        resumed: set[int] = set()
        for run in await self.db.active_runs():
            occurrence = await self.db.get_occurrence(run.occurrence_id)
            if occurrence is None:
                continue
            armed += 1
            resumed.add(occurrence.id)
            await self._resume(occurrence, run)
        # Runs that still record restrictions whatever their phase (e.g. closed by an older version
        # before its mutes were lifted): lift them now. A run the bot still leads keeps its own.
        for run in await self.db.runs_to_restore():
            if run.phase in BOT_LEADS and run.occurrence_id in resumed:
                continue
            self.timers.schedule_at(job_id("restore", run.occurrence_id), now, self.retry_restore, run.occurrence_id)
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
        if run.phase == "closing":
            # Killed while closing: finish the close (restores first, then the rest).
            self.timers.schedule_at(job_id("close", occurrence.id), now, self.close, occurrence.id)
            return
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
            self._arm_interval_bell(occurrence.id, run)
        elif run.phase == "teacher_led" and run.restrictions:
            self.timers.schedule_at(job_id("restore", occurrence.id), now, self.retry_restore, occurrence.id)
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
        """A few minutes before the start: start the event, open the Stage or channel, post the card."""
        # One at a time: when a session is already due as the bot starts, its open and begin timers
        # fire together and begin opens it too; each would otherwise post its own card.
        async with self._opening:
            occurrence = await self.db.get_occurrence(occurrence_id)
            if occurrence is None or occurrence.status != "scheduled":
                return
            if occurrence.end_utc <= self.clock():
                return  # its time passed while the bot could not act (asleep, or its clock jumped): nothing to open
            venue = await self.room.venue(occurrence)
            await self.db.start_run(occurrence.id, venue)
            # Open before anything optional: nothing below may keep the session from opening.
            await self.db.set_occurrence_status(occurrence.id, "open")
            # On a Stage the bot is its speaker from the start (Discord ends a Stage with no speaker),
            # unless its one voice connection is leading another session.
            speak = venue == "stage" and await self._voice_holder(occurrence.id) is None
            try:
                await self.room.open(occurrence, venue, speak=speak)
            except Exception:
                log.exception("session %d: opening the room on Discord failed; the session is open", occurrence.id)
            # People already in the channel count as arriving now (attendance for the popularity figures),
            # those who signed up only: nobody else's presence is recorded.
            for person in await self.room.present(occurrence):
                await self.count_attendance(occurrence.id, person.user_id)

    async def begin(self, occurrence_id: int) -> None:
        """At start + grace: a teacher leads, or the bot welcomes the group and offers a choice."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.status in ("cancelled", "closed"):
            return
        # Opens it if its open step has not run; if that step is running now, waits for it to finish.
        await self.open(occurrence.id)
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase != "open":
            return
        try:
            await self.room.ensure_stage(occurrence)
        except Exception:
            log.exception("session %d: could not reopen the Stage", occurrence.id)
        present = await self.room.present(occurrence)
        teacher = await self._leader_among(occurrence, present)
        if teacher is not None:
            await self._teacher_leads(occurrence, teacher)
            return
        await self._bot_leads(occurrence, present, expected=("open",))

    async def _bot_leads(
        self, occurrence: OccurrenceRow, present: Sequence[Actor], *, expected: tuple[RunPhase, ...]
    ) -> None:
        run = await self.db.set_phase(occurrence.id, "welcome", expected=expected)
        if run is None:
            return
        await self.db.set_occurrence_status(occurrence.id, "no_teacher")
        if await self._voice_holder(occurrence.id) is not None:
            # The one voice connection leads another session and never moves while it does.
            await self.db.set_text_guided(occurrence.id)
            await self.alerts.to_coordinators(
                room_texts.OVERLAP_TEXT_GUIDED_FOR_COORDINATORS.format(
                    title=display_safe(occurrence.title), channel=occurrence.channel_id
                )
            )
        restrictions = await self.room.restrict(occurrence, run.venue, present)
        await self._remember(occurrence.id, restrictions)
        await self._welcome_and_offer(occurrence.id)

    async def _welcome_and_offer(self, occurrence_id: int, *, post_words: bool = True) -> None:
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase != "welcome":
            return
        if post_words:
            await self.room.post(occurrence, texts.WELCOME_POST.format(words=self.config.welcome.words))
        if run.text_guided:
            await self.room.post(occurrence, room_texts.TEXT_GUIDED_OVERLAP)
            await self._start_text_sit(occurrence, expected=("welcome",))
            return
        reading = self._welcome_reading()
        if reading is not None:
            result = await self._play(occurrence, reading)
            if result.failed:
                if await self._voice_failed(
                    occurrence, result, retry=lambda: self._welcome_and_offer(occurrence_id, post_words=False)
                ):
                    return
            elif not result.finished and not result.refused:
                return  # stopped: a teacher took over or the session closed
            run = await self.db.get_run(occurrence_id)
            if run is None or run.phase != "welcome" or run.text_guided:
                return
        await self._offer(occurrence, expected=("welcome",))

    async def _offer(
        self, occurrence: OccurrenceRow, *, expected: tuple[RunPhase, ...], intro: str | None = None
    ) -> None:
        """Offer the choice: approved recordings and silent sits that fit in the time left."""
        ends = self.clock() + dt.timedelta(minutes=self.config.sessions.choice_timeout_minutes)
        if await self.db.set_phase(occurrence.id, "choosing", ends_at=ends, expected=expected) is None:
            return
        if intro is not None:
            await self.room.post(occurrence, intro)
        await self.room.offer_choice(occurrence, self._fitting_recordings(occurrence), self._fitting_sits(occurrence))
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
        """Nobody chose in time: a silent sit of the default length (or the longest that still fits)."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            return
        minutes = self._default_sit(occurrence)
        choice = f"{SILENT_CHOICE_PREFIX}{minutes}"
        run = await self.db.set_phase(
            occurrence.id, "silent_sit", expected=("choosing",), choice=choice, ends_at=self._sit_end(choice)
        )
        if run is None:
            return
        await self.room.post(occurrence, texts.CHOICE_DEFAULT.format(minutes=minutes))
        await self._play_choice(occurrence.id, choice, 0.0)

    async def _play_choice(self, occurrence_id: int, choice: str, skip_seconds: float) -> None:
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase not in ("recording", "silent_sit"):
            return
        if choice.startswith(RECORDING_CHOICE_PREFIX):
            recording = self.recordings().get(choice.removeprefix(RECORDING_CHOICE_PREFIX))
            result = await self._play(occurrence, recording, skip_seconds=skip_seconds)
            if result.failed:
                resume_at = max(0.0, result.position_seconds - RESUME_OVERLAP_SECONDS)
                await self._voice_failed(
                    occurrence, result, retry=lambda: self._play_choice(occurrence_id, choice, resume_at)
                )
                return
            if result.finished or result.refused:
                await self._practice_over(occurrence, expected=("recording",))
            return
        # A silent sit: the bell opens it (or words, when the room is guided in words), a timer ends it.
        assert run.phase_ends_at is not None
        if skip_seconds == 0.0:
            await self.room.post(
                occurrence,
                room_texts.SILENT_SIT_TIMING.format(
                    ends=discord_timestamp(run.phase_ends_at, "t"), minutes=choice.removeprefix(SILENT_CHOICE_PREFIX)
                ),
            )
            if not run.text_guided:
                await self._bell(occurrence)
        self.timers.schedule_at(job_id("sit", occurrence.id), run.phase_ends_at, self.end_silent_sit, occurrence.id)
        self._arm_interval_bell(occurrence.id, run)

    async def _start_text_sit(self, occurrence: OccurrenceRow, *, expected: tuple[RunPhase, ...]) -> None:
        """Guided in words only: a silent sit of the default length (or what fits), its timing in the chat."""
        minutes = self._default_sit(occurrence)
        choice = f"{SILENT_CHOICE_PREFIX}{minutes}"
        run = await self.db.set_phase(
            occurrence.id, "silent_sit", expected=expected, choice=choice, ends_at=self._sit_end(choice)
        )
        if run is not None:
            await self._play_choice(occurrence.id, choice, 0.0)

    def _arm_interval_bell(self, occurrence_id: int, run: RunRow) -> None:
        every = self.config.sessions.interval_bell_minutes
        if not every or run.phase_ends_at is None:
            return
        step = dt.timedelta(minutes=every)
        now = self.clock()
        at = run.phase_started_at + step
        while at <= now:
            at += step
        # Never right on top of the closing bell.
        if at < run.phase_ends_at - dt.timedelta(seconds=30):
            self.timers.schedule_at(job_id("bell", occurrence_id), at, self.interval_bell, occurrence_id)

    async def interval_bell(self, occurrence_id: int) -> None:
        """A soft mark of time inside a long silent sit."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase != "silent_sit" or run.phase_ends_at is None:
            return
        if run.text_guided:
            await self.room.post(
                occurrence, room_texts.INTERVAL_WORDS.format(ends=discord_timestamp(run.phase_ends_at, "t"))
            )
        else:
            await self._bell(occurrence)
        self._arm_interval_bell(occurrence_id, run)

    async def end_silent_sit(self, occurrence_id: int) -> None:
        """The silent sit is over: the bell (or words), then another practice if there is time."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase != "silent_sit":
            return
        self.timers.cancel(job_id("bell", occurrence_id))
        if run.text_guided:
            await self.room.post(occurrence, room_texts.SILENT_SIT_OVER_WORDS)
        else:
            await self._bell(occurrence)
        await self._practice_over(occurrence, expected=("silent_sit",))

    async def _practice_over(self, occurrence: OccurrenceRow, *, expected: tuple[RunPhase, ...]) -> None:
        """A practice ended: with time left, the choice again (words only: another sit); else rest."""
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase not in expected:
            return
        if not self._time_for_another(occurrence):
            await self._rest(occurrence, expected=expected)
            return
        if run.text_guided:
            await self._start_text_sit(occurrence, expected=expected)
            return
        await self._offer(occurrence, expected=expected, intro=room_texts.ANOTHER_PRACTICE)

    async def _rest(self, occurrence: OccurrenceRow, *, expected: tuple[RunPhase, ...]) -> None:
        if await self.db.set_phase(occurrence.id, "resting", expected=expected) is not None:
            await self.room.post(occurrence, texts.PRACTICE_ENDED)

    async def close(self, occurrence_id: int) -> None:
        """At the end: stop audio, lift every restriction (retried until done), close the Stage, thank everyone."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None:
            return
        for step in STEPS:
            self.timers.cancel(job_id(step, occurrence.id))
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase == "closed":
            return  # never opened (cancelled, or the bot was down throughout), or already closed
        if run.phase != "closing":
            await self.db.set_phase(occurrence.id, "closing")
        # Restore first: each step below may fail, and none of them may keep anyone muted.
        steps: tuple[tuple[str, Callable[[], Awaitable[None]]], ...] = (
            ("stop the audio", lambda: self.room.stop_playback(occurrence)),
            ("lift the restrictions", lambda: self._lift(occurrence)),
            ("close the room", lambda: self.room.close(occurrence, run.venue)),
        )
        for what, action in steps:
            try:
                await action()
            except Exception:
                log.exception("session %d: could not %s at close", occurrence.id, what)
        self._voice_failures.pop(occurrence.id, None)
        self._late_note_at.pop(occurrence.id, None)
        await self.db.close_attendance(occurrence.id, self.clock())
        thank = occurrence.status not in ("cancelled", "closed")
        if thank:
            await self.db.set_occurrence_status(occurrence.id, "closed")
        await self._closed_if_restored(occurrence.id)
        if thank:
            links = self.config.links
            await self.room.post(occurrence, texts.SESSION_CLOSED.format(donate=links.donate, share=links.share))

    async def retry_restore(self, occurrence_id: int) -> None:
        """Try again to lift what a session still records (after a close, a hand-over or a restart)."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or (run.phase in BOT_LEADS and occurrence.end_utc > self.clock()):
            return  # the bot leads again: its restrictions are meant
        if run.restrictions:
            await self._lift(occurrence)
        await self._closed_if_restored(occurrence_id)

    async def _closed_if_restored(self, occurrence_id: int) -> None:
        run = await self.db.get_run(occurrence_id)
        if run is not None and run.phase == "closing" and not run.restrictions:
            await self.db.set_phase(occurrence_id, "closed", expected=("closing",))

    async def _lift(self, occurrence: OccurrenceRow) -> None:
        """Lift each recorded restriction on its own; keep what failed, retry it later, alert once."""
        run = await self.db.get_run(occurrence.id)
        if run is None or not run.restrictions:
            return
        outcome = await self.room.restore(occurrence, run.venue, dict(run.restrictions))
        for user_id in outcome.pending_unmute:
            await self.db.add_pending_unmute(user_id)
        # Only what was there when we started is replaced: a mute recorded meanwhile stays recorded.
        current = await self.db.get_run(occurrence.id)
        latest = dict(current.restrictions) if current is not None else {}
        for key, value in run.restrictions.items():
            if latest.get(key) == value:
                latest.pop(key)
        for key, value in outcome.left.items():
            latest[key] = value
        await self.db.update_restrictions(occurrence.id, latest)
        if not outcome.left:
            self.timers.cancel(job_id("restore", occurrence.id))
            await self.db.note_restore_attempt(occurrence.id, failed=False)
            return
        noted = await self.db.note_restore_attempt(occurrence.id, failed=True)
        attempts = noted.restore_attempts if noted is not None else 1
        if attempts >= RESTORE_ALERT_AFTER and noted is not None and not noted.restore_alerted:
            # Marked before it is sent: told once, even if a restart follows right away.
            await self.db.mark_restore_alerted(occurrence.id)
            await self.alerts.to_coordinators(
                room_texts.RESTORE_BY_HAND.format(
                    title=display_safe(occurrence.title),
                    when=discord_timestamp(occurrence.start_utc),
                    channel=occurrence.channel_id,
                    problems="\n".join(outcome.problems) or "•",
                )
            )
        delay = RESTORE_RETRY_DELAYS[min(attempts, len(RESTORE_RETRY_DELAYS)) - 1]
        self.timers.schedule_at(
            job_id("restore", occurrence.id), self.clock() + delay, self.retry_restore, occurrence.id
        )

    # --- people arriving, leaving, asking to speak -----------------------------------------------

    async def member_joined(self, occurrence_id: int, member: Actor) -> None:
        """Someone joined the session's channel: attendance, a teacher taking over, or silence them."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        run = await self.db.get_run(occurrence_id)
        if occurrence is None or run is None or run.phase not in RUNNING:
            return
        await self.count_attendance(occurrence.id, member.user_id)
        if run.phase == "teacher_led":
            if await self._leads(occurrence, member):
                await self._invite(occurrence, member)
            return
        if run.phase not in BOT_LEADS:
            return
        if await self._may_take_over(occurrence, member):
            await self.teacher_arrived(occurrence.id, member)
            return
        if self._never_silenced(member):
            return
        change = await self.room.silence(occurrence, run.venue, member)
        await self._remember(occurrence.id, change)
        await self._late_joiner_note(occurrence, run)

    async def _late_joiner_note(self, occurrence: OccurrenceRow, run: RunRow) -> None:
        """Tell, in words and naming nobody, why someone who just came cannot speak, and that they may leave."""
        now = self.clock()
        last = self._late_note_at.get(occurrence.id)
        if last is not None and now - last < LATE_NOTE_EVERY:
            return
        self._late_note_at[occurrence.id] = now
        video = room_texts.LATE_JOINER_VIDEO if run.venue == "voice" else ""
        await self.room.post(occurrence, room_texts.LATE_JOINER.format(video=video))

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
        if await self._may_take_over(occurrence, member):
            await self.teacher_arrived(occurrence.id, member)
            return
        if self._never_silenced(member):
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

    async def teacher_role_removed(self, member: Actor) -> list[OccurrenceRow]:
        """Someone lost the Teacher role: their claims are released (coordinators told); they lead no more."""
        if is_teacher(member, self.config.roles):
            return []
        now = self.clock()
        released: list[OccurrenceRow] = []
        for occurrence in await self.db.list_occurrences(
            now - dt.timedelta(hours=6),
            now + dt.timedelta(days=self.config.sessions.horizon_days + 1),
            statuses=["scheduled", "open", "teacher_led", "no_teacher"],
        ):
            if occurrence.end_utc <= now:
                continue
            claim = await self.db.get_teacher_claim(occurrence.id)
            if claim is None or claim.teacher_id != member.user_id:
                continue
            await self.db.release_teacher(occurrence.id, actor_id=None, reason="the Teacher role was removed")
            released.append(occurrence)
            run = await self.db.get_run(occurrence.id)
            if run is not None and run.phase == "teacher_led":
                # They were leading: another teacher present leads, or the bot does.
                present = [p for p in await self.room.present(occurrence) if p.user_id != member.user_id]
                other = next((p for p in present if is_teacher(p, self.config.roles)), None)
                if other is not None:
                    await self._teacher_leads(occurrence, other, expected=("teacher_led",))
                else:
                    await self._bot_leads(occurrence, [*present, member], expected=("teacher_led",))
        if released:
            sessions = ", ".join(
                room_texts.OVERLAP_ITEM.format(title=display_safe(o.title), when=discord_timestamp(o.start_utc))
                for o in released
            )
            await self.alerts.to_coordinators(
                room_texts.TEACHER_ROLE_LOST.format(teacher=member.user_id, sessions=sessions)
            )
        return released

    async def teacher_play(self, occurrence_id: int, teacher: Actor, recording_id: str) -> Recording:
        """The leading teacher asks the bot to play an approved recording or the bell."""
        occurrence = await self._session(occurrence_id)
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase != "teacher_led":
            raise ConflictError(texts.TEACHER_PLAY_NOT_LEADING)
        claim = await self.db.get_teacher_claim(occurrence.id)
        if not is_teacher(teacher, self.config.roles) or claim is None or claim.teacher_id != teacher.user_id:
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
        """The session running (opened, not closing or closed) in a channel, if any."""
        for run in await self.db.active_runs():
            if run.phase not in RUNNING:
                continue
            occurrence = await self.db.get_occurrence(run.occurrence_id)
            if occurrence is not None and occurrence.channel_id == channel_id:
                return occurrence
        return None

    # --- helpers ------------------------------------------------------------------------------

    async def _teacher_leads(
        self, occurrence: OccurrenceRow, teacher: Actor, *, expected: tuple[RunPhase, ...] = ("open", *BOT_LEADS)
    ) -> None:
        run = await self.db.set_phase(occurrence.id, "teacher_led", expected=expected)
        if run is None:
            return
        for step in ("choice", "play", "sit", "welcome", "bell"):
            self.timers.cancel(job_id(step, occurrence.id))
        await self.room.stop_playback(occurrence)
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is not None and claim.teacher_id != teacher.user_id:
            # The claimed teacher is not here (or no longer a teacher): whoever leads holds the session.
            await self.db.release_teacher(occurrence.id, actor_id=None, reason="another teacher took over")
            await self.alerts.to_coordinators(
                room_texts.TEACHER_TOOK_OVER.format(
                    title=display_safe(occurrence.title),
                    when=discord_timestamp(occurrence.start_utc),
                    claimed=claim.teacher_id,
                    teacher=teacher.user_id,
                )
            )
            claim = None
        if claim is None:
            try:
                await self.db.claim_teacher(occurrence.id, teacher.user_id)
            except ConflictError:
                log.info("session %d: claimed meanwhile by someone else", occurrence.id)
        try:
            await self._lift(occurrence)
        except Exception:
            log.exception("session %d: lifting the restrictions for the teacher failed; retrying", occurrence.id)
            self.timers.schedule_at(
                job_id("restore", occurrence.id),
                self.clock() + RESTORE_RETRY_DELAYS[0],
                self.retry_restore,
                occurrence.id,
            )
        await self.db.set_occurrence_status(occurrence.id, "teacher_led")
        await self._invite(occurrence, teacher)
        await self.room.post(occurrence, texts.TEACHER_LEADS.format(teacher=teacher.user_id))

    async def _invite(self, occurrence: OccurrenceRow, teacher: Actor) -> None:
        try:
            await self.room.invite_to_speak(occurrence, teacher)
        except Exception:
            log.exception("session %d: could not invite the teacher to speak", occurrence.id)

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
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                # The first record of each overwrite holds the original to restore.
                merged[key] = {**value, **merged[key]}
            elif key not in merged:
                merged[key] = value  # the first record of a setting holds the original to restore
        await self.db.update_restrictions(occurrence_id, merged)
        await self._drop_superseded_unmutes(change)

    async def _drop_superseded_unmutes(self, change: dict[str, Any]) -> None:
        """A mute now recorded in a run is lifted at its close, so no pending unmute may lift it sooner."""
        for user_id in change.get("muted", []):
            await self.db.take_pending_unmute(user_id)

    def _never_silenced(self, member: Actor) -> bool:
        """Teachers and coordinators keep their voice: they may need to step in."""
        return is_teacher(member, self.config.roles) or is_coordinator(member, self.config.roles)

    async def _leader_among(self, occurrence: OccurrenceRow, present: Sequence[Actor]) -> Actor | None:
        """The claimed teacher if present (and still a teacher), else any teacher present."""
        teachers = [person for person in present if is_teacher(person, self.config.roles)]
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is not None:
            for person in teachers:
                if person.user_id == claim.teacher_id:
                    return person
        return teachers[0] if teachers else None

    async def _leads(self, occurrence: OccurrenceRow, member: Actor) -> bool:
        """Whether this member is the session's leading teacher."""
        if not is_teacher(member, self.config.roles):
            return False
        claim = await self.db.get_teacher_claim(occurrence.id)
        return claim is not None and claim.teacher_id == member.user_id

    async def _may_take_over(self, occurrence: OccurrenceRow, member: Actor) -> bool:
        """While the bot leads (the grace minutes are over): the claimed teacher, or any teacher if they are absent."""
        if not is_teacher(member, self.config.roles):
            return False
        claim = await self.db.get_teacher_claim(occurrence.id)
        if claim is None or claim.teacher_id == member.user_id:
            return True
        present = {person.user_id for person in await self.room.present(occurrence)}
        return claim.teacher_id not in present

    async def _voice_holder(self, occurrence_id: int) -> int | None:
        """Another session the bot's one voice connection leads now, if any."""
        for run in await self.db.active_runs():
            if run.occurrence_id != occurrence_id and run.phase in BOT_LEADS and not run.text_guided:
                return run.occurrence_id
        return None

    async def _play(
        self, occurrence: OccurrenceRow, recording: Recording, *, skip_seconds: float = 0.0
    ) -> PlaybackResult:
        async def on_trouble(trouble: VoiceTrouble) -> None:
            words = room_texts.VOICE_DROPPED if trouble == "dropped" else room_texts.VOICE_BACK
            await self.room.post(occurrence, words)

        try:
            result = await self.room.play(occurrence, recording, skip_seconds=skip_seconds, on_trouble=on_trouble)
        except Exception as error:  # a broken connection must never leave the room in silence without a word
            log.exception("session %d: playing %r failed", occurrence.id, recording.id)
            result = PlaybackResult(
                finished=False, failed=True, reason=str(error) or type(error).__name__, position_seconds=skip_seconds
            )
        if result.refused:
            await self.alerts.to_coordinators(
                texts.RECORDING_REFUSED.format(
                    title=display_safe(recording.title), id=recording.id, reason=result.reason
                )
            )
        elif result.finished:
            self._voice_failures.pop(occurrence.id, None)
        return result

    async def _voice_failed(
        self, occurrence: OccurrenceRow, result: PlaybackResult, *, retry: Callable[[], Any]
    ) -> bool:
        """The voice broke: try again a few times, then carry on in words. True when it took over the flow."""
        run = await self.db.get_run(occurrence.id)
        if run is None or run.phase not in BOT_LEADS:
            return True
        failures = self._voice_failures.get(occurrence.id, 0) + 1
        self._voice_failures[occurrence.id] = failures
        if failures < VOICE_ATTEMPTS:
            await self.room.post(occurrence, room_texts.VOICE_RETRYING)
            await retry()
            return True
        await self.db.set_text_guided(occurrence.id)
        await self.room.post(occurrence, room_texts.VOICE_GAVE_UP)
        await self._start_text_sit(occurrence, expected=(run.phase,))
        await self.alerts.to_coordinators(
            room_texts.VOICE_FAILED_FOR_COORDINATORS.format(
                title=display_safe(occurrence.title),
                channel=occurrence.channel_id,
                attempts=failures,
                reason=display_safe(result.reason or "the voice connection was lost"),
            )
        )
        return True

    async def _bell(self, occurrence: OccurrenceRow) -> None:
        bells = self.recordings().by_kind("bell")
        if bells:
            result = await self._play(occurrence, bells[0])
            if result.failed:
                log.warning("session %d: the bell could not be played: %s", occurrence.id, result.reason)

    def _welcome_reading(self) -> Recording | None:
        readings = self.recordings().by_kind("welcome-reading")
        return readings[0] if readings else None

    def practice_recordings(self) -> list[Recording]:
        """The approved recordings participants may choose from."""
        return self.recordings().by_kind("practice")

    def _minutes_left(self, occurrence: OccurrenceRow) -> float:
        return (occurrence.end_utc - self.clock()).total_seconds() / 60

    def _fitting_sits(self, occurrence: OccurrenceRow) -> list[int]:
        """The sit lengths that end before the close; in a short session, the shortest anyway (the close ends it)."""
        left = self._minutes_left(occurrence)
        lengths = self.config.sessions.silent_sit_minutes
        return [minutes for minutes in lengths if minutes <= left] or [min(lengths)]

    def _fitting_recordings(self, occurrence: OccurrenceRow) -> list[Recording]:
        left_seconds = self._minutes_left(occurrence) * 60
        return [r for r in self.practice_recordings() if r.duration_seconds <= left_seconds]

    def _default_sit(self, occurrence: OccurrenceRow) -> int:
        """The default sit if it ends before the close, else the longest that does (none does: the default)."""
        left = self._minutes_left(occurrence)
        ending_in_time = [m for m in self.config.sessions.silent_sit_minutes if m <= left]
        default = self.config.sessions.default_silent_sit_minutes
        if default in ending_in_time or not ending_in_time:
            return default
        return max(ending_in_time)

    def _time_for_another(self, occurrence: OccurrenceRow) -> bool:
        """Whether another practice fits before the close (the shortest silent sit)."""
        return self._minutes_left(occurrence) >= min(self.config.sessions.silent_sit_minutes)

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
