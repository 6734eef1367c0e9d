"""Timers fire one-shot jobs at aware instants; ids replace, cancel and describe jobs."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import time_machine

from bot.timers import CLOCK_CHECK_SECONDS, Timers


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
