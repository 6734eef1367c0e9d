"""One-shot timers at UTC instants, backed by APScheduler's AsyncIOScheduler.

The database is the source of truth: nothing here is persisted. At start-up the bot asks the core
which jobs should exist (`bot.jobs`) and schedules them again; a job's id says what it is
(`reminder:<occurrence>:<offset>`, `open:<occurrence>`, ...), so scheduling the same id twice
replaces the first instead of doubling it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

log = logging.getLogger(__name__)

JobCallback = Callable[..., Awaitable[Any]]


class Timers:
    """Named one-shot jobs that call a coroutine function at an aware instant."""

    def __init__(self) -> None:
        # misfire_grace_time=None: a job that fires late because the event loop was busy still
        # runs; work that fell due while the bot was *down* is decided by bot.jobs, not here.
        self._scheduler = AsyncIOScheduler(
            timezone=dt.UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Start firing jobs on the running event loop."""
        if not self._scheduler.running:
            self._scheduler.start()

    def shutdown(self) -> None:
        """Stop firing jobs; jobs not yet fired are forgotten (the database remembers)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def schedule_at(self, job_id: str, when: dt.datetime, callback: JobCallback, *args: Any) -> None:
        """Run `callback(*args)` at `when` (aware); an existing job with this id is replaced."""
        if when.tzinfo is None or when.utcoffset() is None:
            raise TypeError(f"timer {job_id!r} needs an aware datetime, got naive {when!r}")
        self._scheduler.add_job(
            _logged(job_id, callback),
            trigger=DateTrigger(run_date=when.astimezone(dt.UTC)),
            args=args,
            id=job_id,
            name=job_id,
            replace_existing=True,
        )

    def cancel(self, job_id: str) -> bool:
        """Remove a pending job; returns False if there was none."""
        if self._scheduler.get_job(job_id) is None:
            return False
        self._scheduler.remove_job(job_id)
        return True

    def cancel_matching(self, prefix: str) -> int:
        """Remove every pending job whose id starts with `prefix`; returns how many."""
        removed = 0
        for job in self._scheduler.get_jobs():
            if job.id.startswith(prefix):
                job.remove()
                removed += 1
        return removed

    def pending(self) -> dict[str, dt.datetime]:
        """Pending job ids with the instant each will fire."""
        # Before start() APScheduler has not computed next_run_time yet; a date trigger's run
        # date is the same instant either way.
        return {job.id: job.trigger.run_date for job in self._scheduler.get_jobs()}

    def __len__(self) -> int:
        return len(self._scheduler.get_jobs())


def _logged(job_id: str, callback: JobCallback) -> JobCallback:
    """Wrap a job so an exception is logged with the job id instead of vanishing into APScheduler."""

    async def run(*args: Any) -> None:
        try:
            await callback(*args)
        except Exception:
            log.exception("timer %s failed", job_id)

    return run
