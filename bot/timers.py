"""One-shot timers at UTC instants, backed by APScheduler's AsyncIOScheduler.

The database is the source of truth: nothing here is persisted. At start-up `Core.start` has each
service rebuild its jobs from the database (reminders, unclaimed-session alerts, the session runner,
the daily horizon extension with its privacy and time-change steps, the schedule board's refresh;
the events mirror its refresh); a job's id says what it is (`reminder:<occurrence>:<offset>`,
`open:<occurrence>`, `board:refresh`, ...), so scheduling the same id twice
replaces the first instead of doubling it.

APScheduler waits for the next job on the event loop's monotonic clock, computed from the wall
clock when it last looked. If the wall clock then jumps forward (a suspended machine wakes, NTP
corrects a drift), jobs that are now due would wait out the old delay; a small watch notices the
jump and makes APScheduler look again at once.

Only jobs due within `HANDOFF_WINDOW` are APScheduler's. Later ones wait in a heap of our own and
are handed over by one internal job (`timers:handoff`) as their time comes near: a restart arms
eight jobs per upcoming session, tens of thousands, and APScheduler spends ~25 µs building each
job (it inspects the callback's signature) and keeps them in a sorted list, so handing it every
job made start-up take seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

log = logging.getLogger(__name__)

JobCallback = Callable[..., Awaitable[Any]]

# How often the watch compares the wall clock with the monotonic clock (the most a jump can delay a job).
CLOCK_CHECK_SECONDS = 2.0
# More than this between the two clocks' progress is a jump, not scheduling noise.
CLOCK_JUMP_TOLERANCE = dt.timedelta(seconds=1)

# Jobs due further ahead than this (on the core's clock) wait in Timers' own heap.
HANDOFF_WINDOW: Final = dt.timedelta(hours=1)
# The internal job that hands held jobs to APScheduler; never reported as pending.
HANDOFF_JOB_ID: Final = "timers:handoff"


# A job not yet given to APScheduler: (when, callback, args, sequence). A plain tuple, as start-up
# makes tens of thousands (a NamedTuple costs five times as much to build).
_Held = tuple[dt.datetime, JobCallback, tuple[Any, ...], int]


class Timers:
    """Named one-shot jobs that call a coroutine function at an aware instant of the core's clock.

    The core reads time from `clock`. In production that is the wall clock and `speed` is 1. The
    demo runs a faster clock (minutes become seconds); an instant on that clock is turned into the
    wall-clock moment APScheduler should fire at, so every part of the core agrees on "now".
    """

    def __init__(
        self,
        clock: Callable[[], dt.datetime] | None = None,
        speed: float = 1.0,
        *,
        clock_check_seconds: float = CLOCK_CHECK_SECONDS,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"timer speed must be positive, got {speed}")
        self._clock = clock
        self._speed = speed
        self._clock_check_seconds = clock_check_seconds
        self._clock_watch: asyncio.Task[None] | None = None
        # The instant each job was asked for, on the core's clock (APScheduler keeps wall-clock ones).
        self._requested: dict[str, dt.datetime] = {}
        # The same ids by their group, the id up to its last ':' ("reminder:12:" for "reminder:12:60"),
        # so cancel_matching need not walk every job: at start-up, when tens of thousands are armed,
        # asking APScheduler (a list scan per call before it starts) made the rebuild quadratic.
        self._by_group: dict[str, set[str]] = {}
        # Jobs due after HANDOFF_WINDOW, by id, and a heap of (when, sequence, id) over them; a
        # replaced or cancelled job leaves a stale heap entry, recognised by its sequence number.
        self._held: dict[str, _Held] = {}
        self._heap: list[tuple[dt.datetime, int, str]] = []
        self._sequence = itertools.count()
        self._handoff_at: dt.datetime | None = None
        # misfire_grace_time=None: a job that fires late because the event loop was busy still
        # runs; work that fell due while the bot was *down* is decided by bot.jobs, not here.
        self._scheduler = AsyncIOScheduler(
            timezone=dt.UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Start firing jobs on the running event loop, and watching for jumps of the wall clock."""
        if not self._scheduler.running:
            self._scheduler.start()
            self._clock_watch = asyncio.create_task(self._watch_the_clock(), name="timers-clock-watch")

    def shutdown(self) -> None:
        """Stop firing jobs; jobs not yet fired are forgotten (the database remembers)."""
        if self._clock_watch is not None:
            self._clock_watch.cancel()
            self._clock_watch = None
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for job_id in list(self._held):
            self._forget(job_id)
        self._held.clear()
        self._heap.clear()
        self._handoff_at = None

    async def _watch_the_clock(self) -> None:
        """Re-arm APScheduler whenever the wall clock has jumped forward past the monotonic one."""
        offset = _wall_minus_monotonic()
        while True:
            await asyncio.sleep(self._clock_check_seconds)
            now = _wall_minus_monotonic()
            jump, offset = now - offset, now
            if jump > CLOCK_JUMP_TOLERANCE:
                log.warning("the wall clock jumped forward by %s; running the jobs now due", jump)
                # Held jobs the jump brought near go to APScheduler first, so it runs them too.
                self.hand_over_due()
                with contextlib.suppress(Exception):  # a scheduler shutting down meanwhile has nothing to run
                    self._scheduler.wakeup()

    def schedule_at(self, job_id: str, when: dt.datetime, callback: JobCallback, *args: Any) -> None:
        """Run `callback(*args)` at `when` (aware); an existing job with this id is replaced."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise TypeError(f"timer {job_id!r} needs an aware datetime, got naive {when!r}")
        known = job_id in self._requested
        if when > self._now() + HANDOFF_WINDOW:
            if known and job_id not in self._held:
                self._remove_from_scheduler(job_id)
            self._hold(job_id, when, callback, args)
        else:
            if known:
                self._held.pop(job_id, None)
            self._give_to_scheduler(job_id, when, callback, args)
        self._requested[job_id] = when
        if not known:
            group = _group(job_id)
            ids = self._by_group.get(group)
            if ids is None:
                self._by_group[group] = {job_id}
            else:
                ids.add(job_id)

    def _give_to_scheduler(self, job_id: str, when: dt.datetime, callback: JobCallback, args: tuple[Any, ...]) -> None:
        self._scheduler.add_job(
            self._fired(job_id, callback),
            trigger=DateTrigger(run_date=self._wall_time(when)),
            args=args,
            id=job_id,
            name=job_id,
            replace_existing=True,
        )

    def _remove_from_scheduler(self, job_id: str) -> bool:
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            return False  # already handed to the event loop to run
        return True

    def _hold(self, job_id: str, when: dt.datetime, callback: JobCallback, args: tuple[Any, ...]) -> None:
        """Keep a job in our own heap until its time is within HANDOFF_WINDOW."""
        sequence = next(self._sequence)
        self._held[job_id] = (when, callback, args, sequence)
        heapq.heappush(self._heap, (when, sequence, job_id))
        if len(self._heap) > 2 * len(self._held) + 1024:
            # Replaced and cancelled jobs leave stale entries behind; rebuild the heap now and then.
            self._heap = [(job[0], job[3], held_id) for held_id, job in self._held.items()]
            heapq.heapify(self._heap)
        handoff = when - HANDOFF_WINDOW
        if self._handoff_at is None or handoff < self._handoff_at:
            self._arm_handoff(handoff)

    def _arm_handoff(self, at: dt.datetime) -> None:
        """Make sure the handoff job runs no later than `at`."""
        if self._handoff_at is not None and self._handoff_at <= at:
            return
        self._handoff_at = at
        self._scheduler.add_job(
            self._hand_over,
            trigger=DateTrigger(run_date=self._wall_time(max(at, self._now()))),
            id=HANDOFF_JOB_ID,
            name=HANDOFF_JOB_ID,
            replace_existing=True,
        )

    async def _hand_over(self) -> None:
        """Give APScheduler every held job now due within HANDOFF_WINDOW; arm the next handoff."""
        self._handoff_at = None
        self.hand_over_due()

    def hand_over_due(self) -> int:
        """Hand held jobs due within HANDOFF_WINDOW to APScheduler now; returns how many."""
        horizon = self._now() + HANDOFF_WINDOW
        moved = 0
        while self._heap and self._heap[0][0] <= horizon:
            _, sequence, job_id = heapq.heappop(self._heap)
            held = self._held.get(job_id)
            if held is None or held[3] != sequence:
                continue  # replaced or cancelled since
            del self._held[job_id]
            self._give_to_scheduler(job_id, held[0], held[1], held[2])
            moved += 1
        while self._heap:
            when, sequence, job_id = self._heap[0]
            held = self._held.get(job_id)
            if held is not None and held[3] == sequence:
                self._arm_handoff(when - HANDOFF_WINDOW)
                break
            heapq.heappop(self._heap)
        return moved

    def _now(self) -> dt.datetime:
        return self._clock() if self._clock is not None else dt.datetime.now(dt.UTC)

    def _wall_time(self, when: dt.datetime) -> dt.datetime:
        """The wall-clock moment at which the core's clock will read `when`."""
        if self._clock is None:
            return when.astimezone(dt.UTC)
        wall_now = dt.datetime.now(dt.UTC)
        return wall_now + (when - self._clock()) / self._speed

    def cancel(self, job_id: str) -> bool:
        """Remove a pending job; returns False if there was none."""
        if not self._forget(job_id):
            return False
        if self._held.pop(job_id, None) is not None:
            return True
        return self._remove_from_scheduler(job_id)

    def cancel_matching(self, prefix: str) -> int:
        """Remove every pending job whose id starts with `prefix`; returns how many.

        A prefix ending in ':' is taken as a group, the ids it stands right before ("reminder:12:"
        for reminder:12:60 and reminder:12:15), found at once; any other prefix walks every id.
        """
        if prefix.endswith(":"):
            matching = list(self._by_group.get(prefix, ()))
        else:
            matching = [job_id for job_id in self._requested if job_id.startswith(prefix)]
        return sum(self.cancel(job_id) for job_id in matching)

    def _forget(self, job_id: str) -> bool:
        """Drop a job id from the bookkeeping; False if it was not there."""
        if self._requested.pop(job_id, None) is None:
            return False
        group = _group(job_id)
        ids = self._by_group.get(group)
        if ids is not None:
            ids.discard(job_id)
            if not ids:
                del self._by_group[group]
        return True

    def pending(self) -> dict[str, dt.datetime]:
        """Pending job ids with the instant (on the core's clock) each will fire."""
        found = {job.id: self._requested[job.id] for job in self._scheduler.get_jobs() if job.id in self._requested}
        found.update((job_id, held[0]) for job_id, held in self._held.items())
        return found

    def __len__(self) -> int:
        return len(self._held) + sum(1 for job in self._scheduler.get_jobs() if job.id != HANDOFF_JOB_ID)

    def _fired(self, job_id: str, callback: JobCallback) -> JobCallback:
        """Wrap a job: forget its requested instant once it runs, and log an exception with the job id."""

        async def run(*args: Any) -> None:
            # Before the callback, which may arm the same id again for a later instant.
            self._forget(job_id)
            try:
                await callback(*args)
            except Exception:
                log.exception("timer %s failed", job_id)

        return run


def _wall_minus_monotonic() -> dt.timedelta:
    """How far the wall clock is ahead of the monotonic clock; it changes only when the wall clock jumps."""
    return dt.timedelta(seconds=time.time() - time.monotonic())


def _group(job_id: str) -> str:
    """An id up to and with its last ':': "reminder:12:60" -> "reminder:12:" ("" for an id without one)."""
    return job_id[: job_id.rfind(":") + 1]
