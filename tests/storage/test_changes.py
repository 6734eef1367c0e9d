"""Session changes added in migration 0002: cancel provenance, restore, rebase, details, notice payloads."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.delivery.ledger import Ledger, notice_kind
from bot.errors import ConflictError
from bot.model import DeliveryKey, OccurrenceRow
from bot.storage import Database

START = dt.datetime(2026, 3, 10, 1, 30, tzinfo=dt.UTC)


async def session(db: Database) -> OccurrenceRow:
    return await db.add_one_off(start=START, duration_minutes=45, channel_id=555, title="Evening practice")


async def test_cancel_records_who_cancelled_and_restore_undoes_it(db: Database) -> None:
    occurrence = await session(db)
    _, cancelled = await db.cancel_occurrence(occurrence.id, by="series")
    assert (cancelled.status, cancelled.cancelled_by, cancelled.change_version) == ("cancelled", "series", 2)
    _, restored = await db.restore_occurrence(occurrence.id)
    assert (restored.status, restored.cancelled_by, restored.change_version) == ("scheduled", None, 3)
    with pytest.raises(ConflictError, match="not cancelled"):
        await db.restore_occurrence(occurrence.id)


async def test_rebase_bumps_the_version_only_when_the_start_moves(db: Database) -> None:
    occurrence = await session(db)
    new_rule_time = START + dt.timedelta(minutes=30)
    _, same_start = await db.rebase_occurrence(occurrence.id, recurrence_id=new_rule_time, start=START)
    assert (same_start.recurrence_id, same_start.start_utc, same_start.change_version) == (new_rule_time, START, 1)
    _, moved = await db.rebase_occurrence(occurrence.id, recurrence_id=new_rule_time, start=new_rule_time)
    assert (moved.start_utc, moved.change_version) == (new_rule_time, 2)


async def test_details_change_keeps_what_was_not_named(db: Database) -> None:
    occurrence = await session(db)
    _, changed = await db.update_occurrence_details(occurrence.id, practice="affectionate-breathing")
    assert (changed.title, changed.duration_minutes, changed.practice) == (
        "Evening practice",
        45,
        "affectionate-breathing",
    )
    assert changed.change_version == 2


async def test_notice_payload_is_stored_with_the_row(db: Database) -> None:
    occurrence = await session(db)
    ledger = Ledger(db)
    key = DeliveryKey(occurrence.id, 42, notice_kind("moved"), 2)
    await ledger.enqueue(key, START, {"old_start": "2026-03-10T01:30:00Z"})
    stored = await ledger.get(key)
    assert stored is not None
    assert stored.payload == {"old_start": "2026-03-10T01:30:00Z"}
    # A second enqueue of the same key keeps the first payload (the key is the message).
    await ledger.enqueue(key, START, {"old_start": "something else"})
    again = await ledger.get(key)
    assert again is not None and again.payload == {"old_start": "2026-03-10T01:30:00Z"}
