"""Interaction acknowledgement latency of /schedule, Sign up, /signup and /teach claim, as ratios to a bare bot.

Two loopback Discords run in this process, each with the same guild and simulated people. One
serves the real bot (in a process of its own, over a database of 10,000 sessions and 100,000
sign-ups); the other serves the floor, a bare discord.py bot with the same intents that answers
every command with a fixed reply (bench/barebot.py, also in its own process). Both get the same
loads, interleaved so that the machine's load falls on both alike: one interaction at a time
(alternating between the two, the real bot left to finish its background work before the bare
bot's turn), then bursts of 20 at the same moment.

Each latency is measured at its sandbox, from the moment it dispatches INTERACTION_CREATE (the
interaction record's `created_clock`) to the moment it has logged the bot's callback
(`Sandbox.request_log`), both on the sandbox's monotonic clock. The figures are the real bot's
p50/p99 beside the bare bot's, and their ratio. Aims: burst p99 within 2 x the bare bot's, one
at a time within 1.5 x (Discord allows 3 s).

    .venv/bin/python bench/interaction_latency.py            # full size
    .venv/bin/python bench/interaction_latency.py --quick    # tiny, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import arguments, fill_database, percentile, print_machine, spread, table
from botproc import BotProcess, bot_process

from loopback import InteractionHandle, Sandbox, SimulatedPerson, World
from loopback.harness import config_for_world
from loopback.ratelimit import RateLimiter
from loopback.spec import OpenAPISpec

CALLBACK_ROUTE = "/interactions/{interaction_id}/{interaction_token}/callback"
EVENTS_ROUTE = "/guilds/{guild_id}/scheduled-events"
DISCORD_DEADLINE_MS = 3000.0
AIM_ONE_AT_A_TIME = 1.5
AIM_BURST = 2.0
# Discord's button style 3 (green): the schedule's Sign up buttons for sessions the person has not joined.
SUCCESS = 3
BOT = "Practice Circles"
BARE = "bare discord.py"
ONE = "one at a time"

Go = Callable[[], Awaitable[InteractionHandle]]


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions in the database")
    parser.add_argument("--signups", type=int, default=100_000, help="sign-ups in the database")
    parser.add_argument("--members", type=int, default=5_000, help="distinct members the sign-ups belong to")
    parser.add_argument(
        "--guild-members", type=int, default=0, help="members added to the guild (both bots cache them)"
    )
    parser.add_argument("--past-days", type=int, default=730, help="sessions spread from this many days ago ...")
    parser.add_argument("--people", type=int, default=40, help="simulated members taking part")
    parser.add_argument("--teachers", type=int, default=10, help="simulated teachers taking part")
    parser.add_argument("--rounds", type=int, default=200, help="interactions per kind and bot, one at a time")
    parser.add_argument("--burst", type=int, default=20, help="people acting at the same moment")
    parser.add_argument("--bursts", type=int, default=5, help="bursts per kind and bot")
    parser.add_argument(
        "--validate-spec", action="store_true", help="let the sandboxes check requests against the spec"
    )
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the real bot while measuring")


@dataclass(frozen=True)
class Sizes:
    """How big one run is."""

    sessions: int = 10_000
    signups: int = 100_000
    members: int = 5_000
    guild_members: int = 0
    past_days: int = 730
    people: int = 40
    teachers: int = 10
    rounds: int = 200
    burst: int = 20
    bursts: int = 5

    @classmethod
    def quick(cls) -> Sizes:
        """Tiny, for the smoke test."""
        return cls(300, 1_500, 200, 0, 730, 6, 2, 5, 3, 1)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Sizes:
        """The sizes the flags ask for."""
        if args.quick:
            return cls.quick()
        return cls(
            args.sessions,
            args.signups,
            args.members,
            args.guild_members,
            args.past_days,
            args.people,
            args.teachers,
            args.rounds,
            args.burst,
            args.bursts,
        )


def callback_ms(sandbox: Sandbox, handle: InteractionHandle) -> float:
    """Milliseconds from INTERACTION_CREATE to the callback, as the sandbox saw them."""
    record = handle.record
    path = f"/interactions/{record.id}/{record.token}/callback"
    for logged in reversed(sandbox.request_log):
        if logged.path == path and logged.route == CALLBACK_ROUTE and 200 <= logged.status < 300:
            return (logged.time - record.created_clock) * 1000
    raise AssertionError(f"no successful callback for interaction {record.id} ({record.name})")


class Scenario:
    """One bot's sandbox, people and sessions, and the four interactions as coroutines."""

    def __init__(
        self,
        sandbox: Sandbox,
        process: BotProcess,
        people: list[SimulatedPerson],
        teachers: list[SimulatedPerson],
        upcoming: list[int],
    ) -> None:
        self.sandbox = sandbox
        self.process = process
        self.people = people
        self.teachers = teachers
        self.upcoming = upcoming
        self._next_signup = 0
        self._next_claim = 0
        self._next_person = 0
        self.kept: dict[tuple[str, str], list[float]] = {}
        self.cpu_ms: dict[str, float] = {}
        self.refused: dict[str, int] = {}

    async def schedule(self, person: SimulatedPerson) -> Go:
        """/schedule (7 days)."""
        return lambda: person.run_command("schedule")

    async def button(self, person: SimulatedPerson) -> Go:
        """Run /schedule (not measured here), then press Sign up on a session the person has not joined."""
        listing = await (await person.run_command("schedule")).response()
        assert listing.message is not None, "the schedule came without a message"
        buttons = [
            c["custom_id"]
            for row in listing.components
            for c in row.get("components") or []
            if str(c.get("custom_id", "")).startswith("pc:signup:") and c.get("style") == SUCCESS
        ]
        assert buttons, "the schedule has no Sign up button left for this person"
        message = listing.message
        return lambda: person.press_button(message, buttons[0])

    async def signup(self, person: SimulatedPerson) -> Go:
        """/signup session:<an upcoming session>."""
        self._next_signup += 1
        session = self.upcoming[(self._next_signup * 7919) % len(self.upcoming)]
        return lambda: person.run_command("signup", {"session": session})

    async def claim(self, teacher: SimulatedPerson) -> Go:
        """/teach claim session:<an upcoming session nobody has claimed>."""
        session = self.upcoming[self._next_claim % len(self.upcoming)]
        self._next_claim += 1
        return lambda: teacher.run_command("teach", {"session": session}, subcommand="claim")

    async def one(self, label: str, prepare: Callable[[SimulatedPerson], Awaitable[Go]], who: SimulatedPerson) -> None:
        """One interaction, measured once its reply has arrived."""
        go = await prepare(who)
        handle = await go()
        await self._settle(handle, label)
        self.kept.setdefault((label, ONE), []).append(callback_ms(self.sandbox, handle))

    async def burst(
        self, label: str, prepare: Callable[[SimulatedPerson], Awaitable[Go]], who: list[SimulatedPerson], size: int
    ) -> None:
        """`size` interactions at the same moment (prepared first, then sent together)."""
        # Each burst starts where the last left off, so everyone takes turns (a page holds ten Sign up buttons).
        first, self._next_person = self._next_person, self._next_person + size
        ready = [await prepare(who[(first + i) % len(who)]) for i in range(size)]
        handles = await asyncio.gather(*(go() for go in ready))
        await asyncio.gather(*(self._settle(handle, label) for handle in handles))
        values = [callback_ms(self.sandbox, handle) for handle in handles]
        self.kept.setdefault((label, f"burst of {size}"), []).extend(values)

    async def _settle(self, handle: InteractionHandle, label: str) -> None:
        reply = await handle.response(timeout=30.0)
        if reply.ephemeral and "already" in reply.text.lower():
            self.refused[label] = self.refused.get(label, 0) + 1


