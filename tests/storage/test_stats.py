"""Per-session figures for the popularity report: sign-ups, distinct attendance, teacher or not."""

from __future__ import annotations

from datetime import date, time, timedelta

from bot.model import OccurrenceStatus
from bot.storage import Database

from .conftest import START, FakeClock

WEEK = timedelta(days=7)
MINUTE = timedelta(minutes=1)


async def _series(db: Database, title: str = "Morning") -> int:
    series = await db.create_series(
        title=title,
        weekdays=["TU"],
        local_time=time(9, 0),
        starts_on=date(2030, 1, 1),
        duration_minutes=45,
        channel_id=1,
    )
    return series.id


async def _close(db: Database, clock: FakeClock, occurrence_id: int, running_status: OccurrenceStatus) -> None:
    """Run a session the way the session runner does: open, teacher_led/no_teacher, then closed."""
    await db.set_occurrence_status(occurrence_id, "open")
    await db.set_occurrence_status(occurrence_id, running_status)
    clock.advance(MINUTE)
    await db.set_occurrence_status(occurrence_id, "closed")


async def test_figures_per_session_match_what_happened(db: Database, clock: FakeClock) -> None:
    series_id = await _series(db)
    starts = [START + WEEK * n for n in range(1, 5)]
    await db.ensure_occurrences(series_id, starts, 45, 1, "Morning", None)
    o1, o2, o3, o4 = (row.id for row in await db.list_occurrences(START, START + 10 * WEEK, series_id=series_id))
    o5 = (await db.add_one_off(start=START + 2 * WEEK + MINUTE, duration_minutes=30, channel_id=2, title="Extra")).id
    o6 = (await db.add_one_off(start=START + 9 * WEEK, duration_minutes=30, channel_id=2, title="Later")).id

    for user in (1, 2, 3):
        await db.sign_up(o1, user)
    await db.sign_up(o2, 1)
    await db.sign_up(o4, 2)
    await db.sign_up(o6, 4)
    await db.sign_up(o6, 5)

    # o1: user 1 comes twice, user 2 once, user 9 without signing up: three people.
    await db.record_join(o1, 1)
    await db.record_leave(o1, 1)
    await db.record_join(o1, 1)
    await db.record_join(o1, 2)
    await db.record_join(o1, 9)
    await db.close_attendance(o1)
    await db.record_join(o2, 1)

    # o1: claimed and led to the end.
    await db.claim_teacher(o1, 100)
    await _close(db, clock, o1, "teacher_led")
    # o2: nobody claimed it and it is still running without a teacher.
    await db.set_occurrence_status(o2, "no_teacher")
    # o3: claimed, released before it started, then ran without a teacher and closed.
    await db.claim_teacher(o3, 101)
    await db.release_teacher(o3, actor_id=101, reason="unwell")
    clock.advance(MINUTE)
    await _close(db, clock, o3, "no_teacher")
    # o4: cancelled.
    await db.cancel_occurrence(o4)
    # o5: claimed, led, closed, and the claim released only afterwards (a tidy-up).
    await db.claim_teacher(o5, 102)
    await _close(db, clock, o5, "teacher_led")
    clock.advance(MINUTE)
    await db.release_teacher(o5, actor_id=None, reason="tidy-up")
    # o6: still ahead, unclaimed.

    stats = await db.occurrence_stats(START, START + 10 * WEEK)

    assert [
        (s.occurrence_id, s.series_id, s.title, s.series_title, s.start_utc, s.status, s.signups, s.attendance)
        for s in stats
    ] == [
        (o1, series_id, "Morning", "Morning", starts[0], "closed", 3, 3),
        (o2, series_id, "Morning", "Morning", starts[1], "no_teacher", 1, 1),
        (o5, None, "Extra", None, START + 2 * WEEK + MINUTE, "closed", 0, 0),
        (o3, series_id, "Morning", "Morning", starts[2], "closed", 0, 0),
        (o4, series_id, "Morning", "Morning", starts[3], "cancelled", 1, 0),
        (o6, None, "Later", None, START + 9 * WEEK, "scheduled", 2, 0),
    ]
    teacher = {s.occurrence_id: (s.teacher_claimed, s.without_teacher) for s in stats}
    assert teacher == {
        o1: (True, False),
        o2: (False, True),
        o3: (False, True),
        o4: (False, False),
        o5: (True, False),
        o6: (False, False),
    }


async def test_only_sessions_starting_in_the_window_are_counted(db: Database) -> None:
    first = await db.add_one_off(start=START, duration_minutes=30, channel_id=1, title="At the start")
    await db.add_one_off(start=START + WEEK, duration_minutes=30, channel_id=1, title="At the end")
    await db.add_one_off(start=START - MINUTE, duration_minutes=30, channel_id=1, title="Before")
    stats = await db.occurrence_stats(START, START + WEEK)
    assert [s.occurrence_id for s in stats] == [first.id]
    assert await db.occurrence_stats(START + WEEK, START) == []


async def test_a_release_of_another_session_does_not_count(db: Database, clock: FakeClock) -> None:
    # Audit targets are 'occurrence:<id>'; ids 1 and 11 must not be confused.
    ids = [
        (await db.add_one_off(start=START + n * MINUTE, duration_minutes=30, channel_id=1, title=f"s{n}")).id
        for n in range(11)
    ]
    first, eleventh = ids[0], ids[10]
    assert (first, eleventh) == (1, 11)
    await db.claim_teacher(first, 100)
    await db.release_teacher(first, actor_id=100)
    await db.claim_teacher(eleventh, 100)
    await _close(db, clock, first, "no_teacher")
    await _close(db, clock, eleventh, "teacher_led")
    clock.advance(MINUTE)
    await db.release_teacher(eleventh, actor_id=None)
    by_id = {s.occurrence_id: s for s in await db.occurrence_stats(START, START + WEEK)}
    assert (by_id[first].teacher_claimed, by_id[first].without_teacher) == (False, True)
    assert (by_id[eleventh].teacher_claimed, by_id[eleventh].without_teacher) == (True, False)
