"""The core, assembled: every service the bot runs on, wired together, with no Discord in sight.

The Discord layer supplies two small adapters (a Messenger that sends ledger rows, an Announcer
that posts to the volunteers' channels); tests supply fakes. `start()` is the start-up sequence:
the database is the source of truth, so the horizon is extended and every timer is rebuilt from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from bot.delivery.dispatch import Dispatcher
from bot.delivery.ledger import Ledger
from bot.delivery.notices import Notices
from bot.delivery.reminders import RebuildReport, ReminderScheduler
from bot.errors import PracticeCirclesError, RecordingError
from bot.media.recordings import RecordingCatalog, load_recordings
from bot.media.welcome_audio import ensure_welcome_reading
from bot.model import Actor, OccurrenceRow
from bot.ports import Announcer, BoardPublisher, EventBoard, Messenger, PrivateRoute, Room
from bot.services.alerts import UnclaimedAlerts
from bot.services.board import ScheduleBoard
from bot.services.calendars import CalendarFeeds
from bot.services.clocks import ClockChanges
from bot.services.events_mirror import EventsMirror
from bot.services.horizon import Horizon
from bot.services.limits import RateLimits
from bot.services.permissions import require_coordinator
from bot.services.privacy import Privacy
from bot.services.reports import Reports
from bot.services.runner import SessionRunner
from bot.services.sessions import SessionService
from bot.services.setup_report import SetupReport
from bot.storage import Database
from bot.texts import coordinators as coordinator_texts
from bot.texts import room as room_texts
from bot.timers import Timers
from bot.validation import display_safe

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (reference counting still frees what it can).

    Rebuilding the timers makes a few objects per timer, hundreds of thousands with 10,000 upcoming
    sessions; each time the collector reached its oldest generation meanwhile it walked every live
    object, which was a third of start-up. The bot collects once when it is ready instead.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class Core:
    """The bot's core services, readable without Discord."""

    config: Config
    db: Database
    recordings: RecordingCatalog
    timers: Timers
    clock: Callable[[], dt.datetime]
    ledger: Ledger
    dispatcher: Dispatcher
    reminders: ReminderScheduler
    notices: Notices
    horizon: Horizon
    sessions: SessionService
    alerts: UnclaimedAlerts
    runner: SessionRunner
    reports: Reports
    calendars: CalendarFeeds
    setup_report: SetupReport
    limits: RateLimits
    clocks: ClockChanges
    privacy: Privacy
    board: ScheduleBoard | None = None

    @classmethod
    def assemble(
        cls,
        config: Config,
        db: Database,
        recordings: RecordingCatalog,
        *,
        messenger: Messenger,
        announcer: Announcer,
        room: Room,
        clock: Callable[[], dt.datetime] = utc_now,
        timers: Timers | None = None,
        board: BoardPublisher | None = None,
        private_route: PrivateRoute | None = None,
    ) -> Core:
        """Wire the services together over one database and one set of timers."""
        # Not `timers or Timers()`: a Timers with no jobs yet is falsy (it has __len__).
        timers = timers if timers is not None else Timers()
        ledger = Ledger(db)
        dispatcher = Dispatcher(db, ledger, timers, messenger, clock)
        horizon = Horizon(db, dt.timedelta(days=config.sessions.horizon_days), clock)
        reminders = ReminderScheduler(
            db,
            ledger,
            timers,
            dispatcher,
            allowed_offsets=config.reminders.allowed_offsets_minutes,
            default_offsets=config.reminders.default_offsets_minutes,
            horizon=horizon.length,
            clock=clock,
        )
        notices = Notices(db, ledger, dispatcher, clock)
        limits = RateLimits(config.limits, clock)
        sessions = SessionService(
            db,
            config,
            horizon=horizon,
            reminders=reminders,
            notices=notices,
            announcer=announcer,
            clock=clock,
            limits=limits,
        )
        clocks = ClockChanges(
            db,
            ledger,
            dispatcher,
            notice_ahead=dt.timedelta(days=config.reminders.time_change_notice_days),
            horizon=horizon.length,
            clock=clock,
        )
        sessions.listeners.append(clocks.follow)
        sessions.member_listeners.append(clocks.scan_member)
        schedule_board = None
        if board is not None:
            schedule_board = ScheduleBoard(db, sessions, board, timers, config.channels.announcements, clock)
            sessions.listeners.append(schedule_board.follow)
        alerts = UnclaimedAlerts(db, config, timers, announcer, horizon=horizon.length, clock=clock)
        sessions.listeners.append(alerts.follow)
        core: Core
        runner = SessionRunner(
            db,
            config,
            lambda: core.recordings,
            timers,
            room,
            announcer,
            clock,
        )

        async def arm_runner(occurrence: OccurrenceRow) -> None:
            runner.arm(occurrence)

        sessions.listeners.append(arm_runner)
        core = cls(
            config,
            db,
            recordings,
            timers,
            clock,
            ledger,
            dispatcher,
            reminders,
            notices,
            horizon,
            sessions,
            alerts,
            runner,
            Reports(db, config),
            CalendarFeeds(db, config, horizon=horizon.length, clock=clock),
            SetupReport(db, announcer, config.guild.id),
            limits,
            clocks,
            Privacy(db, config, sessions, limits, clock, private_route),
            schedule_board,
        )
        return core

    def events_mirror(self, board: EventBoard) -> EventsMirror:
        """The scheduled-events mirror of the sessions on this board (the guild's events, through Discord)."""
        return EventsMirror(
            self.db,
            self.sessions,
            board,
            self.timers,
            session_channels=self.config.channels.sessions,
            horizon=self.horizon.length,
            clock=self.clock,
        )

    async def start(self) -> RebuildReport:
        """Start-up: extend the horizon, rebuild every timer from the database, start firing."""
        # Optional work first and guarded: a missing spoken welcome only means the written one.
        await self.prepare_welcome_reading()
        with collector_paused():
            await self.sessions.extend_horizon()
            report = await self.reminders.rebuild()
            await self.alerts.rebuild()
            await self.runner.rebuild(self.horizon.length)
        # Once a day, keep the horizon full (a restart does the same).
        self.timers.schedule_at("horizon:extend", self.clock() + dt.timedelta(days=1), self._daily)
        self.timers.start()
        await self._daily_privacy_and_board()
        return report

    async def _daily(self) -> None:
        await self.sessions.extend_horizon()
        self.timers.schedule_at("horizon:extend", self.clock() + dt.timedelta(days=1), self._daily)
        await self._daily_privacy_and_board()

    async def _daily_privacy_and_board(self) -> None:
        """Each day and at start-up: forget who left long enough ago, queue time-change heads-ups, roll the board."""
        for step in (self.privacy.forget_departed, self.clocks.scan):
            try:
                await step()
            except Exception:
                log.exception("a daily step failed; it runs again tomorrow (or at the next start)")
        if self.board is not None:
            self.board.request_refresh()

    async def count_me_in(self, user_id: int, occurrence_id: int) -> bool:
        """A member agreed to be counted (the session card's button): signed up, and counted if already here."""
        await self.sessions.sign_up(user_id, occurrence_id, "button")
        occurrence = await self.sessions.session(occurrence_id)
        present = {person.user_id for person in await self.runner.room.present(occurrence)}
        if user_id in present:
            await self.runner.count_attendance(occurrence_id, user_id)
            return True
        return False

    def stop(self) -> None:
        """Stop firing timers and taking up new sends (the database keeps everything; a start-up resumes it)."""
        self.timers.shutdown()
        self.dispatcher.stop()

    async def verify_recordings(self, actor: Actor) -> RecordingCatalog:
        """A coordinator re-checks every approved file now (sha256, length); the list in use is unchanged."""
        require_coordinator(actor, self.config.roles)
        # Hashing reads every audio file, so it runs off the event loop.
        return await asyncio.to_thread(load_recordings, self.config.recordings.file)

    async def reload_recordings(self, actor: Actor) -> RecordingCatalog:
        """A coordinator puts recordings.yaml into use without a restart; an unreadable list changes nothing."""
        try:
            catalog = await self.verify_recordings(actor)
        except RecordingError as error:
            kept = coordinator_texts.RECORDINGS_KEPT.format(problem=error.message.rstrip("."))
            raise RecordingError("", kept) from error
        self.recordings = catalog
        counts = {"approved": len(catalog), "refused": len(catalog.refused)}
        await self.db.add_audit(actor.user_id, "recordings.reload", "recordings", counts)
        return catalog

    async def ensure_welcome_reading(self) -> str | None:
        """Make sure the official welcome words can be spoken (synthesised once); the reason if they cannot."""
        if self.recordings.by_kind("welcome-reading"):
            return None
        path = Path(self.config.recordings.file)
        try:
            await asyncio.to_thread(ensure_welcome_reading, path, self.config.welcome.words)
            self.recordings = await asyncio.to_thread(load_recordings, path)
        except PracticeCirclesError as error:
            reason = str(error)
        except OSError as error:
            # E.g. the install folder is read-only under the service (docs/operations.md): saving
            # recordings.yaml needs a temporary file beside it.
            reason = f"{error.strerror or error} ({error.filename or path})"
        else:
            return None
        # The words are still posted in the chat; only the spoken reading is missing.
        log.error("could not prepare the spoken welcome reading: %s", reason)
        return reason

    async def prepare_welcome_reading(self) -> None:
        """At start-up: prepare the spoken welcome; if it cannot be, tell the coordinators once, with the reason."""
        reason = await self.ensure_welcome_reading()
        if reason is not None:
            try:
                await self.runner.alerts.to_coordinators(
                    room_texts.WELCOME_READING_UNAVAILABLE.format(reason=display_safe(reason))
                )
            except Exception:
                log.exception("could not tell the coordinators that the spoken welcome is missing")