# The interactions measured: label, the Scenario method preparing one, whether teachers act.
KINDS = (("/schedule", "schedule", False), ("Sign up button", "button", False), ("/signup", "signup", False))
KINDS += (("/teach claim", "claim", True),)


async def measure(scenarios: dict[str, Scenario], sizes: Sizes) -> None:
    """Every kind on both bots: one at a time alternating, then bursts alternating.

    The real bot goes first in each pair and is left to finish what the interaction set off in the
    background (the events mirror's pass, listeners) before the bare bot's turn, so the floor never
    shares the machine with the real bot's work.
    """
    bot, bare = scenarios[BOT], scenarios[BARE]
    for label, method, teachers in KINDS:
        cpu = {name: (await s.process.ask("cpu"))["cpu_s"] for name, s in scenarios.items()}
        for index in range(sizes.rounds):
            for scenario in (bot, bare):
                who = scenario.teachers if teachers else scenario.people
                await scenario.one(label, getattr(scenario, method), who[index % len(who)])
                if scenario is bot:
                    await bot.process.ask("settle")
        for _ in range(sizes.bursts):
            for scenario in (bot, bare):
                who = scenario.teachers if teachers else scenario.people
                await scenario.burst(label, getattr(scenario, method), who, sizes.burst)
                if scenario is bot:
                    await bot.process.ask("settle")
        # CPU time per interaction does not depend on what else the machine runs, unlike latency.
        count = sizes.rounds + sizes.bursts * sizes.burst
        for name, scenario in scenarios.items():
            spent = (await scenario.process.ask("cpu"))["cpu_s"] - cpu[name]
            scenario.cpu_ms[label] = spent * 1000 / count


