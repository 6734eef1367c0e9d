"""The real bot in a process of its own, so its memory and pauses are not mixed with the sandbox's.

A bench starts the sandbox in its own process and runs this script with the sandbox's addresses:

    botproc.py --config CONFIG --api URL --gateway URL   (token in PRACTICE_BENCH_TOKEN)

It prints one JSON line once the bot's core is ready (and, with --settle-events, once the
scheduled-events mirror has caught up), then answers one JSON line per line it reads on stdin:
`stats` (RSS, peak RSS, member cache, timers, garbage-collection pauses, the longest since the
last `stats`), `collect` (time one full collection) or `quit`.
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

from benchlib import READY_TIMEOUT, REPO_ROOT, rss_kib, running_bot

from bot.adapters.bot import PracticeCirclesBot
from bot.config import load_config

TOKEN_VARIABLE = "PRACTICE_BENCH_TOKEN"


@dataclass
class Pauses:
    """Garbage-collection pauses of this process, from gc.callbacks."""

    durations_ms: list[float] = field(default_factory=list)
    _began: float = 0.0
    _reported: int = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """gc.callbacks hook: time each collection."""
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.durations_ms.append((time.perf_counter() - self._began) * 1000)

    def summary(self) -> dict[str, float]:
        """How many collections, the longest, the total (ms), and the longest since the last summary."""
        recent = self.durations_ms[self._reported :]
        self._reported = len(self.durations_ms)
        return {
            "collections": len(self.durations_ms),
            "longest_ms": max(self.durations_ms, default=0.0),
            "total_ms": sum(self.durations_ms),
            "longest_since_last_ms": max(recent, default=0.0),
        }


def stats(bot: PracticeCirclesBot, pauses: Pauses) -> dict[str, Any]:
    """What a bench asks the bot process for."""
    guild = bot.get_guild(bot.core.config.guild.id)
    memory = rss_kib()
    return {
        "rss_kib": memory["VmRSS"],
        "peak_rss_kib": memory["VmHWM"],
        "members_cached": 0 if guild is None else len(guild.members),
        "chunked": guild is not None and guild.chunked,
        "users_cached": len(bot.users),
        "timers": len(bot.core.timers),
        "gc": pauses.summary(),
    }


def full_collection() -> dict[str, float]:
    """Time one full garbage collection (the longest pause the collector can cause now)."""
    tracked = len(gc.get_objects())
    began = time.perf_counter()
    gc.collect()
    return {"full_collection_ms": (time.perf_counter() - began) * 1000, "tracked_objects": tracked}


async def serve(args: argparse.Namespace) -> None:
    """Run the bot until told to quit (or stdin closes)."""
    start = time.perf_counter()
    pauses = Pauses()
    gc.callbacks.append(pauses)
    config = load_config(Path(args.config))
    token = os.environ[TOKEN_VARIABLE]
    async with running_bot(args.api, args.gateway, token, config) as (bot, ready):
        if args.settle_events:
            events = bot.get_cog("Events")
            if events is not None:
                await asyncio.wait_for(events.mirror.settled(), timeout=READY_TIMEOUT)  # type: ignore[attr-defined]
        settled = time.perf_counter() - start
        print(json.dumps({"ready_s": ready, "settled_s": settled, **stats(bot, pauses)}), flush=True)
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = (await reader.readline()).decode().strip()
            if line in ("", "quit"):
                break
            if line == "stats":
                print(json.dumps(stats(bot, pauses)), flush=True)
            elif line == "collect":
                print(json.dumps(full_collection()), flush=True)
            else:
                print(json.dumps({"error": f"unknown request {line!r}"}), flush=True)


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
    config_path: Path, api: str, gateway: str, token: str, *, settle_events: bool = False, verbose: bool = False
) -> AsyncIterator[BotProcess]:
    """Start the bot in its own process against a sandbox this process serves; yields once it is ready."""
    argv = [sys.executable, str(Path(__file__)), "--config", str(config_path), "--api", api, "--gateway", gateway]
    if settle_events:
        argv.append("--settle-events")
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
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
