"""Resident memory of the bot after ready, with a 10,000-member guild in its member cache.

The loopback Discord runs in this process with a World of 10,000 added members; the real bot runs
in a process of its own (bench/botproc.py), so its VmRSS (from /proc/self/status) is the bot's
alone. With the members intent the bot asks for the guild's members at start-up (the gateway
answers with GUILD_MEMBERS_CHUNK) and is ready only once its cache holds them. For comparison the
same is measured with the small default guild, and with the big guild over a full database (10,000
sessions and 100,000 sign-ups, whose upcoming sessions arm timers). Each bot process also times one
full garbage collection: the longest pause the collector can cause, which grows with what is cached.

    .venv/bin/python bench/memory.py            # full size
    .venv/bin/python bench/memory.py --quick    # tiny, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from benchlib import arguments, fill_database, print_machine, spread, table
from botproc import bot_process

from loopback import Sandbox, World
from loopback.harness import config_for_world


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--members", type=int, default=10_000, help="members added to the guild")
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions in the full database")
    parser.add_argument("--signups", type=int, default=100_000, help="sign-ups in the full database")


async def measure(
    members: int, sessions: int, signups: int, pause: float, verbose: bool, *, bare: bool = False
) -> dict[str, Any]:
    """Start the bot (or the bare floor) on a guild with `members` more members and a database as asked; its stats."""
    world = World.default()
    added = [world.add_member(f"member{i}", f"Member {i}") for i in range(members)]
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        data = Path(folder) / "practice"
        config = config_for_world(world, data)
        if sessions:
            now = dt.datetime.now(dt.UTC)
            horizon = dt.timedelta(days=config.sessions.horizon_days)
            await fill_database(
                Path(config.storage.database),
                starts=spread(sessions, now - dt.timedelta(days=730), now + horizon - dt.timedelta(hours=1)),
                channel_ids=config.channels.sessions,
                signups=signups,
                user_ids=[m.id for m in added] or [1],
                now=now,
            )
        async with (
            Sandbox(world=world, voice=False) as sandbox,
            bot_process(
                data / "config.toml",
                sandbox.api_base_url,
                sandbox.gateway_url,
                world.bot_token,
                verbose=verbose,
                bare=bare,
            ) as bot,
        ):
            ready = bot.ready
            # A moment later (2 s), once the start-up work that follows ready (the events mirror) has run.
            await asyncio.sleep(pause)
            later = await bot.ask("stats")
            collected = await bot.ask("collect")
    return {
        "guild": len(world.guild.members),
        "sessions": sessions,
        "signups": signups,
        "ready": ready,
        "later": later,
        "collected": collected,
    }


async def run(args: argparse.Namespace) -> None:
    """The three set-ups, then the table."""
    members = 200 if args.quick else args.members
    sessions = 300 if args.quick else args.sessions
    signups = 1_500 if args.quick else args.signups
    pause = 0.2 if args.quick else 2.0
    setups = [
        ("default guild, empty database", 0, 0, 0),
        (f"{members:,} more members, empty database", members, 0, 0),
        (f"{members:,} more members, full database", members, sessions, signups),
    ]
    found = []
    for label, added, in_db, signed in setups:
        real = await measure(added, in_db, signed, pause, args.verbose)
        floor = await measure(added, 0, 0, pause, args.verbose, bare=True)
        found.append((label, real, floor))
    print_machine()
    print_memory(found)


def print_memory(found: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> None:
    """The tables: the collector, and resident memory beside the bare bot's."""
    print(
        table(
            "Garbage collector: objects it tracks, and one full collection (the longest pause it can cause)",
            ["set-up", "frozen at ready", "tracked besides", "full collection (ms)", "... were nothing frozen (ms)"],
            [
                (
                    label,
                    real["collected"]["frozen_objects"],
                    real["collected"]["tracked_objects"],
                    real["collected"]["full_collection_ms"],
                    real["collected"]["full_collection_unfrozen_ms"],
                )
                for label, real, _ in found
            ],
        )
    )
    rows = []
    for label, real, floor in found:
        ready, later = real["ready"], real["later"]
        rows.append(
            (
                label,
                real["guild"],
                later["members_cached"],
                later["timers"],
                ready["rss_kib"] / 1024,
                later["rss_kib"] / 1024,
                later["peak_rss_kib"] / 1024,
                floor["later"]["rss_kib"] / 1024,
                later["rss_kib"] / floor["later"]["rss_kib"],
                ready["ready_s"],
                floor["ready"]["ready_s"],
            )
        )
    print(
        table(
            "Resident memory of the bot process, MiB (VmRSS; peak is VmHWM), beside the bare discord.py bot's",
            [
                "set-up",
                "guild members",
                "cached",
                "timers",
                "RSS at ready",
                "a moment later",
                "peak",
                "bare bot",
                "x bare",
                "ready (s)",
                "bare ready (s)",
            ],
            rows,
        )
    )
    small, big = found[0][1], found[1][1]
    extra = big["guild"] - small["guild"]
    per_member = (big["later"]["rss_kib"] - small["later"]["rss_kib"]) / extra if extra else float("nan")
    print(f"memory per cached member (empty database, RSS difference / members): {per_member:.2f} KiB")


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
