"""Shared helpers for the bench scripts: the machine, percentiles, tables, and a quickly filled database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import math
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.adapters.bot import PracticeCirclesBot  # noqa: E402 (the repository root goes on the path first
from bot.adapters.endpoints import DiscordEndpoints, restore_production_endpoints  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.media.recordings import load_recordings  # noqa: E402
from bot.storage import Database, to_db_time  # noqa: E402

# The audit history's rows are this far apart (30,000 of them span about two years).
_AUDIT_STEP = dt.timedelta(minutes=35)
# How long the real bot may take to log in, chunk the guild and rebuild its timers.
READY_TIMEOUT = 300.0


# --- the machine -----------------------------------------------------------------------------------


def _cpuinfo_model() -> str:
    """The CPU model named in /proc/cpuinfo (or the platform's word for it)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _ram_gib() -> str:
    """Total RAM from /proc/meminfo, in GiB."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _commit() -> str:
    """The repository's commit (short), marked + when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on: CPU, cores, RAM, Python, SQLite, discord.py, commit, date."""
    import discord

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("CPU", _cpuinfo_model()),
        ("cores", f"{os.cpu_count()} ({usable} usable)"),
        ("RAM", _ram_gib()),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("SQLite", sqlite3.sqlite_version),
        ("discord.py", discord.__version__),
        ("load average (1, 5, 15 min)", ", ".join(f"{load:.2f}" for load in os.getloadavg())),
        ("commit", _commit()),
        ("date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]


# --- figures and tables ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by the nearest-rank method (p99 of 100 values is the 99th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with aligned columns (numbers right-aligned)."""
    cells = [[str(cell) for cell in header]] + [[_cell(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = (cell.rjust(w) if num else cell.ljust(w) for cell, w, num in zip(row, widths, numeric, strict=True))
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(cells[0]), rule] + [line(row) for row in cells[1:]]
    return "\n".join([title, "=" * len(title), *body, ""])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def print_machine() -> None:
    """Print the machine table."""
    print(table("Machine", ["item", "value"], machine()))


def rss_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in KiB, from /proc/self/status."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(rest.split()[0])
    if "VmHWM" not in found:
        found["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return found


class Stopwatch:
    """Wall time and CPU time of this process over a block."""

    def __enter__(self) -> Stopwatch:
        self.wall = self.cpu = 0.0
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def arguments(description: str, add: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse the common flags (--quick, --verbose) and the script's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test (figures mean little)")
    parser.add_argument("--verbose", action="store_true", help="show the bot's and the sandbox's log")
    if add is not None:
        add(parser)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    return args


# --- a database full of sessions and sign-ups ------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    """What `fill_database` stored."""

    session_ids: list[int]
    upcoming_ids: list[int]
    signups: int
    seconds: float


async def fill_database(
    path: Path,
    *,
    starts: Sequence[dt.datetime],
    channel_ids: Sequence[int],
    signups: int,
    user_ids: Sequence[int],
    now: dt.datetime,
    audit_rows: int = 0,
    seed: int = 1,
) -> Filled:
    """Store one session per start through the storage API, then `signups` sign-ups in one bulk insert.

    Sessions go through `Database.add_one_off` (one transaction for all, so it takes a few seconds);
    sessions already over are marked closed. The sign-ups are a single executemany on a plain sqlite3
    connection: through the API they would be 100,000 transactions. Each sign-up is a distinct
    (session, member) pair, spread evenly over all sessions, past ones included (history).
    `audit_rows` adds an audit history in a second executemany: what two years of claims and
    unclaimed-session alerts leave behind (about three rows per past session), naming sessions
    that are not in this database.
    """
    began = time.perf_counter()
    rng = random.Random(seed)
    async with Database.open(path) as db, db.transaction():
        ids = []
        for index, start in enumerate(starts):
            row = await db.add_one_off(
                start=start,
                duration_minutes=45,
                channel_id=channel_ids[index % len(channel_ids)],
                title=f"Practice circle {index + 1}",
            )
            ids.append(row.id)
    upcoming = [session_id for session_id, start in zip(ids, starts, strict=True) if start > now]
    pairs: set[tuple[int, int]] = set()
    members = list(user_ids)
    per_session = max(1, min(len(members), math.ceil(signups / max(1, len(ids)))))
    for session_id in ids:
        if len(pairs) >= signups:
            break
        pairs.update((session_id, user_id) for user_id in rng.sample(members, min(per_session, signups - len(pairs))))
    created = to_db_time(now - dt.timedelta(days=1))
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        # The bench's only SQL: bulk inserts (sign-ups, audit history) and closing the sessions that are over.
        connection.executemany(
            "INSERT INTO signups (occurrence_id, user_id, created_at, source) VALUES (?, ?, ?, 'command')",
            [(session_id, user_id, created) for session_id, user_id in sorted(pairs)],
        )
        connection.execute("UPDATE occurrences SET status = 'closed' WHERE start_utc < ?", (to_db_time(now),))
        actions = ("teacher.claim", "alert.teachers", "alert.coordinators")
        connection.executemany(
            "INSERT INTO audit_log (actor_id, action, target, details, at) VALUES (?, ?, ?, '{}', ?)",
            [
                (1, actions[i % 3], f"occurrence:{10**9 + i // 3}", to_db_time(now - (i + 1) * _AUDIT_STEP))
                for i in range(audit_rows)
            ],
        )
    return Filled(ids, upcoming, len(pairs), time.perf_counter() - began)


def spread(count: int, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """`count` instants evenly spaced from `first` to `last`, on whole minutes."""
    if count == 1:
        return [first]
    step = (last - first) / (count - 1)
    return [(first + step * i).replace(second=0, microsecond=0) for i in range(count)]


# --- the real bot on the loopback Discord -----------------------------------------------------------


@contextlib.asynccontextmanager
async def running_bot(
    api_base_url: str, gateway_url: str, token: str, config: Config
) -> AsyncIterator[tuple[PracticeCirclesBot, float]]:
    """Run the real bot against a loopback Discord; yields it, and the seconds it took to be ready, once ready.

    Like loopback.harness.practice_bot, but given addresses instead of a Sandbox object (the memory
    bench runs the sandbox in another process) and with a longer timeout for big databases and guilds.
    """
    began = time.perf_counter()
    catalog = load_recordings(config.recordings.file)
    db = await Database.open(config.storage.database)
    endpoints = DiscordEndpoints(api_base_url=api_base_url, gateway_url=gateway_url)
    bot = PracticeCirclesBot(config, db, catalog, endpoints=endpoints, guild_ready_timeout=0.05)
    core_ready: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def on_core_ready() -> None:
        if not core_ready.done():
            core_ready.set_result(time.perf_counter() - began)

    bot.add_listener(on_core_ready, "on_core_ready")
    runner = asyncio.create_task(bot.start(token), name="practice-bot")
    try:
        waiting: set[asyncio.Future[Any]] = {runner, core_ready}
        done, _ = await asyncio.wait(waiting, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if core_ready not in done:
            if runner in done:
                runner.result()
            raise TimeoutError(f"the bot was not ready within {READY_TIMEOUT} s")
        yield bot, core_ready.result()
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(runner, timeout=10)
        await db.close()
        restore_production_endpoints()