@dataclass
class LatencyRun:
    """What one run measured."""

    sizes: Sizes
    setup: list[tuple[str, object]]
    kept: dict[str, dict[tuple[str, str], list[float]]]
    gc: dict[str, dict[str, Any]]
    refused: dict[str, dict[str, int]]
    late: dict[str, int]
    ready: dict[str, dict[str, Any]] = field(default_factory=dict)
    collected: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    def rows(self) -> list[tuple[object, ...]]:
        """One row per interaction and load: both bots' p50/p99 and the ratios, with the aim."""
        found = []
        for key, values in self.kept[BOT].items():
            floor = self.kept[BARE].get(key, [])
            label, load = key
            aim = AIM_ONE_AT_A_TIME if load == ONE else AIM_BURST
            p50, p99 = percentile(values, 50), percentile(values, 99)
            f50, f99 = percentile(floor, 50), percentile(floor, 99)
            ratio50, ratio99 = p50 / f50, p99 / f99
            met = "yes" if ratio99 <= aim else "NO"
            found.append((label, load, len(values), f50, f99, p50, p99, ratio50, ratio99, f"{aim:g}", met))
        return found

    def p99(self, label: str, load: str, who: str = BOT) -> float:
        """One figure, for the growth curves."""
        return percentile(self.kept[who].get((label, load), []), 99)


