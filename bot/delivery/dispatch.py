"""Sending what the delivery ledger says is due, through a Messenger, a bounded number at a time.

Everything that reaches a member (reminders, change notices) is first a ledger row (see
`bot.delivery.ledger`). The Dispatcher is the one sender: a sweep takes the rows that are due, applies
the overdue policy (send, send flagged late, or drop once the session has begun), and hands each
row to the Messenger, which knows how to word and route it (DM, thread, ...). After a sweep the
next one is scheduled at the earliest pending row, so retries and future rows need no other timer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery.ledger import Ledger, deliver, overdue_decision
from bot.model import DeliveryRow, OccurrenceRow
from bot.ports import Messenger
from bot.storage import Database
from bot.timers import Timers

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "deliveries:sweep"
# How many rows a sweep reads from the database at a time.
SWEEP_BATCH = 500


@dataclass
class SweepReport:
    """What one sweep did."""

    sent: int = 0
    dropped: int = 0
    retrying: int = 0
    skipped: int = 0
    late: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    """Delivers due ledger rows through a Messenger and keeps one sweep timer pointed at the next one."""

    def __init__(
        self,
        db: Database,
        ledger: Ledger,
        timers: Timers,
        messenger: Messenger,
        clock: Callable[[], dt.datetime],
        *,
        concurrency: int = 8,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.timers = timers
        self.messenger = messenger
        self.clock = clock
        # Several sends in flight let discord.py fill per-channel rate-limit buckets in parallel,
        # while the bound keeps one fan-out from starving interactions of the event loop.
        self._slots = asyncio.Semaphore(concurrency)
        self._sweeping = asyncio.Lock()

    async def sweep(self) -> SweepReport:
        """Send every row that is due now; then schedule the next sweep."""
        report = SweepReport()
        async with self._sweeping:
            seen: set[object] = set()
            while True:
                rows = [row for row in await self.ledger.due(self.clock(), SWEEP_BATCH) if row.key not in seen]
                if not rows:
                    break
                seen.update(row.key for row in rows)
                occurrences = await self._occurrences_for(rows)
                await asyncio.gather(*(self._send_one(row, occurrences, report) for row in rows))
        await self.schedule_next_sweep()
        return report

    async def schedule_next_sweep(self) -> dt.datetime | None:
        """Point the sweep timer at the earliest pending row (or clear it); return when it fires."""
        pending = await self.db.pending_deliveries(limit=1)
        if not pending:
            self.timers.cancel(SWEEP_JOB_ID)
            return None
        when = max(pending[0].due_at, self.clock())
        self.timers.schedule_at(SWEEP_JOB_ID, when, self.sweep)
        return when

    async def _occurrences_for(self, rows: list[DeliveryRow]) -> dict[int, OccurrenceRow]:
        found: dict[int, OccurrenceRow] = {}
        for occurrence_id in {row.key.occurrence_id for row in rows}:
            occurrence = await self.db.get_occurrence(occurrence_id)
            if occurrence is not None:
                found[occurrence_id] = occurrence
        return found

    async def _send_one(self, row: DeliveryRow, occurrences: dict[int, OccurrenceRow], report: SweepReport) -> None:
        occurrence = occurrences.get(row.key.occurrence_id)
        if occurrence is None:
            await self.ledger.drop(row.key, "the session no longer exists")
            report.dropped += 1
            return
        if row.key.kind.startswith("reminder:") and occurrence.status == "cancelled":
            await self.ledger.drop(row.key, "the session was cancelled")
            report.dropped += 1
            return
        decision = overdue_decision(row.due_at, occurrence.start_utc, self.clock())
        # A notice about a change is worth sending until the session ends; a reminder only before it starts.
        if decision == "drop" and row.key.kind.startswith("reminder:"):
            await self.ledger.drop(row.key, "the session had already begun")
            report.dropped += 1
            return
        late = row.late or decision != "send"
        async with self._slots:
            outcome = await deliver(
                self.ledger,
                row.key,
                lambda _nonce: self.messenger.deliver(row, occurrence, late=late),
                late=late,
            )
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        if outcome == "sent":
            report.sent += 1
            report.late += int(late)
        elif outcome == "dropped":
            report.dropped += 1
        elif outcome == "retrying":
            report.retrying += 1
        else:
            report.skipped += 1
