"""Feedback and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import Database

from .conftest import START, FakeClock


async def test_feedback_newest_first_and_since(db: Database, clock: FakeClock) -> None:
    occurrence = await db.add_one_off(start=START, duration_minutes=30, channel_id=1, title="x")
    first = await db.add_feedback(1, "lovely session", occurrence.id)
    clock.advance(timedelta(hours=1))
    second = await db.add_feedback(2, "could the bell be softer?")
    assert first.occurrence_id == occurrence.id and second.occurrence_id is None
    assert await db.list_feedback() == [second, first]
    assert await db.list_feedback(since=clock.now) == [second]
    assert await db.list_feedback(limit=1) == [second]
    assert await db.count_feedback() == 2
    with pytest.raises(ValueError, match="empty"):
        await db.add_feedback(3, "   ")


async def test_audit_entries_round_trip_details(db: Database, clock: FakeClock) -> None:
    entry = await db.add_audit(9, "series.create", "series:1", {"title": "Evening", "at": START})
    assert entry.details == {"title": "Evening", "at": str(START)}
    assert entry.at == clock.now
    bot_entry = await db.add_audit(None, "occurrence.expand", "series:1")
    assert bot_entry.actor_id is None and bot_entry.details == {}
    assert await db.list_audit() == [bot_entry, entry]
    assert await db.list_audit(action="series.create") == [entry]
    assert await db.list_audit(target="series:1", limit=1) == [bot_entry]
    assert await db.list_audit(target="series:2") == []


async def test_a_naive_clock_is_refused(db_path: Path) -> None:
    async with Database.open(db_path, clock=lambda: datetime(2030, 1, 1)) as db:  # noqa: DTZ001
        with pytest.raises(TypeError, match="naive"):
            await db.add_feedback(1, "when?")
        assert await db.count_feedback() == 0
