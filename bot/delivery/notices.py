"""Change notices: members signed up for a session hear about each change to it, once.

A change (cancelled, moved, new channel, new teacher, back on the schedule) raises the session's
change_version, so each change is a new ledger key per recipient. The notices are written in the
same transaction as the change itself (`queue` inside the caller's `db.transaction()`), so a crash
can never leave a change made with its members not told, nor members told of a change not made.
The notice's payload records what the session was like before, so the message can show old and
new side by side even if the session changes again before it is sent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.delivery.dispatch import Dispatcher
from bot.delivery.ledger import Ledger, notice_kind
from bot.model import DeliveryKey, OccurrenceRow
from bot.schedule.rules import utc_isoformat
from bot.storage import Database

log = logging.getLogger(__name__)

ChangeKind = Literal["cancelled", "moved", "channel", "teacher", "restored"]


@dataclass(frozen=True)
class SessionChange:
    """One change to one session, as members should hear about it."""

    kind: ChangeKind
    before: OccurrenceRow
    after: OccurrenceRow
    actor_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """What the notice needs to show old and new."""
        return {
            "old_start": utc_isoformat(self.before.start_utc),
            "new_start": utc_isoformat(self.after.start_utc),
            "old_channel": self.before.channel_id,
            "new_channel": self.after.channel_id,
            **self.details,
        }


class Notices:
    """Writes one notice per signed-up member for a change, and has them sent."""

    def __init__(self, db: Database, ledger: Ledger, dispatcher: Dispatcher, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.ledger = ledger
        self.dispatcher = dispatcher
        self.clock = clock

    async def queue(self, change: SessionChange) -> int:
        """Write the notice for everyone signed up (and only them) in the caller's transaction; returns how many.

        Call it inside the `db.transaction()` that makes the change, then `dispatcher.request_sweep()`
        once that has committed.
        """
        if not self.db.in_transaction():
            raise RuntimeError("notices are queued inside the transaction that makes their change")
        session = change.after
        kind = notice_kind(change.kind)
        now = self.clock()
        payload = change.payload()
        async with self.db.transaction():
            recipients = await self.db.signed_up_user_ids(session.id)
            # Anything still waiting about the session as it was (a reminder, an earlier notice) is stale.
            await self.ledger.drop_superseded(session.id, session.change_version)
            for recipient in recipients:
                key = DeliveryKey(session.id, recipient, kind, session.change_version)
                await self.ledger.enqueue(key, now, payload)
        log.info("notice %s for session %d queued for %d member(s)", kind, session.id, len(recipients))
        return len(recipients)

    def send_queued(self) -> None:
        """Have the notices committed so far sent, in the background (returns at once)."""
        self.dispatcher.request_sweep()
