"""The real bot in a process of its own, so its memory and pauses are not mixed with the sandbox's.

A bench starts the sandbox in its own process and runs this script with the sandbox's addresses:

    botproc.py --config CONFIG --api URL --gateway URL [--bare]   (token in PRACTICE_BENCH_TOKEN)

With --bare it runs the floor instead (bench/barebot.py: the same discord.py, a fixed reply), on
the guild the config names.

It prints one JSON line once the bot's core is ready (and, with --settle-events, once the
scheduled-events mirror has caught up), then answers one JSON line per line it reads on stdin:
`stats` (RSS, peak RSS, member cache, timers, garbage-collection pauses, the longest since the
last `stats`), `cpu` (the process's CPU time so far), `settle` (wait until its CPU is quiet),
`collect` (time one full collection), `profile start`, `profile stop PATH` (a
pyinstrument profile of the bot's event loop in between, written as text to PATH; needs
`pip install pyinstrument`) or `quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from barebot import running_bare_bot
from benchlib import READY_TIMEOUT, REPO_ROOT, rss_kib, running_bot

from bot.adapters.bot import PracticeCirclesBot
from bot.config import load_config

TOKEN_VARIABLE = "PRACTICE_BENCH_TOKEN"


@dataclass
class Pauses:
    """Garbage-collection pauses of this process, from gc.callbacks."""

    durations_ms: list[float] = field(default_factory=list)
    # The same in CPU time of the collecting thread: on a shared machine a pause can also be a wait
    # for the CPU, which is not the collector's doing.
    cpu_ms: list[float] = field(default_factory=list)
    generations: list[int] = field(default_factory=list)
    _began: float = 0.0
    _began_cpu: float = 0.0
    _reported: int = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks hook: time each collection."""
        if phase == "start":
            self._began = time.perf_counter()
            self._began_cpu = time.thread_time()
        else:
            self.durations_ms.append((time.perf_counter() - self._began) * 1000)
            self.cpu_ms.append((time.thread_time() - self._began_cpu) * 1000)
            self.generations.append(int(info.get("generation", -1)))

    def summary(self) -> dict[str, float]:
        """How many collections, the longest, the total (ms), and the longest since the last summary."""
        recent = self.durations_ms[self._reported :]
        recent_generations = self.generations[self._reported :]
        recent_cpu = self.cpu_ms[self._reported :]
        self._reported = len(self.durations_ms)
        longest = max(range(len(recent)), key=recent.__getitem__, default=None)
        return {
            "collections": len(self.durations_ms),
            "longest_ms": max(self.durations_ms, default=0.0),
            "total_ms": sum(self.durations_ms),
            "longest_since_last_ms": max(recent, default=0.0),
            "longest_since_last_cpu_ms": max(recent_cpu, default=0.0),
            "longest_since_last_generation": -1 if longest is None else recent_generations[longest],
            "full_since_last": sum(1 for generation in recent_generations if generation == 2),
            "over_10_ms_since_last": sum(1 for ms in recent if ms > 10),
        }


def stats(bot: discord.Client, guild_id: int, pauses: Pauses) -> dict[str, Any]:
    """What a bench asks the bot process for."""
    guild = bot.get_guild(guild_id)
    memory = rss_kib()
    return {
        "rss_kib": memory["VmRSS"],
        "peak_rss_kib": memory["VmHWM"],
        "members_cached": 0 if guild is None else len(guild.members),
        "chunked": guild is not None and guild.chunked,
        "users_cached": len(bot.users),
        "timers": len(bot.core.timers) if isinstance(bot, PracticeCirclesBot) else 0,
        "gc": pauses.summary(),
        "tracked_objects": len(gc.get_objects()),
        "frozen_objects": gc.get_freeze_count(),
    }


def full_collection() -> dict[str, float]:
    """Time one full garbage collection as the bot is (frozen heap left out), and one as if nothing were frozen."""
    tracked = len(gc.get_objects())
    frozen = gc.get_freeze_count()
    began = time.perf_counter()
    gc.collect()
    as_is = (time.perf_counter() - began) * 1000
    gc.unfreeze()
    began = time.perf_counter()
    gc.collect()
    unfrozen = (time.perf_counter() - began) * 1000
    if frozen:
        gc.freeze()
    return {
        "full_collection_ms": as_is,
        "full_collection_unfrozen_ms": unfrozen,
        "tracked_objects": tracked,
        "frozen_objects": frozen,
    }


