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
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

log = logging.getLogger(__name__)

JobCallback = Callable[..., Awaitable[Any]]

# How often the watch compares the wall clock with the monotonic clock (the most a jump can delay a job).
CLOCK_CHECK_SECONDS = 2.0
# More than this between the two clocks' progress is a jump, not scheduling noise.
CLOCK_JUMP_TOLERANCE = dt.timedelta(seconds=1)


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
        # The same ids by each prefix ending in ':' ("reminder:", "reminder:12:"), so cancel and
        # cancel_matching need not walk every job: at start-up, when tens of thousands are armed,
        # asking APScheduler (a list scan per call before it starts) made the rebuild quadratic.
        self._by_prefix: dict[str, set[str]] = {}
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

    async def _watch_the_clock(self) -> None:
        """Re-arm APScheduler whenever the wall clock has jumped forward past the monotonic one."""
        offset = _wall_minus_monotonic()
        while True:
            await asyncio.sleep(self._clock_check_seconds)
            now = _wall_minus_monotonic()
            jump, offset = now - offset, now
            if jump > CLOCK_JUMP_TOLERANCE:
                log.warning("the wall clock jumped forward by %s; running the jobs now due", jump)
                with contextlib.suppress(Exception):  # a scheduler shutting down meanwhile has nothing to run
                    self._scheduler.wakeup()

    def schedule_at(self, job_id: str, when: dt.datetime, callback: JobCallback, *args: Any) -> None:
        """Run `callback(*args)` at `when` (aware); an existing job with this id is replaced."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise TypeError(f"timer {job_id!r} needs an aware datetime, got naive {when!r}")
        self._scheduler.add_job(
            self._fired(job_id, callback),
            trigger=DateTrigger(run_date=self._wall_time(when)),
            args=args,
            id=job_id,
            name=job_id,
            replace_existing=True,
        )
        self._requested[job_id] = when
        for prefix in _prefixes(job_id):
            self._by_prefix.setdefault(prefix, set()).add(job_id)

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
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            return False  # already handed to the event loop to run
        return True

    def cancel_matching(self, prefix: str) -> int:
        """Remove every pending job whose id starts with `prefix`; returns how many."""
        if prefix.endswith(":"):
            matching = list(self._by_prefix.get(prefix, ()))
        else:
            matching = [job_id for job_id in self._requested if job_id.startswith(prefix)]
        return sum(self.cancel(job_id) for job_id in matching)

    def _forget(self, job_id: str) -> bool:
        """Drop a job id from the bookkeeping; False if it was not there."""
        if self._requested.pop(job_id, None) is None:
            return False
        for prefix in _prefixes(job_id):
            ids = self._by_prefix.get(prefix)
            if ids is not None:
                ids.discard(job_id)
                if not ids:
                    del self._by_prefix[prefix]
        return True

    def pending(self) -> dict[str, dt.datetime]:
        """Pending job ids with the instant (on the core's clock) each will fire."""
        return {job.id: self._requested[job.id] for job in self._scheduler.get_jobs() if job.id in self._requested}

    def __len__(self) -> int:
        return len(self._scheduler.get_jobs())

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


def _prefixes(job_id: str) -> list[str]:
    """The prefixes of an id that end in ':': "reminder:12:60" -> ["reminder:", "reminder:12:"]."""
    return list(accumulate(part + ":" for part in job_id.split(":")[:-1]))
