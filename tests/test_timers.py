"""Timers fire one-shot jobs at aware instants; ids replace, cancel and describe jobs."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest
import time_machine

from bot.timers import CLOCK_CHECK_SECONDS, HANDOFF_WINDOW, Timers


def _soon(seconds: float = 0.05) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


async def test_job_fires_with_its_arguments() -> None:
    timers = Timers()
    timers.start()
    fired: asyncio.Queue[str] = asyncio.Queue()

    async def remind(who: str) -> None:
        await fired.put(who)

    timers.schedule_at("reminder:1:60", _soon(), remind, "ana")
    assert await asyncio.wait_for(fired.get(), timeout=5) == "ana"
    assert "reminder:1:60" not in timers.pending()
    timers.shutdown()


async def test_same_id_replaces_instead_of_doubling() -> None:
    timers = Timers()
    timers.start()
    fired: asyncio.Queue[str] = asyncio.Queue()

    async def remind(label: str) -> None:
        await fired.put(label)

    timers.schedule_at("reminder:7:15", _soon(30), remind, "first")
    timers.schedule_at("reminder:7:15", _soon(0.05), remind, "second")
    assert len(timers) == 1
    assert await asyncio.wait_for(fired.get(), timeout=5) == "second"
    # A marker job scheduled after it proves nothing else was queued behind "second".
    timers.schedule_at("marker", _soon(0.05), remind, "marker")
    assert await asyncio.wait_for(fired.get(), timeout=5) == "marker"
    timers.shutdown()


async def test_cancel_and_cancel_matching() -> None:
    timers = Timers()
    timers.start()

    async def nothing() -> None:
        return None

    for job_id in ("open:1", "reminder:1:60", "reminder:1:15", "reminder:2:60"):
        timers.schedule_at(job_id, _soon(3600), nothing)
    assert timers.cancel("open:1") is True
    assert timers.cancel("open:1") is False
    assert timers.cancel_matching("reminder:1:") == 2
    assert set(timers.pending()) == {"reminder:2:60"}
    timers.shutdown()


async def test_naive_datetime_is_refused() -> None:
    timers = Timers()

    async def nothing() -> None:
        return None

    naive = dt.datetime(2026, 3, 8, 2, 30)  # noqa: DTZ001 - the point of the test
    with pytest.raises(TypeError, match="aware"):
        timers.schedule_at("open:9", naive, nothing)


async def test_failing_job_is_logged_with_its_id(caplog: pytest.LogCaptureFixture) -> None:
    timers = Timers()
    timers.start()
    done = asyncio.Event()

    async def broken() -> None:
        done.set()
        raise RuntimeError("boom")

    timers.schedule_at("notice:3:cancelled", _soon(), broken)
    await asyncio.wait_for(done.wait(), timeout=5)
    # The callback raises in the same step that set the event, so the log line already exists.
    timers.shutdown()
    assert any("notice:3:cancelled" in record.getMessage() for record in caplog.records)


async def test_a_faster_clock_fires_at_its_own_instants() -> None:
    """The demo's clock runs 600x: a job ten clock-minutes ahead fires about a second later."""
    start_wall = dt.datetime.now(dt.UTC)
    start_clock = dt.datetime(2026, 3, 8, 9, 0, tzinfo=dt.UTC)
    speed = 600.0

    def fast_clock() -> dt.datetime:
        return start_clock + (dt.datetime.now(dt.UTC) - start_wall) * speed

    timers = Timers(clock=fast_clock, speed=speed)
    timers.start()
    fired: asyncio.Queue[dt.datetime] = asyncio.Queue()

    async def note_time() -> None:
        await fired.put(fast_clock())

    due = start_clock + dt.timedelta(minutes=10)
    timers.schedule_at("open:1", due, note_time)
    assert timers.pending() == {"open:1": due}
    fired_at = await asyncio.wait_for(fired.get(), timeout=10)
    assert fired_at >= due
    assert timers.pending() == {}
    timers.shutdown()