async def serve(args: argparse.Namespace) -> None:
    """Run the bot until told to quit (or stdin closes)."""
    start = time.perf_counter()
    pauses = Pauses()
    gc.callbacks.append(pauses)
    config = load_config(Path(args.config))
    token = os.environ[TOKEN_VARIABLE]
    profiling = Profiling()
    guild_id = config.guild.id
    async with contextlib.AsyncExitStack() as stack:
        bot: discord.Client
        if args.bare:
            bot, ready = await stack.enter_async_context(running_bare_bot(args.api, args.gateway, token, guild_id))
        else:
            bot, ready = await stack.enter_async_context(running_bot(args.api, args.gateway, token, config))
            events = bot.get_cog("Events")
            if args.settle_events and events is not None:
                await asyncio.wait_for(events.mirror.settled(), timeout=READY_TIMEOUT)  # type: ignore[attr-defined]
        settled = time.perf_counter() - start
        print(json.dumps({"ready_s": ready, "settled_s": settled, **stats(bot, guild_id, pauses)}), flush=True)
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode().strip()
            if line in ("", "quit"):
                break
            if line == "stats":
                print(json.dumps(stats(bot, guild_id, pauses)), flush=True)
            elif line == "collect":
                print(json.dumps(full_collection()), flush=True)
            elif line == "cpu":
                print(json.dumps({"cpu_s": time.process_time()}), flush=True)
            elif line == "settle":
                print(json.dumps({"settled_after_s": await settle(bot)}), flush=True)
            elif line.startswith("profile "):
                print(json.dumps(profiling.handle(line.removeprefix("profile "))), flush=True)
            else:
                print(json.dumps({"error": f"unknown request {line!r}"}), flush=True)


# settle: the bot counts as idle once it used less than QUIET_CPU of CPU time in a QUIET_SLICE.
QUIET_SLICE = 0.005
QUIET_CPU = 0.0005
SETTLE_AT_MOST = 5.0


async def settle(bot: discord.Client) -> float:
    """Wait until the bot has finished the CPU work the last interactions set off; returns the seconds waited.

    Idle means the process used almost no CPU over a short slice: background work that waits on
    Discord (a rate-limited request of the events mirror) does not hold the bench up, only work that
    would share the machine with the next measurement.
    """
    began = time.perf_counter()
    while time.perf_counter() - began < SETTLE_AT_MOST:
        cpu = time.process_time()
        await asyncio.sleep(QUIET_SLICE)
        if time.process_time() - cpu < QUIET_CPU:
            break
    return time.perf_counter() - began


class Profiling:
    """A pyinstrument profile of this process's event loop between `start` and `stop PATH`."""

    def __init__(self) -> None:
        self.profiler: Any = None

    def handle(self, request: str) -> dict[str, Any]:
        """Start, or stop and write the text report."""
        if request == "start":
            from pyinstrument import Profiler  # only when asked: a tool of the bench, not of the bot

            self.profiler = Profiler(async_mode="disabled", interval=0.001)
            self.profiler.start()
            return {"profiling": True}
        if request.startswith("stop ") and self.profiler is not None:
            self.profiler.stop()
            path = Path(request.removeprefix("stop "))
            # Idle time (waiting in epoll) dwarfs the work; keep frames down to 0.1 % of the whole.
            text = self.profiler.output_text(unicode=True, color=False, processor_options={"filter_threshold": 0.001})
            path.write_text(text, encoding="utf-8")
            self.profiler = None
            return {"profile": str(path)}
        return {"error": f"unknown profile request {request!r}"}


class BotProcess:
    """A running botproc.py, seen from the bench."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.ready = ready

    async def ask(self, request: str) -> dict[str, Any]:
        """Send one request line and read the JSON answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(request.encode() + b"\n")
        await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout=60)
        answer: dict[str, Any] = json.loads(line)
        return answer


@contextlib.asynccontextmanager
async def bot_process(
    config_path: Path,
    api: str,
    gateway: str,
    token: str,
    *,
    settle_events: bool = False,
    verbose: bool = False,
    bare: bool = False,
) -> AsyncIterator[BotProcess]:
    """Start the bot (or the bare floor) in its own process against a sandbox this process serves; yields once ready."""
    argv = [sys.executable, str(Path(__file__)), "--config", str(config_path), "--api", api, "--gateway", gateway]
    if settle_events:
        argv.append("--settle-events")
    if bare:
        argv.append("--bare")
    if verbose:
        argv.append("--verbose")
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
        env={**os.environ, TOKEN_VARIABLE: token},
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=READY_TIMEOUT + 30)
        if not line:
            raise RuntimeError(f"the bot process ended before it was ready (exit code {await process.wait()})")
        yield BotProcess(process, json.loads(line))
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, ConnectionError):
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                await process.stdin.drain()
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


def main() -> None:
    """Entry point of the bot process."""
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--settle-events", action="store_true")
    parser.add_argument("--bare", action="store_true", help="run the bare discord.py bot (the floor) instead")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
