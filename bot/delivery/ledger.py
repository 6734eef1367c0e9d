"""The delivery ledger protocol: every reminder or notice is sent at most once as members see it.

Each message is a ledger row keyed by (occurrence, recipient, kind, change_version). Sending one:

1. `claim` moves the row pending -> claimed in one conditional UPDATE, so of two senders (two
   timers, a timer and a retry) exactly one gets it;
2. the message is sent with the row's nonce, a digest of the key, and Discord's `enforce_nonce`,
   so if the same nonce arrives again shortly after, Discord returns the first message instead of
   posting a second one;
3. `mark_sent` records the message id.

A crash between 2 and 3 leaves the row claimed. At start-up (and only then, when no sender can
be mid-send, which the single-instance lock guarantees) `reclaim_stale` makes such rows pending
again; they are resent with the same nonce, so Discord drops the repeat. Rows marked sent are never
sent again. Discord keeps nonces only for a few minutes, so a crash followed by a long outage can
still show a repeat; that is the one case this design accepts.

A change to an occurrence (cancel, move, new channel) raises its change_version, so messages about
the new state are new keys; `drop_superseded` retires pending messages about the old state.

Work that fell due while the bot was down (`overdue_decision`):

- due now or in the future (within `grace`): send it as usual;
- due in the past but the session has not begun: send it, flagged late (the text can say so);
- the session has already begun: drop it; a reminder for a session in progress helps no one.

Failures: `send` raises PermanentDeliveryError when retrying cannot help (the member closed their
DMs, the channel is gone), which drops the row; DeliveryDeferred when Discord asks the bot to wait
(it opened direct messages too fast), which makes the row pending again after the wait without
counting the attempt, so waiting never costs a member their reminder; any other exception is
retried with growing delays up to `max_attempts`, then dropped.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from bot.model import DeliveryKey, DeliveryRow
from bot.storage import Database

__all__ = [
    "DEFAULT_GRACE",
    "MAX_NONCE_LENGTH",
    "DeliveryDeferred",
    "DeliveryOutcome",
    "Ledger",
    "OverdueDecision",
    "PermanentDeliveryError",
    "TriageReport",
    "deliver",
    "delivery_nonce",
    "notice_kind",
    "overdue_decision",
    "reminder_kind",
]

log = logging.getLogger(__name__)

# Discord accepts string nonces of up to 25 characters.
MAX_NONCE_LENGTH: Final = 25
# A timer that fires this much after its due time is still on time, not late.
DEFAULT_GRACE: Final = timedelta(minutes=1)

OverdueDecision = Literal["send", "send_late", "drop"]
DeliveryOutcome = Literal["sent", "not_claimed", "retrying", "dropped", "deferred"]
Sender = Callable[[str], Awaitable[int | None]]


class PermanentDeliveryError(Exception):
    """Raised by a sender when retrying cannot help (e.g. the member closed their DMs)."""


class DeliveryDeferred(Exception):
    """Raised by a sender when Discord asks it to wait before this message: nothing was sent."""

    def __init__(self, wait: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.wait = wait


def delivery_nonce(occurrence_id: int, recipient_id: int, kind: str, change_version: int) -> str:
    """Return the deterministic Discord nonce for a ledger key (24 hex characters)."""
    # blake2b with a 12-byte digest: 24 hex characters, within Discord's 25, and ample against
    # accidental collisions among one community's messages.
    material = f"{occurrence_id}:{recipient_id}:{kind}:{change_version}".encode()
    return hashlib.blake2b(material, digest_size=12, person=b"pc-delivery").hexdigest()


def reminder_kind(offset_minutes: int) -> str:
    """Return the ledger kind for a reminder sent `offset_minutes` before the start."""
    if offset_minutes < 1:
        raise ValueError(f"a reminder offset is a positive number of minutes; got {offset_minutes}")
    return f"reminder:{offset_minutes}"


def notice_kind(what: str) -> str:
    """Return the ledger kind for a notice such as 'cancelled' or 'moved'."""
    if not what or ":" in what:
        raise ValueError(f"a notice name is a non-empty word without ':'; got {what!r}")
    return f"notice:{what}"


def overdue_decision(
    due_at: datetime, session_start: datetime, now: datetime, *, grace: timedelta = DEFAULT_GRACE
) -> OverdueDecision:
    """Decide what to do with a message given when it was due, when the session starts, and now."""
    for moment in (due_at, session_start, now):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise TypeError("overdue_decision needs aware datetimes")
    if now <= due_at + grace:
        return "send"
    if now < session_start:
        return "send_late"
    return "drop"


@dataclass(frozen=True, slots=True)
class TriageReport:
    """What start-up triage did with overdue rows."""

    reclaimed: int
    late: int
    dropped: int


class Ledger:
    """The delivery ledger over a Database: enqueue, claim, mark, and start-up recovery."""

    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int = 5,
        first_retry_delay: timedelta = timedelta(seconds=30),
        max_retry_delay: timedelta = timedelta(minutes=10),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.db = db
        self.max_attempts = max_attempts
        self.first_retry_delay = first_retry_delay
        self.max_retry_delay = max_retry_delay

    async def enqueue(
        self, key: DeliveryKey, due_at: datetime, payload: Mapping[str, Any] | None = None
    ) -> DeliveryRow:
        """Add a pending message for `key`, due at `due_at`; an existing key is left as it is."""
        nonce = delivery_nonce(key.occurrence_id, key.recipient_id, key.kind, key.change_version)
        row, _created = await self.db.insert_delivery(key, due_at, nonce, payload)
        return row

    async def get(self, key: DeliveryKey) -> DeliveryRow | None:
        """Return the ledger row for a key, if any."""
        return await self.db.get_delivery(key)

    async def claim(self, key: DeliveryKey, *, late: bool = False) -> DeliveryRow | None:
        """Take a pending row for sending; None if another sender has it or it is already done."""
        return await self.db.claim_delivery(key, late=late)

    async def mark_sent(self, key: DeliveryKey, message_id: int | None) -> DeliveryRow:
        """Record that the claimed row's message went out."""
        return await self.db.mark_delivery_sent(key, message_id)

    async def mark_failed(self, key: DeliveryKey, error: str, retry: bool) -> DeliveryRow:
        """Record a failed send: pending again after a back-off, or dropped (no retry, or out of tries)."""
        row = await self.db.get_delivery(key)
        attempts = row.attempts if row is not None else self.max_attempts
        retry_at: datetime | None = None
        if retry and attempts < self.max_attempts:
            retry_at = self.db.now() + self._retry_delay(attempts)
        return await self.db.mark_delivery_failed(key, error, retry_at=retry_at)

    def _retry_delay(self, attempts: int) -> timedelta:
        """Return the wait before the next try: doubling from first_retry_delay, capped."""
        delay = self.first_retry_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.max_retry_delay)

    async def defer(self, key: DeliveryKey, wait: timedelta, reason: str) -> DeliveryRow:
        """Put a claimed row back for later, after `wait`; the attempt does not count towards max_attempts."""
        return await self.db.defer_delivery(key, self.db.now() + wait, reason)

    async def drop(self, key: DeliveryKey, reason: str) -> DeliveryRow | None:
        """Retire a pending row without sending it; None if it was not pending."""
        return await self.db.drop_delivery(key, reason)

    async def drop_superseded(self, occurrence_id: int, current_version: int) -> int:
        """Retire pending rows about earlier versions of an occurrence; return how many."""
        return await self.db.drop_superseded_deliveries(
            occurrence_id, current_version, f"superseded by change version {current_version}"
        )

    async def due(self, now: datetime, limit: int = 100) -> list[DeliveryRow]:
        """Return pending rows due at or before `now`, earliest first."""
        return await self.db.due_deliveries(now, limit)

    async def pending(self) -> list[DeliveryRow]:
        """Return every pending row, earliest first (to rebuild timers)."""
        return await self.db.pending_deliveries()

    async def reclaim_stale(self) -> int:
        """At start-up, make rows left claimed by a crash pending again (same nonce); return how many."""
        count = await self.db.reclaim_stale_deliveries()
        if count:
            log.info("reclaimed %d deliveries left claimed by an earlier run; same nonces on resend", count)
        return count

    async def triage_overdue(self, now: datetime, *, grace: timedelta = DEFAULT_GRACE) -> TriageReport:
        """At start-up: reclaim stale rows, then flag or drop what fell due while the bot was down."""
        reclaimed = await self.reclaim_stale()
        late = dropped = 0
        for row, session_start in await self.db.overdue_deliveries(now):
            decision = overdue_decision(row.due_at, session_start, now, grace=grace)
            if decision == "drop":
                if await self.db.drop_delivery(row.key, "the session had begun when the bot came back"):
                    dropped += 1
            elif decision == "send_late" and await self.db.mark_delivery_late(row.key):
                late += 1
        return TriageReport(reclaimed=reclaimed, late=late, dropped=dropped)


async def deliver(ledger: Ledger, key: DeliveryKey, send: Sender, *, late: bool = False) -> DeliveryOutcome:
    """Claim a row, send it with its nonce (`send(nonce)` returns the message id), and record the result.

    Returns "not_claimed" without sending when the row is not pending (someone else has it, or it
    was sent or dropped). A cancellation or other BaseException during the send leaves the row
    claimed, exactly like a crash: the next start-up resends it with the same nonce.
    """
    row = await ledger.claim(key, late=late)
    if row is None:
        return "not_claimed"
    try:
        message_id = await send(row.nonce)
    except PermanentDeliveryError as error:
        log.info("dropping delivery %s: %s", key, error)
        await ledger.mark_failed(key, str(error) or type(error).__name__, retry=False)
        return "dropped"
    except DeliveryDeferred as deferred:
        await ledger.defer(key, deferred.wait, str(deferred))
        return "deferred"
    except Exception as error:
        log.warning("delivery %s failed (attempt %d): %r", key, row.attempts, error)
        failed = await ledger.mark_failed(key, f"{type(error).__name__}: {error}", retry=True)
        return "retrying" if failed.status == "pending" else "dropped"
    await ledger.mark_sent(key, message_id)
    return "sent"
