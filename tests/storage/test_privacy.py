"""Forgetting a member in storage: finished runs lose their id, running ones keep it to restore; departures."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import Database
from bot.storage.privacy import FORGOTTEN, scrub_id
from tests.storage.conftest import FakeClock

SAM, PRIYA = 111111111111111111, 222222222222222222


def test_scrub_id_replaces_the_id_wherever_it_is_and_nothing_else() -> None:
    details = {"teacher_id": SAM, "others": [PRIYA, SAM], "note": f"<@{SAM}> and <@{PRIYA}>", "flag": True}
    assert scrub_id(details, SAM) == {
        "teacher_id": FORGOTTEN,
        "others": [PRIYA],
        "note": f"<@{FORGOTTEN}> and <@{PRIYA}>",
        "flag": True,
    }


async def test_a_finished_run_forgets_the_member_but_a_running_one_keeps_them_until_it_closes(
    db: Database, clock: FakeClock
) -> None:
    channel = 5
    done = await db.add_one_off(start=clock() - timedelta(hours=3), duration_minutes=45, channel_id=channel, title="A")
    running = await db.add_one_off(start=clock(), duration_minutes=45, channel_id=channel, title="B")
    for occurrence, phase in ((done, "closed"), (running, "recording")):
        await db.start_run(occurrence.id, "voice")
        await db.set_phase(occurrence.id, phase, choice="silent:15", chosen_by=SAM)  # type: ignore[arg-type]
        await db.update_restrictions(occurrence.id, {"muted": [SAM, PRIYA]})

    assert await db.holds_unfinished_safety_records(SAM)
    assert not await db.holds_unfinished_safety_records(PRIYA + 1)
    await db.forget_member(SAM)

    finished = await db.get_run(done.id)
    assert finished is not None and finished.chosen_by is None and finished.restrictions == {"muted": [PRIYA]}
    still = await db.get_run(running.id)
    assert still is not None and still.chosen_by == SAM and still.restrictions == {"muted": [SAM, PRIYA]}


async def test_departures_are_remembered_once_and_forgotten_on_return(db: Database, clock: FakeClock) -> None:
    await db.mark_departed(SAM, clock())
    clock.advance(timedelta(days=2))
    await db.mark_departed(SAM, clock())  # the earliest departure counts
    await db.mark_departed(PRIYA, clock())

    assert await db.departed_before(clock()) == [SAM]
    assert await db.departed_before(clock() + timedelta(seconds=1)) == [SAM, PRIYA]
    assert await db.mark_returned(PRIYA) and not await db.mark_returned(PRIYA)
    assert await db.departed_before(clock() + timedelta(days=1)) == [SAM]