async def run_latency(
    sizes: Sizes, *, validate_spec: bool = False, verbose: bool = False, profile: Path | None = None
) -> LatencyRun:
    """Both bots under the same loads; `profile` (an absolute path) gets the real bot's profile."""
    worlds = {name: World.default() for name in (BOT, BARE)}
    people: dict[str, list[int]] = {}
    teachers: dict[str, list[int]] = {}
    for name, world in worlds.items():
        teacher_role = world.find_role("Teacher")
        people[name] = [world.add_member(f"member{i}", f"Member {i}").id for i in range(sizes.people)]
        teachers[name] = [
            world.add_member(f"teacher{i}", f"Teacher {i}", roles=[teacher_role]).id for i in range(sizes.teachers)
        ]
        for i in range(sizes.guild_members):
            world.add_member(f"guest{i}", f"Guest {i}")
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        configs = {
            name: config_for_world(world, Path(folder) / name.replace(" ", "-")) for name, world in worlds.items()
        }
        config = configs[BOT]
        now = dt.datetime.now(dt.UTC)
        horizon = dt.timedelta(days=config.sessions.horizon_days)
        # Evenly from `past_days` ago to the end of the horizon: history, and the sessions ahead.
        starts = spread(sizes.sessions, now - dt.timedelta(days=sizes.past_days), now + horizon - dt.timedelta(hours=1))
        extra = max(0, sizes.members - sizes.people)
        user_ids = people[BOT] + [10**17 + i for i in range(extra)]
        filled = await fill_database(
            Path(config.storage.database),
            starts=starts,
            channel_ids=config.channels.sessions,
            signups=sizes.signups,
            user_ids=user_ids,
            now=now,
        )
        # Only sessions that have not begun can be signed up for or claimed.
        soon = now + dt.timedelta(hours=2)
        upcoming = [i for i, start in zip(filled.session_ids, starts, strict=True) if start > soon]
        spec = OpenAPISpec.locate() if validate_spec else None
        scenarios: dict[str, Scenario] = {}
        async with contextlib.AsyncExitStack() as stack:
            for name, world in worlds.items():
                # The scheduled-events mirror creates up to 90 events at start-up; letting those through
                # at once (instead of 5 per 5 s) only shortens the wait. Nothing measured uses that route.
                limiter = RateLimiter(route_limits={f"POST {EVENTS_ROUTE}": (100, 1.0)})
                sandbox = await stack.enter_async_context(
                    Sandbox(world=world, rate_limiter=limiter, spec=spec, voice=False)
                )
                process = await stack.enter_async_context(
                    bot_process(
                        Path(configs[name].storage.database).parent / "config.toml",
                        sandbox.api_base_url,
                        sandbox.gateway_url,
                        world.bot_token,
                        settle_events=name == BOT,
                        verbose=verbose,
                        bare=name == BARE,
                    )
                )
                await sandbox.wait_for_commands("schedule", "signup", "teach", timeout=60)
                scenarios[name] = Scenario(
                    sandbox,
                    process,
                    [sandbox.person(i) for i in people[name]],
                    [sandbox.person(i) for i in teachers[name]],
                    upcoming,
                )
            before = {name: await s.process.ask("stats") for name, s in scenarios.items()}
            if profile is not None:
                await scenarios[BOT].process.ask("profile start")
            began = time.perf_counter()
            await measure(scenarios, sizes)
            measuring = time.perf_counter() - began
            if profile is not None:
                await scenarios[BOT].process.ask(f"profile stop {profile}")
            after = {name: await s.process.ask("stats") for name, s in scenarios.items()}
            late = {name: len(s.sandbox.late_callbacks) for name, s in scenarios.items()}
            ready = {name: s.process.ready for name, s in scenarios.items()}
            # After measuring: one full collection as each bot is, and as if nothing were frozen.
            collected = {name: await s.process.ask("collect") for name, s in scenarios.items()}

    week = sum(1 for s in starts if now < s <= now + dt.timedelta(days=7))
    setup: list[tuple[str, object]] = [
        ("sessions (all)", len(filled.session_ids)),
        ("sessions upcoming (in the horizon)", len(filled.upcoming_ids)),
        ("sessions in the next 7 days (/schedule)", week),
        ("sign-ups", filled.signups),
        ("members signed up", len(user_ids)),
        ("guild members (each bot caches them)", len(worlds[BOT].guild.members)),
        ("filling the database (s)", filled.seconds),
        ("real bot: start to core ready (s)", ready[BOT]["ready_s"]),
        ("real bot: ... and scheduled events mirrored (s)", ready[BOT]["settled_s"]),
        ("bare bot: start to ready (s)", ready[BARE]["ready_s"]),
        ("measuring, both bots (s)", measuring),
        ("sandbox spec validation", "on" if validate_spec else "off"),
    ]
    gc = {
        name: {**after[name]["gc"], "collections": after[name]["gc"]["collections"] - before[name]["gc"]["collections"]}
        for name in scenarios
    }
    for name in scenarios:
        gc[name]["full_collection_ms"] = collected[name]["full_collection_ms"]
        gc[name]["full_collection_unfrozen_ms"] = collected[name]["full_collection_unfrozen_ms"]
        gc[name]["tracked_before"] = before[name]["tracked_objects"]
        gc[name]["tracked_after"] = after[name]["tracked_objects"]
        gc[name]["frozen"] = after[name]["frozen_objects"]
        gc[name]["before_longest_ms"] = before[name]["gc"]["longest_ms"]
        gc[name]["rss_mib"] = after[name]["rss_kib"] / 1024
    return LatencyRun(
        sizes,
        setup,
        {name: s.kept for name, s in scenarios.items()},
        gc,
        {name: s.refused for name, s in scenarios.items()},
        late,
        ready,
        collected,
        {name: s.cpu_ms for name, s in scenarios.items()},
    )


