"""Sending what the delivery ledger says is due, through a Messenger, a bounded number at a time.

Everything that reaches a member (reminders, change notices) is first a ledger row (see
`bot.delivery.ledger`). The Dispatcher is the one sender: a sweep takes the rows that are due, applies
the overdue policy (send, send flagged late, or drop once the session has begun), and hands each
row to the Messenger, which knows how to word and route it (DM, thread, ...). After a sweep the
next one is scheduled at the earliest pending row, so retries and future rows need no other timer.

Whoever writes rows (a coordinator's command, a reminder timer) commits them and calls
`request_sweep()`, which returns at once: the sending runs in one background task, so a command
answers before a fan-out to hundreds of members is done. The rows are committed first, so a
restart finishes what a stop interrupted, each member still getting one message.
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
# After a sweep failed outright (the database, not a send), when the timer tries again.
SWEEP_RETRY = dt.timedelta(seconds=30)


@dataclass
class SweepReport:
    """What one sweep did."""

    sent: int = 0
    dropped: int = 0
    retrying: int = 0
    deferred: int = 0
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
        # The background sender: one task at a time, sweeping again while more was asked for meanwhile.
        self._worker: asyncio.Task[None] | None = None
        self._wanted = False
        # Set when the bot stops: no new row is claimed, so sends in flight finish and are recorded.
        self._stopping = False

    def request_sweep(self) -> None:
        """Send every row now due, in the background; returns at once (requests made meanwhile are merged)."""
        if self._stopping:
            return
        self._wanted = True
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._sweep_while_wanted(), name="deliveries-sweep")

    async def idle(self) -> None:
        """Wait until the background sender has nothing left to do (what was due has been tried).

        Re-raises what ended the sender if it was not an ordinary error (those are logged and retried).
        """
        while self._worker is not None and not self._worker.done():
            await asyncio.wait({self._worker})
        if self._worker is not None and not self._worker.cancelled() and self._worker.exception() is not None:
            raise self._worker.exception()  # type: ignore[misc]

    def stop(self) -> None:
        """Claim no more rows: sends in flight finish (await `idle()`), the rest wait in the ledger for a start-up."""
        self._stopping = True

    async def _sweep_while_wanted(self) -> None:
        while self._wanted:
            self._wanted = False
            try:
                await self.sweep()
            except Exception:
                log.exception("a delivery sweep failed; trying again in %s", SWEEP_RETRY)
                self.timers.schedule_at(SWEEP_JOB_ID, self.clock() + SWEEP_RETRY, self._sweep_timer)

    async def _sweep_timer(self) -> None:
        """The sweep timer's job: hand the sweep to the background sender and end at once."""
        self.request_sweep()

    async def sweep(self) -> SweepReport:
        """Send every row that is due now; then schedule the next sweep."""
        report = SweepReport()
        async with self._sweeping:
            seen: set[object] = set()
            while not self._stopping:
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
        self.timers.schedule_at(SWEEP_JOB_ID, when, self._sweep_timer)
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
            if self._stopping:
                report.skipped += 1  # left pending, untouched, for the next start-up
                return
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
        elif outcome == "deferred":
            report.deferred += 1
        else:
            report.skipped += 1
