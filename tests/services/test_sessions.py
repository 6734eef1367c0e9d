"""The rolling horizon stores each series' sessions once, in UTC, and keeps per-session changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.schedule.rules import rule_for
from bot.services.horizon import Horizon
from bot.storage import Database

UTC = dt.UTC


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def db(tmp_path: Path, clock: Clock) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "sessions.sqlite3", clock=clock)
    yield database
    await database.close()


async def monday_wednesday(db: Database) -> int:
    series = await db.create_series(
        title="Evening practice",
        weekdays=["MO", "WE"],
        local_time=dt.time(18, 30),
        starts_on=dt.date(2026, 3, 1),
        duration_minutes=45,
        channel_id=555,
    )
    return series.id


async def starts(db: Database, series_id: int) -> list[dt.datetime]:
    far = dt.datetime(2030, 1, 1, tzinfo=UTC)
    rows = await db.list_occurrences(dt.datetime(2026, 1, 1, tzinfo=UTC), far, series_id=series_id)
    return [row.start_utc for row in rows]


async def test_sessions_are_stored_in_utc_across_the_spring_change(db: Database, clock: Clock) -> None:
    series_id = await monday_wednesday(db)
    horizon = Horizon(db, dt.timedelta(days=14), clock)
    assert await horizon.extend() == 4
    # 18:30 PST is 02:30Z the next day; after 8 March (PDT) it is 01:30Z.
    assert await starts(db, series_id) == [
        dt.datetime(2026, 3, 3, 2, 30, tzinfo=UTC),  # Mon 2 Mar, PST
        dt.datetime(2026, 3, 5, 2, 30, tzinfo=UTC),  # Wed 4 Mar, PST
        dt.datetime(2026, 3, 10, 1, 30, tzinfo=UTC),  # Mon 9 Mar, PDT
        dt.datetime(2026, 3, 12, 1, 30, tzinfo=UTC),  # Wed 11 Mar, PDT
    ]


async def test_extending_again_adds_only_new_sessions_and_keeps_changes(db: Database, clock: Clock) -> None:
    series_id = await monday_wednesday(db)
    horizon = Horizon(db, dt.timedelta(days=14), clock)
    await horizon.extend()
    first, second, *_ = await db.list_occurrences(clock.now, clock.now + dt.timedelta(days=14), series_id=series_id)
    await db.cancel_occurrence(first.id)
    moved_to = second.start_utc + dt.timedelta(hours=1)
    await db.move_occurrence(second.id, moved_to)

    assert await horizon.extend() == 0, "nothing new inside the same horizon"
    clock.now += dt.timedelta(days=7)
    assert await horizon.extend() == 2, "one more week: Monday and Wednesday"

    rows = await db.list_occurrences(dt.datetime(2026, 3, 1, tzinfo=UTC), clock.now + dt.timedelta(days=14))
    assert len(rows) == 6
    by_id = {row.id: row for row in rows}
    assert by_id[first.id].status == "cancelled"
    assert by_id[second.id].start_utc == moved_to
    assert by_id[second.id].recurrence_id == second.start_utc
    assert len({row.recurrence_id for row in rows}) == 6, "no recurrence stored twice"


async def test_paused_and_ended_series_are_not_expanded(db: Database, clock: Clock) -> None:
    series_id = await monday_wednesday(db)
    await db.update_series(series_id, status="paused")
    assert await Horizon(db, dt.timedelta(days=28), clock).extend() == 0
    assert await starts(db, series_id) == []


async def test_rule_for_reads_the_stored_series_back(db: Database) -> None:
    series_id = await monday_wednesday(db)
    series = await db.get_series(series_id)
    assert series is not None
    rule = rule_for(series)
    assert rule.weekdays == frozenset({0, 2})
    assert rule.at == dt.time(18, 30)
    assert rule.to_rrule().startswith("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE")
