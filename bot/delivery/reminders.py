"""Reminder timers: one per (session, offset), rebuilt from the database at start-up.

A timer `reminder:<occurrence>:<offset>` fires `offset` minutes before a session. Only then does it
decide who gets the reminder: members signed up by that moment whose chosen offsets include this
one (or, with no choice made, the community default). It writes one ledger row per recipient and
asks the Dispatcher to send them, so a crash mid-fan-out resumes from the ledger with the same
nonces and nobody gets two.

Start-up (`rebuild`), deciding what fell due while the bot was down:
- a reminder whose time passed but whose session has not begun is sent now, flagged late;
- a reminder whose session has begun is dropped;
- rows left claimed by a crash are resent with their original nonce (`Ledger.triage_overdue`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.delivery.dispatch import Dispatcher
from bot.delivery.ledger import Ledger, reminder_kind
from bot.model import DeliveryKey, OccurrenceRow
from bot.storage import Database
from bot.timers import Timers

log = logging.getLogger(__name__)


def reminder_job_id(occurrence_id: int, offset_minutes: int) -> str:
    """The timer id of one session's reminder at one offset."""
    return f"reminder:{occurrence_id}:{offset_minutes}"


@dataclass(frozen=True)
class RebuildReport:
    """What start-up found and scheduled."""

    sessions: int
    timers: int
    overdue_now: int
    reclaimed: int
    late: int
    dropped: int


class ReminderScheduler:
    """Keeps a timer per upcoming session and offset, and fans reminders out when one fires."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        timers: Timers,
        dispatcher: Dispatcher,
        *,
        allowed_offsets: Sequence[int],
        default_offsets: Sequence[int],
        horizon: dt.timedelta,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.timers = timers
        self.dispatcher = dispatcher
        self.allowed_offsets = tuple(sorted(set(allowed_offsets), reverse=True))
        self._leads = tuple(dt.timedelta(minutes=offset) for offset in self.allowed_offsets)
        self.default_offsets = tuple(default_offsets)
        self.horizon = horizon
        self.clock = clock

    def schedule(self, occurrence: OccurrenceRow, *, include_overdue: bool = False) -> int:
        """(Re)arm this session's reminder timers; returns how many. Overdue ones only at start-up."""
        self.unschedule(occurrence.id)
        if occurrence.status != "scheduled":
            return 0
        now = self.clock()
        armed = 0
        for offset in self.allowed_offsets:
            due = occurrence.start_utc - dt.timedelta(minutes=offset)
            if due > now or (include_overdue and now < occurrence.start_utc):
                self.timers.schedule_at(
                    reminder_job_id(occurrence.id, offset), max(due, now), self.fire, occurrence.id, offset
                )
                armed += 1
        return armed

    def unschedule(self, occurrence_id: int) -> int:
        """Remove every reminder timer of a session (cancelled, moved, closed)."""
        return self.timers.cancel_matching(f"reminder:{occurrence_id}:")

    async def fire(self, occurrence_id: int, offset_minutes: int) -> int:
        """Write the ledger rows for this reminder and have them sent in the background; returns how many."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.status != "scheduled":
            return 0
        due = occurrence.start_utc - dt.timedelta(minutes=offset_minutes)
        if self.clock() >= occurrence.start_utc:
            log.info("reminder %s not sent: the session has begun", reminder_job_id(occurrence_id, offset_minutes))
            return 0
        recipients = await self.db.reminder_recipients(
            occurrence.id, offset_minutes, default_offsets=self.default_offsets, signed_up_by=due
        )
        kind = reminder_kind(offset_minutes)
        # One transaction for the whole fan-out's rows: fast, and all-or-nothing if we crash here.
        async with self.db.transaction():
            for recipient in recipients:
                await self.ledger.enqueue(DeliveryKey(occurrence.id, recipient, kind, occurrence.change_version), due)
        # Sent in the background: the timer's job ends now, however many members there are.
        self.dispatcher.request_sweep()
        return len(recipients)

    async def rebuild(self) -> RebuildReport:
        """At start-up: settle what fell due while down, then arm every upcoming session's timers."""
        now = self.clock()
        triage = await self.ledger.triage_overdue(now)
        upcoming = await self.db.list_occurrences(now, now + self.horizon, statuses=["scheduled"])
        armed = overdue = 0
        for occurrence in upcoming:
            armed += self.schedule(occurrence, include_overdue=True)
            overdue += sum(1 for lead in self._leads if occurrence.start_utc - lead <= now)
        await self.dispatcher.schedule_next_sweep()
        report = RebuildReport(
            sessions=len(upcoming),
            timers=armed,
            overdue_now=overdue,
            reclaimed=triage.reclaimed,
            late=triage.late,
            dropped=triage.dropped,
        )
        log.info("reminders rebuilt from the database: %s", report)
        return report
