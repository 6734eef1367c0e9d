"""Series and occurrences: rules stored as given, re-expansion that keeps per-occurrence changes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from bot.errors import ConflictError, NotFoundError, ScheduleError
from bot.model import SeriesRow
from bot.storage import Database

from .conftest import START, FakeClock

WEEK = timedelta(days=7)


async def _series(db: Database, **overrides: object) -> SeriesRow:
    fields: dict[str, object] = {
        "title": "Morning practice",
        "weekdays": ["WE", "MO"],
        "local_time": time(9, 30),
        "starts_on": date(2030, 1, 7),
        "duration_minutes": 45,
        "channel_id": 555,
    }
    fields.update(overrides)
    return await db.create_series(**fields)  # type: ignore[arg-type]


def _starts(count: int) -> list[datetime]:
    return [START + WEEK * n for n in range(1, count + 1)]


async def test_create_get_and_list_series(db: Database, clock: FakeClock) -> None:
    series = await _series(db, default_practice="affectionate-breathing", until=date(2030, 6, 30))
    assert series.weekdays == ("MO", "WE")  # normalised to week order
    assert series.local_time == time(9, 30)
    assert series.status == "active"
    assert series.created_at == clock.now
    assert await db.get_series(series.id) == series
    assert await db.get_series(999) is None
    assert await db.list_series() == [series]
    assert await db.list_series(["paused"]) == []


async def test_update_series_changes_only_given_fields(db: Database, clock: FakeClock) -> None:
    series = await _series(db)
    clock.advance(timedelta(hours=1))
    updated = await db.update_series(series.id, status="paused", until=date(2030, 3, 1))
    assert updated.status == "paused"
    assert updated.until == date(2030, 3, 1)
    assert updated.title == series.title and updated.weekdays == series.weekdays
    assert updated.updated_at == clock.now and updated.created_at == series.created_at
    cleared = await db.update_series(series.id, until=None)
    assert cleared.until is None
    with pytest.raises(NotFoundError):
        await db.update_series(999, title="x")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weekdays": ["XX"]}, "weekdays"),
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["MO", "mo"]}, "repeat"),
        ({"local_time": time(9, 30, 15)}, "whole minutes"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"interval_weeks": 0}, "interval_weeks"),
        ({"until": date(2029, 12, 31)}, "before it starts"),
        ({"title": "  "}, "title"),
    ],
)
async def test_invalid_series_is_refused(db: Database, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        await _series(db, **overrides)
    assert await db.list_series() == []


async def test_ensure_occurrences_adds_only_missing(db: Database) -> None:
    series = await _series(db)
    assert await db.ensure_occurrences(series.id, _starts(3), 45, 555, "Morning practice", None) == 3
    assert await db.ensure_occurrences(series.id, _starts(5), 45, 555, "Morning practice", None) == 2
    assert await db.ensure_occurrences(series.id, _starts(5), 45, 555, "Morning practice", None) == 0
    listed = await db.list_occurrences(START, START + 10 * WEEK)
    assert [o.start_utc for o in listed] == _starts(5)
    assert all(o.recurrence_id == o.start_utc and o.change_version == 1 for o in listed)


async def test_re_expansion_keeps_a_cancel_and_a_move(db: Database) -> None:
    series = await _series(db)
    starts = _starts(4)
    await db.ensure_occurrences(series.id, starts, 45, 555, "Morning practice", None)
    first, second, third, _fourth = await db.list_occurrences(START, START + 10 * WEEK)

    await db.cancel_occurrence(second.id)
    new_start = third.start_utc + timedelta(hours=2)
    await db.move_occurrence(third.id, new_start)
    await db.set_occurrence_channel(first.id, 777)

    # The schedule expands the same rule again (plus one more week): nothing comes back.
    assert await db.ensure_occurrences(series.id, _starts(5), 45, 555, "Morning practice", None) == 1

    after = {o.id: o for o in await db.list_occurrences(START, START + 10 * WEEK)}
    assert len(after) == 5
    assert after[second.id].status == "cancelled"
    assert after[third.id].start_utc == new_start
    assert after[third.id].recurrence_id == starts[2]
    assert after[third.id].is_moved
    assert after[first.id].channel_id == 777
    assert [o.id for o in after.values() if o.recurrence_id == starts[2]] == [third.id]


async def test_changes_raise_change_version_and_return_before_and_after(db: Database, clock: FakeClock) -> None:
    occurrence = await db.add_one_off(
        start=START + WEEK, duration_minutes=30, channel_id=1, title="One-off", practice="rec-1"
    )
    assert occurrence.series_id is None and occurrence.recurrence_id == occurrence.start_utc
    clock.advance(timedelta(minutes=5))
    old, moved = await db.move_occurrence(occurrence.id, START + WEEK + timedelta(hours=1))
    assert old == occurrence
    assert moved.change_version == 2 and moved.updated_at == clock.now
    old, rechannelled = await db.set_occurrence_channel(occurrence.id, 2)
    assert old == moved and rechannelled.change_version == 3 and rechannelled.channel_id == 2
    old, cancelled = await db.cancel_occurrence(occurrence.id)
    assert old == rechannelled and cancelled.change_version == 4 and cancelled.status == "cancelled"

    with pytest.raises(ConflictError, match="already cancelled"):
        await db.cancel_occurrence(occurrence.id)
    with pytest.raises(ConflictError):
        await db.move_occurrence(occurrence.id, START)
    with pytest.raises(NotFoundError):
        await db.cancel_occurrence(999)


async def test_lifecycle_status_does_not_raise_the_version(db: Database) -> None:
    occurrence = await db.add_one_off(start=START + WEEK, duration_minutes=30, channel_id=1, title="x")
    _, opened = await db.set_occurrence_status(occurrence.id, "open")
    _, led = await db.set_occurrence_status(occurrence.id, "teacher_led")
    _, closed = await db.set_occurrence_status(occurrence.id, "closed")
    assert (opened.status, led.status, closed.status) == ("open", "teacher_led", "closed")
    assert closed.change_version == 1
    with pytest.raises(ValueError, match="cancel_occurrence"):
        await db.set_occurrence_status(occurrence.id, "cancelled")
    with pytest.raises(ConflictError):
        await db.set_occurrence_status(occurrence.id, "open")


async def test_list_occurrences_filters_window_status_and_series(db: Database) -> None:
    series = await _series(db)
    await db.ensure_occurrences(series.id, _starts(3), 45, 555, "Morning practice", None)
    one_off = await db.add_one_off(start=START + 2 * WEEK, duration_minutes=30, channel_id=1, title="x")
    first = (await db.list_occurrences(START, START + 10 * WEEK))[0]
    await db.cancel_occurrence(first.id)

    window = await db.list_occurrences(START + 2 * WEEK, START + 3 * WEEK)  # end is exclusive
    assert [o.start_utc for o in window] == [START + 2 * WEEK, START + 2 * WEEK]
    scheduled = await db.list_occurrences(START, START + 10 * WEEK, statuses=["scheduled"])
    assert len(scheduled) == 3 and first.id not in {o.id for o in scheduled}
    assert await db.list_occurrences(START, START + 10 * WEEK, statuses=[]) == []
    of_series = await db.list_occurrences(START, START + 10 * WEEK, series_id=series.id)
    assert one_off.id not in {o.id for o in of_series} and len(of_series) == 3


async def test_ensure_occurrences_checks_its_input(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.ensure_occurrences(999, _starts(1), 45, 1, "x", None)
    series = await _series(db)
    with pytest.raises(TypeError, match="naive"):
        await db.ensure_occurrences(series.id, [datetime(2030, 1, 1, 9)], 45, 1, "x", None)  # noqa: DTZ001
    assert await db.list_occurrences(START - 100 * WEEK, START + 100 * WEEK) == []
