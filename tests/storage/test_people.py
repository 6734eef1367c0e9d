"""Sign-ups (single and series), teacher claims, member preferences and attendance."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from bot.errors import ConflictError, NotFoundError
from bot.storage import Database

from .conftest import START, FakeClock

WEEK = timedelta(days=7)


async def _one_off(db: Database, start_in: timedelta = WEEK) -> int:
    occurrence = await db.add_one_off(start=START + start_in, duration_minutes=45, channel_id=1, title="x")
    return occurrence.id


async def _series_with_occurrences(db: Database, weeks: range) -> tuple[int, list[int]]:
    series = await db.create_series(
        title="Evening",
        weekdays=["TU"],
        local_time=time(18, 0),
        starts_on=date(2029, 12, 1),
        duration_minutes=45,
        channel_id=1,
    )
    await db.ensure_occurrences(series.id, [START + WEEK * n for n in weeks], 45, 1, "Evening", None)
    occurrences = await db.list_occurrences(START - 100 * WEEK, START + 100 * WEEK, series_id=series.id)
    return series.id, [o.id for o in occurrences]


# --- sign-ups -------------------------------------------------------------------------------------


async def test_sign_up_and_out(db: Database, clock: FakeClock) -> None:
    occurrence_id = await _one_off(db)
    assert await db.sign_up(occurrence_id, 1, "button") is True
    assert await db.sign_up(occurrence_id, 1, "command") is False
    assert await db.sign_up(occurrence_id, 2) is True
    signups = await db.list_signups(occurrence_id)
    assert [(s.user_id, s.source, s.created_at) for s in signups] == [
        (1, "button", clock.now),
        (2, "command", clock.now),
    ]
    assert await db.sign_out(occurrence_id, 1) is True
    assert await db.sign_out(occurrence_id, 1) is False
    assert await db.signed_up_user_ids(occurrence_id) == [2]
    assert await db.count_signups(occurrence_id) == 1


async def test_sign_up_refuses_missing_and_cancelled_sessions(db: Database) -> None:
    with pytest.raises(NotFoundError):
        await db.sign_up(999, 1)
    occurrence_id = await _one_off(db)
    await db.cancel_occurrence(occurrence_id)
    with pytest.raises(ConflictError, match="cancelled"):
        await db.sign_up(occurrence_id, 1)


async def test_series_sign_up_covers_upcoming_and_later_occurrences(db: Database) -> None:
    series_id, (past, cancelled, upcoming) = await _series_with_occurrences(db, range(-1, 2))
    await db.cancel_occurrence(cancelled)
    assert await db.sign_up_series(series_id, 7) is True
    assert await db.signed_up_user_ids(upcoming) == [7]
    assert await db.signed_up_user_ids(past) == []
    assert await db.signed_up_user_ids(cancelled) == []

    # Occurrences added later by re-expansion include the series member.
    await db.ensure_occurrences(series_id, [START + WEEK * 5], 45, 1, "Evening", None)
    later = (await db.list_occurrences(START + 5 * WEEK, START + 6 * WEEK))[0]
    assert await db.signed_up_user_ids(later.id) == [7]
    assert [s.source for s in await db.list_signups(later.id)] == ["series"]
    assert await db.series_signup_user_ids(series_id) == [7]


async def test_single_sign_out_survives_series_sign_up_and_re_expansion(db: Database) -> None:
    series_id, (first, second) = await _series_with_occurrences(db, range(1, 3))
    await db.sign_up_series(series_id, 7)
    await db.sign_out(first, 7)
    assert await db.sign_up_series(series_id, 7) is False  # already following: nothing re-added
    await db.ensure_occurrences(series_id, [START + WEEK * n for n in range(1, 4)], 45, 1, "Evening", None)
    assert await db.signed_up_user_ids(first) == []
    assert await db.signed_up_user_ids(second) == [7]


async def test_series_sign_out_removes_only_what_the_series_added(db: Database) -> None:
    series_id, (first, second) = await _series_with_occurrences(db, range(1, 3))
    await db.sign_up(first, 7, "button")  # made by hand before following the series
    await db.sign_up_series(series_id, 7)
    assert await db.sign_out_series(series_id, 7) is True
    assert await db.sign_out_series(series_id, 7) is False
    assert await db.signed_up_user_ids(first) == [7]
    assert await db.signed_up_user_ids(second) == []
    assert await db.series_signup_user_ids(series_id) == []


async def test_ended_series_takes_no_sign_ups(db: Database) -> None:
    series_id, _ = await _series_with_occurrences(db, range(1, 2))
    await db.update_series(series_id, status="ended")
    with pytest.raises(ConflictError, match="ended"):
        await db.sign_up_series(series_id, 1)
    with pytest.raises(NotFoundError):
        await db.sign_up_series(999, 1)


async def test_list_user_occurrences(db: Database) -> None:
    early = await _one_off(db, WEEK)
    late = await _one_off(db, 3 * WEEK)
    other = await _one_off(db, 2 * WEEK)
    for occurrence_id in (late, early):
        await db.sign_up(occurrence_id, 9)
    await db.sign_up(other, 10)
    assert [o.id for o in await db.list_user_occurrences(9, START)] == [early, late]
    assert [o.id for o in await db.list_user_occurrences(9, START, START + 2 * WEEK)] == [early]


# --- teacher claims -------------------------------------------------------------------------------


async def test_claim_is_idempotent_for_the_same_teacher(db: Database, clock: FakeClock) -> None:
    occurrence_id = await _one_off(db)
    claim = await db.claim_teacher(occurrence_id, 100)
    assert claim.teacher_id == 100 and claim.claimed_at == clock.now
    clock.advance(timedelta(minutes=1))
    assert await db.claim_teacher(occurrence_id, 100) == claim
    with pytest.raises(ConflictError, match="already claimed"):
        await db.claim_teacher(occurrence_id, 101)


async def test_release_deletes_the_claim_and_audits_it(db: Database) -> None:
    occurrence_id = await _one_off(db)
    await db.claim_teacher(occurrence_id, 100)
    with pytest.raises(ConflictError):
        await db.release_teacher(occurrence_id, actor_id=101, teacher_id=101)
    released = await db.release_teacher(occurrence_id, actor_id=100, reason="feeling unwell", teacher_id=100)
    assert released is not None and released.teacher_id == 100
    assert await db.get_teacher_claim(occurrence_id) is None
    assert await db.release_teacher(occurrence_id, actor_id=100) is None
    (entry,) = await db.list_audit(action="teacher.release")
    assert entry.actor_id == 100 and entry.target == f"occurrence:{occurrence_id}"
    assert entry.details == {"teacher_id": 100, "reason": "feeling unwell"}
    # Once released, another teacher may claim it.
    assert (await db.claim_teacher(occurrence_id, 101)).teacher_id == 101


async def test_cancelled_session_cannot_be_claimed(db: Database) -> None:
    occurrence_id = await _one_off(db)
    await db.cancel_occurrence(occurrence_id)
    with pytest.raises(ConflictError):
        await db.claim_teacher(occurrence_id, 100)
    with pytest.raises(NotFoundError):
        await db.claim_teacher(999, 100)


# --- members --------------------------------------------------------------------------------------


async def test_member_preferences_partial_updates(db: Database) -> None:
    assert await db.get_member(5) is None
    created = await db.set_member(5, timezone="Europe/Berlin")
    assert (created.timezone, created.reminder_offsets, created.reminder_channel, created.dm_closed) == (
        "Europe/Berlin",
        None,
        "dm",
        False,
    )
    updated = await db.set_member(5, reminder_offsets=[15, 60, 15], dm_closed=True)
    assert updated.timezone == "Europe/Berlin"
    assert updated.reminder_offsets == (60, 15)
    assert updated.dm_closed is True
    silenced = await db.set_member(5, reminder_offsets=[], reminder_channel="thread", timezone=None)
    assert silenced.reminder_offsets == () and silenced.reminder_channel == "thread"
    assert silenced.timezone is None
    assert await db.get_member(5) == silenced


async def test_member_preferences_are_validated(db: Database) -> None:
    with pytest.raises(ValueError, match="positive"):
        await db.set_member(5, reminder_offsets=[0])
    with pytest.raises(ValueError, match="channel"):
        await db.set_member(5, reminder_channel="email")  # type: ignore[arg-type]
    assert await db.get_member(5) is None


# --- attendance -----------------------------------------------------------------------------------


async def test_attendance_join_leave_and_close(db: Database) -> None:
    occurrence_id = await _one_off(db)
    t0 = START + WEEK
    assert await db.record_join(occurrence_id, 1, t0) is True
    assert await db.record_join(occurrence_id, 1, t0 + timedelta(minutes=1)) is False  # repeated event
    assert await db.record_leave(occurrence_id, 1, t0 + timedelta(minutes=10)) is True
    assert await db.record_leave(occurrence_id, 1, t0 + timedelta(minutes=11)) is False
    assert await db.record_join(occurrence_id, 1, t0 + timedelta(minutes=20)) is True
    assert await db.record_join(occurrence_id, 2, t0 + timedelta(minutes=5)) is True
    assert await db.close_attendance(occurrence_id, t0 + timedelta(minutes=45)) == 2
    stays = await db.list_attendance(occurrence_id)
    assert [(s.user_id, s.joined_at - t0, s.left_at - t0 if s.left_at else None) for s in stays] == [
        (1, timedelta(0), timedelta(minutes=10)),
        (2, timedelta(minutes=5), timedelta(minutes=45)),
        (1, timedelta(minutes=20), timedelta(minutes=45)),
    ]
    with pytest.raises(NotFoundError):
        await db.record_join(999, 1, t0)