async def test_a_forward_jump_of_the_wall_clock_runs_the_jobs_now_due_at_once() -> None:
    # The machine wakes from a suspend (or NTP corrects it) an hour later by the wall clock, while the
    # event loop's monotonic clock moved on by a moment: a reminder due meanwhile must not wait an hour more.
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as traveller:
        timers = Timers()
        timers.start()
        fired: asyncio.Queue[str] = asyncio.Queue()

        async def remind(label: str) -> None:
            await fired.put(label)

        timers.schedule_at("reminder:1:60", _soon(3600), remind, "due after the jump")
        timers.schedule_at("reminder:2:60", _soon(7200), remind, "still an hour away")
        await asyncio.sleep(0.3)  # APScheduler has armed its wait for the first job, an hour long
        traveller.shift(dt.timedelta(hours=1, seconds=1))
        assert await asyncio.wait_for(fired.get(), timeout=3 * CLOCK_CHECK_SECONDS) == "due after the jump"
        assert list(timers.pending()) == ["reminder:2:60"], "a job not yet due is not run early"
        timers.shutdown()


def _fast_clock(speed: float) -> tuple[dt.datetime, Callable[[], dt.datetime]]:
    """A clock running `speed` times faster than the wall clock, and its starting instant."""
    start_wall = dt.datetime.now(dt.UTC)
    start_clock = dt.datetime(2026, 3, 8, 9, 0, tzinfo=dt.UTC)

    def clock() -> dt.datetime:
        return start_clock + (dt.datetime.now(dt.UTC) - start_wall) * speed

    return start_clock, clock


# Hours of the clock pass in a tenth of a second: jobs beyond HANDOFF_WINDOW are held, then handed over.
SPEED = 36_000.0


async def test_jobs_beyond_the_handoff_window_fire_at_their_instants_in_order() -> None:
    start, clock = _fast_clock(SPEED)
    timers = Timers(clock=clock, speed=SPEED)
    timers.start()
    fired: asyncio.Queue[tuple[str, dt.datetime]] = asyncio.Queue()

    async def note(label: str) -> None:
        await fired.put((label, clock()))

    far = start + HANDOFF_WINDOW * 3
    farther = start + HANDOFF_WINDOW * 5
    timers.schedule_at("close:2", farther, note, "farther")
    timers.schedule_at("close:1", far, note, "far")
    timers.schedule_at("open:1", start + dt.timedelta(minutes=5), note, "near")
    assert timers.pending() == {"close:2": farther, "close:1": far, "open:1": start + dt.timedelta(minutes=5)}
    assert len(timers) == 3
    got = [await asyncio.wait_for(fired.get(), timeout=10) for _ in range(3)]
    assert [label for label, _ in got] == ["near", "far", "farther"]
    assert got[1][1] >= far and got[2][1] >= farther
    assert timers.pending() == {} and len(timers) == 0
    timers.shutdown()


async def test_a_held_job_replaced_or_cancelled_never_fires_in_its_old_form() -> None:
    start, clock = _fast_clock(SPEED)
    timers = Timers(clock=clock, speed=SPEED)
    timers.start()
    fired: asyncio.Queue[str] = asyncio.Queue()

    async def note(label: str) -> None:
        await fired.put(label)

    # Far, then brought near: fires once, as the near one.
    timers.schedule_at("reminder:1:60", start + HANDOFF_WINDOW * 2, note, "far version")
    timers.schedule_at("reminder:1:60", start + dt.timedelta(minutes=1), note, "near version")
    # Near, then pushed far: fires once, as the far one.
    timers.schedule_at("reminder:2:60", start + dt.timedelta(minutes=1), note, "early version")
    timers.schedule_at("reminder:2:60", start + HANDOFF_WINDOW * 3, note, "late version")
    # Held, then cancelled, one by id and two by prefix.
    timers.schedule_at("open:3", start + HANDOFF_WINDOW * 2, note, "cancelled")
    timers.schedule_at("reminder:4:60", start + HANDOFF_WINDOW * 2, note, "cancelled by prefix")
    timers.schedule_at("reminder:4:15", start + HANDOFF_WINDOW * 2, note, "cancelled by prefix")
    assert timers.cancel("open:3") is True
    assert timers.cancel("open:3") is False
    assert timers.cancel_matching("reminder:4:") == 2
    assert len(timers) == 2
    timers.schedule_at("marker", start + HANDOFF_WINDOW * 4, note, "marker")
    got = [await asyncio.wait_for(fired.get(), timeout=10) for _ in range(3)]
    assert got == ["near version", "late version", "marker"]
    assert fired.empty() and timers.pending() == {}
    timers.shutdown()
