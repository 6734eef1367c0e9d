"""Timer lateness at fire time, and start-up time with 10,000 upcoming sessions' timers rebuilt.

Start-up: a database holds 10,000 upcoming sessions (none overdue, none claimed) and an audit
history of 30,000 rows (past claims and alerts, as two years leave behind); `Core.start`
rebuilds every timer from it (3 reminder offsets, 2 unclaimed alerts and open/begin/close per
session), timed as a whole and step by step; then the real bot is started on the loopback Discord
(in its own process) over the same database, from its first line to the core being ready.

Lateness: with those timers pending, many more are armed through the core's `Timers`, due over a
few seconds (and, separately, all at one instant); each callback notes the wall clock when it runs,
and lateness is that minus the instant it was due. The same is done on an empty `Timers`.

    .venv/bin/python bench/timers.py            # full size
    .venv/bin/python bench/timers.py --quick    # tiny, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import gc
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from benchlib import arguments, fill_database, percentile, print_machine, spread, table
from botproc import bot_process

from bot.core import Core
from bot.media.recordings import load_recordings
from bot.model import DeliveryRow, OccurrenceRow
from bot.ports import Room
from bot.storage import Database
from bot.timers import Timers
from loopback import Sandbox, World
from loopback.harness import config_for_world

AIM_START_S = 1.0


class NullDiscord:
    """The core's Discord-facing protocols, doing nothing (no timer in this bench reaches them)."""

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        """Messenger: pretend to send."""
        return None

    async def to_coordinators(self, text: str) -> None:
        """Announcer: say nothing."""

    async def to_teachers(self, text: str, claim_occurrence_id: int) -> None:
        """Announcer: say nothing."""


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--sessions", type=int, default=10_000, help="upcoming sessions in the database")
    parser.add_argument("--timers", type=int, default=2_000, help="timers armed for the lateness measurement")
    parser.add_argument("--audit-rows", type=int, default=30_000, help="audit history (past claims and alerts)")
    parser.add_argument("--over", type=float, default=4.0, help="seconds over which those timers fall due")
    parser.add_argument("--repeats", type=int, default=3, help="times Core.start is run (the median is the figure)")