def print_run(result: LatencyRun) -> None:
    """The tables of one run."""
    print(table("Database and setup", ["what", "value"], result.setup))
    gc_rows = []
    for what, key in (
        ("collections while measuring", "collections"),
        ("full collections while measuring", "full_since_last"),
        ("longest pause while measuring (ms, wall)", "longest_since_last_ms"),
        ("longest pause while measuring (ms, CPU)", "longest_since_last_cpu_ms"),
        ("pauses over 10 ms while measuring (wall)", "over_10_ms_since_last"),
        ("longest pause before, at start-up (ms)", "before_longest_ms"),
        ("RSS after measuring (MiB)", "rss_mib"),
        ("objects the collector tracks, before measuring", "tracked_before"),
        ("... after measuring", "tracked_after"),
        ("objects frozen (left out of every collection)", "frozen"),
        ("one full collection after measuring (ms)", "full_collection_ms"),
        ("... were nothing frozen (ms)", "full_collection_unfrozen_ms"),
    ):
        gc_rows.append((what, result.gc[BARE].get(key, "n/a"), result.gc[BOT].get(key, "n/a")))
    print(table("Garbage collection in each bot process", ["what", BARE, BOT], gc_rows))
    print(
        table(
            "Interaction acknowledgement latency, ms (INTERACTION_CREATE -> callback), real bot / bare bot",
            [
                "interaction",
                "load",
                "n",
                "bare p50",
                "bare p99",
                "bot p50",
                "bot p99",
                "x p50",
                "x p99",
                "aim (x p99)",
                "met",
            ],
            result.rows(),
        )
    )
    cpu_rows = [
        (
            label,
            result.cpu_ms[BARE][label],
            result.cpu_ms[BOT][label],
            result.cpu_ms[BOT][label] / result.cpu_ms[BARE][label],
        )
        for label in result.cpu_ms[BOT]
    ]
    print(
        table(
            "CPU time of each bot process per interaction, ms (all loads; a button press includes its /schedule)",
            ["interaction", "bare", "bot", "x bare"],
            cpu_rows,
        )
    )
    for name, late in result.late.items():
        print(f"{name}: callbacks later than Discord's {DISCORD_DEADLINE_MS:.0f} ms: {late}")
    if result.refused[BOT]:
        print(f"answered 'already ...' (still acknowledged, still counted): {result.refused[BOT]}")


async def run(args: argparse.Namespace) -> None:
    """One run at the sizes asked for; the tables."""
    profile = None if args.profile is None else args.profile.absolute()
    result = await run_latency(
        Sizes.from_args(args), validate_spec=args.validate_spec, verbose=args.verbose, profile=profile
    )
    print_machine()
    print_run(result)


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
