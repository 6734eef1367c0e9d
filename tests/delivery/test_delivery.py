"""The delivery ledger: claim, send with a nonce, mark sent; and what a crash or outage does to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.ledger import (
    MAX_NONCE_LENGTH,
    Ledger,
    PermanentDeliveryError,
    deliver,
    delivery_nonce,
    notice_kind,
    overdue_decision,
    reminder_kind,
)
from bot.errors import ConflictError, NotFoundError
from bot.model import DeliveryKey
from bot.storage import Database

NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
SESSION_START = NOW + timedelta(hours=2)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class FakeDiscord:
    """Posts messages like Discord with enforce_nonce: a repeated nonce returns the first message."""

    def __init__(self) -> None:
        self.calls: list[str] = []  # every nonce a send was attempted with
        self.posted: dict[str, int] = {}  # nonce -> message id, one per message members see

    async def send(self, nonce: str) -> int:
        self.calls.append(nonce)
        if nonce not in self.posted:
            self.posted[nonce] = 9000 + len(self.posted)
        return self.posted[nonce]


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches and records it."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
async def db(db_path: Path, clock: Clock) -> AsyncIterator[Database]:
    database = await Database.open(db_path, clock=clock)
    try:
        yield database
    finally:
        await database.close()


async def _occurrence(db: Database) -> int:
    occurrence = await db.add_one_off(start=SESSION_START, duration_minutes=45, channel_id=1, title="x")
    return occurrence.id


def _key(occurrence_id: int, recipient: int = 50, kind: str = "reminder:60", version: int = 1) -> DeliveryKey:
    return DeliveryKey(occurrence_id, recipient, kind, version)


# --- pure parts -----------------------------------------------------------------------------------


def test_nonce_is_deterministic_short_and_key_specific() -> None:
    nonce = delivery_nonce(1, 2, "reminder:60", 1)
    assert nonce == delivery_nonce(1, 2, "reminder:60", 1)
    assert len(nonce) <= MAX_NONCE_LENGTH == 25
    int(nonce, 16)  # hex
    others = {
        delivery_nonce(9, 2, "reminder:60", 1),
        delivery_nonce(1, 9, "reminder:60", 1),
        delivery_nonce(1, 2, "reminder:15", 1),
        delivery_nonce(1, 2, "reminder:60", 2),
    }
    assert nonce not in others and len(others) == 4
    # Field boundaries are kept: (1, 23) and (12, 3) must not collide.
    assert delivery_nonce(1, 23, "k", 1) != delivery_nonce(12, 3, "k", 1)


def test_kinds() -> None:
    assert reminder_kind(60) == "reminder:60"
    assert notice_kind("cancelled") == "notice:cancelled"
    with pytest.raises(ValueError):
        reminder_kind(0)
    with pytest.raises(ValueError):
        notice_kind("a:b")


@pytest.mark.parametrize(
    ("due_at", "now", "expected"),
    [
        (NOW + timedelta(minutes=5), NOW, "send"),  # still ahead
        (NOW - timedelta(seconds=30), NOW, "send"),  # a timer firing a little late is on time
        (NOW - timedelta(minutes=30), NOW, "send_late"),  # missed while down, session not begun
        (SESSION_START - timedelta(minutes=60), SESSION_START, "drop"),  # session begins now
        (SESSION_START - timedelta(minutes=15), SESSION_START + timedelta(minutes=5), "drop"),
        # A message due after the start (e.g. a closing note) is simply on time.
        (SESSION_START + timedelta(minutes=45), SESSION_START + timedelta(minutes=45), "send"),
    ],
)
def test_overdue_decision(due_at: datetime, now: datetime, expected: str) -> None:
    assert overdue_decision(due_at, SESSION_START, now) == expected


def test_overdue_decision_refuses_naive_times() -> None:
    with pytest.raises(TypeError):
        overdue_decision(datetime(2030, 1, 1), SESSION_START, NOW)  # noqa: DTZ001


# --- ledger basics --------------------------------------------------------------------------------


async def test_enqueue_is_idempotent(db: Database) -> None:
    ledger = Ledger(db)
    key = _key(await _occurrence(db))
    first = await ledger.enqueue(key, NOW)
    again = await ledger.enqueue(key, NOW + timedelta(hours=1))
    assert again == first
    assert first.status == "pending" and first.attempts == 0
    assert first.nonce == delivery_nonce(key.occurrence_id, key.recipient_id, key.kind, key.change_version)
    with pytest.raises(NotFoundError):
        await ledger.enqueue(_key(999), NOW)


async def test_claim_is_exclusive(db: Database) -> None:
    ledger = Ledger(db)
    key = _key(await _occurrence(db))
    await ledger.enqueue(key, NOW)
    claimed = await ledger.claim(key)
    assert claimed is not None and claimed.status == "claimed" and claimed.attempts == 1
    assert await ledger.claim(key) is None
    sent = await ledger.mark_sent(key, 1234)
    assert (sent.status, sent.message_id, sent.sent_at) == ("sent", 1234, NOW)
    assert await ledger.claim(key) is None
    assert await ledger.mark_sent(key, 1234) == sent  # repeating the mark is harmless
    assert await ledger.claim(_key(999)) is None


async def test_mark_sent_needs_a_claim(db: Database) -> None:
    ledger = Ledger(db)
    key = _key(await _occurrence(db))
    await ledger.enqueue(key, NOW)
    with pytest.raises(ConflictError, match="pending"):
        await ledger.mark_sent(key, 1)


async def test_deliver_sends_with_the_nonce_and_records_the_message(db: Database) -> None:
    ledger = Ledger(db)
    discord = FakeDiscord()
    key = _key(await _occurrence(db))
    row = await ledger.enqueue(key, NOW)
    assert await deliver(ledger, key, discord.send) == "sent"
    assert discord.calls == [row.nonce]
    stored = await ledger.get(key)
    assert stored is not None and stored.status == "sent" and stored.message_id == 9000
    assert await deliver(ledger, key, discord.send) == "not_claimed"
    assert discord.calls == [row.nonce]


async def test_ten_concurrent_deliveries_send_once(db: Database) -> None:
    ledger = Ledger(db)
    discord = FakeDiscord()
    key = _key(await _occurrence(db))
    await ledger.enqueue(key, NOW)
    outcomes = await asyncio.gather(*(deliver(ledger, key, discord.send) for _ in range(10)))
    assert sorted(outcomes) == ["not_claimed"] * 9 + ["sent"]
    assert len(discord.calls) == 1


# --- crash and restart ----------------------------------------------------------------------------


async def test_restart_resends_only_unmarked_rows_with_the_same_nonce(db_path: Path, clock: Clock) -> None:
    discord = FakeDiscord()
    db = await Database.open(db_path, clock=clock)
    ledger = Ledger(db)
    occurrence_id = await _occurrence(db)
    already_sent, in_flight, waiting = (_key(occurrence_id, recipient) for recipient in (1, 2, 3))
    for key in (already_sent, in_flight, waiting):
        await ledger.enqueue(key, NOW)
    assert await deliver(ledger, already_sent, discord.send) == "sent"

    async def send_then_die(nonce: str) -> int:
        await discord.send(nonce)  # Discord has the message...
        raise Crash  # ...but the process dies before mark_sent

    with pytest.raises(Crash):
        await deliver(ledger, in_flight, send_then_die)
    crashed_nonce = discord.calls[-1]
    await db.close()  # all the database learns is that the row was claimed

    db = await Database.open(db_path, clock=clock)
    try:
        ledger = Ledger(db)
        assert await ledger.reclaim_stale() == 1
        outcomes = [await deliver(ledger, row.key, discord.send) for row in await ledger.due(NOW)]
        assert outcomes == ["sent", "sent"]  # in_flight and waiting; already_sent is not due
        assert discord.calls.count(crashed_nonce) == 2  # resent with the same nonce...
        assert len(discord.posted) == 3  # ...so members saw each message exactly once
        resent = await ledger.get(in_flight)
        assert resent is not None and resent.message_id == discord.posted[crashed_nonce]
        assert resent.attempts == 2
    finally:
        await db.close()

    # A further restart finds nothing to reclaim and nothing to send.
    calls_before = len(discord.calls)
    async with Database.open(db_path, clock=clock) as db:
        ledger = Ledger(db)
        assert await ledger.reclaim_stale() == 0
        assert await ledger.due(NOW + timedelta(days=1)) == []
        for key in (already_sent, in_flight, waiting):
            assert await deliver(ledger, key, discord.send) == "not_claimed"
    assert len(discord.calls) == calls_before


# --- failures, drops and versions -----------------------------------------------------------------


async def test_transient_failures_retry_with_back_off_then_drop(db: Database, clock: Clock) -> None:
    ledger = Ledger(db, max_attempts=3, first_retry_delay=timedelta(seconds=30))
    key = _key(await _occurrence(db))
    await ledger.enqueue(key, NOW)

    async def flaky(nonce: str) -> int:
        raise OSError("connection reset")

    assert await deliver(ledger, key, flaky) == "retrying"
    row = await ledger.get(key)
    assert row is not None and row.status == "pending" and row.due_at == NOW + timedelta(seconds=30)
    assert row.last_error == "OSError: connection reset"
    assert await ledger.due(NOW) == []  # not retried in a hot loop

    clock.now = row.due_at
    assert await deliver(ledger, key, flaky) == "retrying"
    row = await ledger.get(key)
    assert row is not None and row.due_at == clock.now + timedelta(seconds=60)

    clock.now = row.due_at
    assert await deliver(ledger, key, flaky) == "dropped"
    row = await ledger.get(key)
    assert row is not None and row.status == "dropped" and row.attempts == 3


async def test_permanent_failure_drops_at_once(db: Database) -> None:
    ledger = Ledger(db)
    key = _key(await _occurrence(db))
    await ledger.enqueue(key, NOW)

    async def dms_closed(nonce: str) -> int:
        raise PermanentDeliveryError("the member does not accept direct messages")

    assert await deliver(ledger, key, dms_closed) == "dropped"
    row = await ledger.get(key)
    assert row is not None and row.status == "dropped" and row.attempts == 1
    assert row.last_error == "the member does not accept direct messages"


async def test_drop_only_touches_pending_rows(db: Database) -> None:
    ledger = Ledger(db)
    occurrence_id = await _occurrence(db)
    pending, claimed = _key(occurrence_id, 1), _key(occurrence_id, 2)
    for key in (pending, claimed):
        await ledger.enqueue(key, NOW)
    await ledger.claim(claimed)
    dropped = await ledger.drop(pending, "member signed out")
    assert dropped is not None and dropped.status == "dropped" and dropped.last_error == "member signed out"
    assert await ledger.drop(claimed, "too late") is None  # being sent: left to finish


async def test_a_move_supersedes_pending_messages_about_the_old_time(db: Database) -> None:
    ledger = Ledger(db)
    discord = FakeDiscord()
    occurrence_id = await _occurrence(db)
    sent_v1, pending_v1 = _key(occurrence_id, 1), _key(occurrence_id, 2)
    for key in (sent_v1, pending_v1):
        await ledger.enqueue(key, NOW)
    await deliver(ledger, sent_v1, discord.send)

    _, moved = await db.move_occurrence(occurrence_id, SESSION_START + timedelta(hours=1))
    pending_v2 = _key(occurrence_id, 2, version=moved.change_version)
    await ledger.enqueue(pending_v2, NOW + timedelta(hours=2))
    assert await ledger.drop_superseded(occurrence_id, moved.change_version) == 1

    rows = {key: await ledger.get(key) for key in (sent_v1, pending_v1, pending_v2)}
    assert {key: row.status for key, row in rows.items() if row} == {
        sent_v1: "sent",
        pending_v1: "dropped",
        pending_v2: "pending",
    }
    # A new version is a new key, hence a new nonce: Discord will not swallow the update.
    old_row, new_row = rows[pending_v1], rows[pending_v2]
    assert old_row is not None and new_row is not None and old_row.nonce != new_row.nonce


async def test_due_and_pending_order_and_limit(db: Database) -> None:
    ledger = Ledger(db)
    occurrence_id = await _occurrence(db)
    for recipient, minutes in ((1, 10), (2, -10), (3, 0), (4, 60)):
        await ledger.enqueue(_key(occurrence_id, recipient), NOW + timedelta(minutes=minutes))
    assert [row.key.recipient_id for row in await ledger.due(NOW)] == [2, 3]
    assert [row.key.recipient_id for row in await ledger.due(NOW, limit=1)] == [2]
    assert [row.key.recipient_id for row in await ledger.pending()] == [2, 3, 1, 4]


async def test_start_up_triage_after_an_outage(db_path: Path, clock: Clock) -> None:
    async with Database.open(db_path, clock=clock) as db:
        ledger = Ledger(db)
        soon = await _occurrence(db)
        started = await db.add_one_off(start=NOW - timedelta(minutes=10), duration_minutes=45, channel_id=1, title="y")
        begun = started.id
        future, missed, stale, too_late = (
            _key(soon, 1, "reminder:15"),
            _key(soon, 2, "reminder:120"),
            _key(soon, 3, "reminder:121"),
            _key(begun, 4, "reminder:15"),
        )
        await ledger.enqueue(future, SESSION_START - timedelta(minutes=15))
        await ledger.enqueue(missed, NOW - timedelta(minutes=30))
        await ledger.enqueue(stale, NOW - timedelta(minutes=31))
        await ledger.enqueue(too_late, NOW - timedelta(minutes=25))
        await ledger.claim(stale)  # crashed mid-send

    async with Database.open(db_path, clock=clock) as db:
        ledger = Ledger(db)
        report = await ledger.triage_overdue(NOW)
        assert (report.reclaimed, report.late, report.dropped) == (1, 2, 1)
        rows = {key: await ledger.get(key) for key in (future, missed, stale, too_late)}
        assert {key: (row.status, row.late) for key, row in rows.items() if row} == {
            future: ("pending", False),
            missed: ("pending", True),
            stale: ("pending", True),
            too_late: ("dropped", False),
        }
        discord = FakeDiscord()
        outcomes = [await deliver(ledger, row.key, discord.send) for row in await ledger.due(NOW)]
        assert outcomes == ["sent", "sent"]
        sent = await ledger.get(missed)
        assert sent is not None and sent.late and sent.status == "sent"