def timed(step: str, spent: dict[str, float], method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a bound coroutine method so its wall time is noted under `step`."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            spent[step] = spent.get(step, 0.0) + time.perf_counter() - began

    return wrapper


async def lateness(timers: Timers, count: int, over: float, lead: float, *, one_instant: bool) -> list[float]:
    """Arm `count` timers due over `over` seconds from `lead` on (or all at once); return each one's lateness in ms."""
    late_ms: list[float] = []
    done = asyncio.Event()

    async def note(due: dt.datetime) -> None:
        late_ms.append((dt.datetime.now(dt.UTC) - due).total_seconds() * 1000)
        if len(late_ms) == count:
            done.set()

    first = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
    last = first if one_instant else first + dt.timedelta(seconds=over)
    step = (last - first) / max(1, count - 1)
    for index in range(count):
        due = first + step * index
        timers.schedule_at(f"bench:{index}", due, note, due)
    await asyncio.wait_for(done.wait(), timeout=over + 60)
    return late_ms


@dataclass
class StartUp:
    """What start-up took at one size."""

    sessions: int
    audit_rows: int
    timers_armed: int
    pending: int
    wall_s: list[float]
    cpu_s: list[float]
    steps: dict[str, float]
    bot_ready: dict[str, Any]

    @property
    def median_s(self) -> float:
        """The median wall time of Core.start over the repeats."""
        return statistics.median(self.wall_s)


async def start_up(
    sessions: int,
    audit_rows: int,
    *,
    repeats: int = 3,
    verbose: bool = False,
    then: Callable[[Timers], Awaitable[Any]] | None = None,
) -> tuple[StartUp, Any]:
    """Fill a database with `sessions` upcoming sessions; time Core.start `repeats` times; start the real bot on it.

    `then`, if given, runs on the last core's timers before it stops (the lateness measurement).
    """
    world = World.default()
    with tempfile.TemporaryDirectory(prefix="bench-timers-") as folder:
        data = Path(folder) / "practice"
        config = config_for_world(world, data)
        now = dt.datetime.now(dt.UTC)
        horizon = dt.timedelta(days=config.sessions.horizon_days)
        # After the coordinators' and teachers' alert leads (48 h), so nothing is overdue at start-up.
        starts = spread(sessions, now + dt.timedelta(hours=49), now + horizon - dt.timedelta(hours=1))
        await fill_database(
            Path(config.storage.database),
            starts=starts,
            channel_ids=config.channels.sessions,
            signups=0,
            user_ids=[1],
            now=now,
            audit_rows=audit_rows,
        )
        catalog = load_recordings(config.recordings.file)
        wall: list[float] = []
        cpu: list[float] = []
        spent: dict[str, float] = {}
        extra: Any = None
        for attempt in range(repeats):
            # --- Core.start, step by step, on a fresh core each time (the last one's steps are kept) ---
            db = await Database.open(config.storage.database)
            fake = NullDiscord()
            core = Core.assemble(config, db, catalog, messenger=fake, announcer=fake, room=cast(Room, fake))
            spent = {}
            for owner, name in (
                (core.sessions, "extend_horizon"),
                (core.reminders, "rebuild"),
                (core.alerts, "rebuild"),
                (core.runner, "rebuild"),
            ):
                step = f"{type(owner).__name__}.{name}"
                setattr(owner, name, timed(step, spent, getattr(owner, name)))
            began, began_cpu = time.perf_counter(), time.process_time()
            report = await core.start()
            wall.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            pending = len(core.timers)
            if then is not None and attempt == repeats - 1:
                extra = await then(core.timers)
            core.stop()
            await db.close()
            del core
            gc.collect()

        # --- the real bot, in its own process, over the same database ---
        async with (
            Sandbox(world=world, voice=False) as sandbox,
            bot_process(
                data / "config.toml", sandbox.api_base_url, sandbox.gateway_url, world.bot_token, verbose=verbose
            ) as bot,
        ):
            bot_ready = bot.ready
    return StartUp(sessions, audit_rows, report.timers, pending, wall, cpu, spent, bot_ready), extra


async def run(args: argparse.Namespace) -> None:
    """Start-up first, then lateness on the started core and on an empty Timers, then the tables."""
    sessions = 300 if args.quick else args.sessions
    count = 200 if args.quick else args.timers
    over = 0.3 if args.quick else args.over
    audit_rows = 300 if args.quick else args.audit_rows
    # Arming takes a moment; the first timer falls due only after all are armed.
    lead = 0.3 if args.quick else 1.0
    # APScheduler reports each job it runs at INFO; the bench's own noise is not wanted.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    async def both_lateness(timers: Timers) -> tuple[list[float], list[float]]:
        spread_late = await lateness(timers, count, over, lead, one_instant=False)
        return spread_late, await lateness(timers, count, over, lead, one_instant=True)

    started, (spread_late, instant_late) = await start_up(
        sessions, audit_rows, repeats=1 if args.quick else args.repeats, verbose=args.verbose, then=both_lateness
    )
    empty = Timers()
    empty.start()
    empty_spread = await lateness(empty, count, over, lead, one_instant=False)
    empty_instant = await lateness(empty, count, over, lead, one_instant=True)
    empty.shutdown()

    print_machine()
    print_start_up(started)
    pending = started.pending
    rows = []
    for label, values in (
        (f"{count} due over {over:g} s, {pending} others pending", spread_late),
        (f"{count} due at one instant, {pending} others pending", instant_late),
        (f"{count} due over {over:g} s, nothing else pending", empty_spread),
        (f"{count} due at one instant, nothing else pending", empty_instant),
    ):
        rows.append((label, len(values), percentile(values, 50), percentile(values, 99), max(values)))
    print(table("Timer lateness at fire time, ms (ran - due)", ["timers", "n", "p50", "p99", "max"], rows))


def print_start_up(started: StartUp) -> None:
    """The start-up table of one size."""
    accounted = sum(started.steps.values())
    last = started.wall_s[-1]
    print(
        table(
            f"Start-up with the database's timers rebuilt ({started.sessions:,} upcoming sessions)",
            ["what", "value"],
            [
                ("upcoming sessions", started.sessions),
                ("audit history rows", started.audit_rows),
                ("reminder timers armed", started.timers_armed),
                ("timers pending after Core.start", started.pending),
                (f"Core.start, median of {len(started.wall_s)} (s) (aim <= {AIM_START_S:g})", started.median_s),
                ("Core.start, each run (s)", ", ".join(f"{s:.3f}" for s in started.wall_s)),
                ("Core.start, CPU time of the process, each run (s)", ", ".join(f"{s:.3f}" for s in started.cpu_s)),
                *[(f"  {step}, last run (s)", seconds) for step, seconds in started.steps.items()],
                ("  the rest: starting APScheduler, the horizon job, last run (s)", last - accounted),
                ("real bot: start to core ready, on the loopback Discord (s)", started.bot_ready["ready_s"]),
                ("real bot: timers pending when ready", started.bot_ready["timers"]),
                ("real bot: RSS when ready (MiB)", started.bot_ready["rss_kib"] / 1024),
            ],
        )
    )


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
