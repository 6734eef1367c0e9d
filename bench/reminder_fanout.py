"""Reminder fan-out to 1,000 signed-up members: time taken against the least the sandbox's rate limits allow.

The real bot runs against the loopback Discord with the sandbox's rate limiter. One session has
1,000 members signed up (all in the guild, all with DMs open); its 60-minute reminder is fired as
its timer (armed a few seconds ahead, as a change to a session arms it). Every member costs two requests: opening the DM
channel (POST /users/@me/channels; discord.py keeps only 128 DM channels, so a big fan-out opens
them again) and the message (POST /channels/{channel_id}/messages). The least time the limits
allow is computed from the limiter's settings for the routes the bot actually used (one bucket
per route and major parameter, `limit` requests per window, and the global limit over a sliding
second). Duplicates are counted at the sandbox: more than one message in a member's DM channel.

    .venv/bin/python bench/reminder_fanout.py            # full size (about 17 minutes: see README)
    .venv/bin/python bench/reminder_fanout.py --quick    # tiny, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchlib import arguments, print_machine, running_bot, table

from loopback import Sandbox, World
from loopback.harness import config_for_world
from loopback.ratelimit import RateLimiter

DM_ROUTE = "/users/@me/channels"
MESSAGE_ROUTE = "/channels/{channel_id}/messages"
EVENTS_ROUTE = "/guilds/{guild_id}/scheduled-events"
OFFSET = 60
AIM_RATIO = 1.2
# How often the bench looks whether every reminder has been sent (seconds).
POLL = 0.25


@dataclass(frozen=True)
class Limits:
    """A rate-limit setting to run the fan-out under."""

    label: str
    dm_create: tuple[int, float] | None  # None: the sandbox's default for every route

    def limiter(self) -> RateLimiter:
        """The sandbox limiter for this setting (scheduled events let through, as they are not measured)."""
        routes: dict[str, tuple[int, float]] = {f"POST {EVENTS_ROUTE}": (100, 1.0)}
        if self.dm_create is not None:
            routes[f"POST {DM_ROUTE}"] = self.dm_create
        return RateLimiter(route_limits=routes)


def parse_limits(text: str) -> Limits:
    """'sandbox' (the defaults) or 'N/SECONDS' for the DM-channel route."""
    if text == "sandbox":
        return Limits("sandbox defaults", None)
    count, _, seconds = text.partition("/")
    return Limits(f"DM creation {count} per {seconds} s", (int(count), float(seconds)))


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--members", type=int, default=1_000, help="members signed up for the session")
    parser.add_argument(
        "--limits",
        nargs="+",
        default=["sandbox", "50/1"],
        help="rate-limit settings to run under: 'sandbox' (defaults: every route 5 per 5 s) or N/SECONDS for "
        "the DM-channel route only (default: both; 50/1 makes the global 50 per second the binding limit)",
    )


def least_seconds(limiter: RateLimiter, counts: Counter[tuple[str, str]], global_requests: int) -> dict[str, float]:
    """The least time each limit allows for these requests: per bucket, and the global one."""
    floors: dict[str, float] = {}
    for (method, bucket), count in counts.items():
        limit, window = limiter.limits_for(method, bucket.split("|")[0])
        # A window opens with its first request and holds `limit`; the last request waits for its window.
        floors[f"{method} {bucket}"] = (math.ceil(count / limit) - 1) * window
    floors["global"] = max(0, math.ceil(global_requests / limiter.global_limit) - 1) * limiter.global_window
    return floors


def expected_least(members: int, limiter: RateLimiter) -> float:
    """The least time for `members` DM-channel creations and messages, from the limiter's settings."""
    limit, window = limiter.limits_for("POST", DM_ROUTE)
    per_bucket = (math.ceil(members / limit) - 1) * window
    overall = (math.ceil(2 * members / limiter.global_limit) - 1) * limiter.global_window
    return max(per_bucket, overall, 0.0)


async def fan_out(members: int, limits: Limits, lead: float) -> list[tuple[str, object]]:
    """Run one fan-out; return its figures."""
    world = World.default()
    people = [world.add_member(f"member{i}", f"Member {i}") for i in range(members)]
    limiter = limits.limiter()
    deadline = 2 * expected_least(members, limiter) + 60
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        config = config_for_world(world, Path(folder) / "practice")
        assert OFFSET in config.reminders.default_offsets_minutes, "the bench needs the community default offset"
        async with (
            Sandbox(world=world, rate_limiter=limiter, voice=False) as sandbox,
            running_bot(sandbox.api_base_url, sandbox.gateway_url, world.bot_token, config) as (bot, _ready),
        ):
            events = bot.get_cog("Events")
            if events is not None:
                await asyncio.wait_for(events.mirror.settled(), timeout=60)  # type: ignore[attr-defined]
            db = bot.core.db
            # The session and its sign-ups go in now, and its reminder timer is armed as a change to
            # a session arms it (SessionService.reminders_follow), due `lead` seconds from now.
            due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
            async with db.transaction():
                session = await db.add_one_off(
                    start=due + dt.timedelta(minutes=OFFSET),
                    duration_minutes=45,
                    channel_id=config.channels.default_session,
                    title="Evening circle",
                )
                for person in people:
                    await db.sign_up(session.id, person.id)
            due_clock = sandbox.clock() + (due - dt.datetime.now(dt.UTC)).total_seconds()
            first_logged = len(sandbox.request_log)
            await bot.core.sessions.reminders_follow(session)
            # Wait for every member's row to be sent (a 429 or an error leaves it for the sweep timer).
            sent = 0
            for _ in range(int((deadline + lead) / POLL)):
                await asyncio.sleep(POLL)
                sent = await db.count_deliveries("sent")
                if sent >= members and not await db.pending_deliveries(limit=1):
                    break
            written = len(await db.signed_up_user_ids(session.id))
            settled = sandbox.clock() - due_clock
            log = sandbox.request_log[first_logged:]
            in_dms = [
                len([m for m in world.history(world.dm_channels[p.id]) if m.author_id == world.bot_user.id])
                if p.id in world.dm_channels
                else 0
                for p in people
            ]
            violations = len(limiter.violations)
    began = due_clock
    fan_out_log = [r for r in log if r.route in (DM_ROUTE, MESSAGE_ROUTE)]
    last_message = max((r.time for r in fan_out_log if r.route == MESSAGE_ROUTE and r.status == 200), default=began)
    counts: Counter[tuple[str, str]] = Counter()
    for record in fan_out_log:
        if record.status == 429:
            continue
        bucket = record.route or ""
        if record.route == MESSAGE_ROUTE:
            bucket += "|" + record.path.split("/")[2]  # one bucket per channel (major parameter)
        counts[(record.method, bucket)] += 1
    global_requests = sum(1 for r in log if r.route is not None and r.status != 429)
    floors = least_seconds(limiter, counts, global_requests)
    dm_floor = max((v for k, v in floors.items() if DM_ROUTE in k), default=0.0)
    message_floor = max((v for k, v in floors.items() if MESSAGE_ROUTE in k), default=0.0)
    least = max(floors.values())
    until_last = last_message - began
    ratio = until_last / least if least > 0 else float("nan")
    status = Counter(r.status for r in fan_out_log)
    duplicates = sum(max(0, n - 1) for n in in_dms)
    return [
        ("limits", limits.label),
        ("members signed up", members),
        ("reminders sent (ledger)", f"{sent} of {written}"),
        ("DM channels opened (POST /users/@me/channels)", sum(1 for r in fan_out_log if r.route == DM_ROUTE)),
        ("messages posted (POST .../messages)", sum(1 for r in fan_out_log if r.route == MESSAGE_ROUTE)),
        ("answers by status", ", ".join(f"{code}: {n}" for code, n in sorted(status.items()))),
        ("requests counted by the global limit", global_requests),
        ("least time: DM-channel bucket (s)", dm_floor),
        ("least time: message buckets (s)", message_floor),
        ("least time: global limit (s)", floors["global"]),
        ("least time the limits allow (s)", least),
        ("taken: due time to the last DM at the sandbox (s)", until_last),
        (f"taken: due time to every row settled (s, looked at every {POLL} s)", settled),
        (f"ratio taken / least (aim <= {AIM_RATIO})", ratio),
        ("aim met", "yes" if ratio <= AIM_RATIO else ("n/a" if math.isnan(ratio) else "NO")),
        ("members with no reminder", sum(1 for n in in_dms if n == 0)),
        ("duplicates (extra DMs at the sandbox)", duplicates),
        ("requests that ignored a 429 (limiter violations)", violations),
    ]


async def run(args: argparse.Namespace) -> None:
    """Each setting in turn, then the tables."""
    members = 60 if args.quick else args.members
    settings = ["50/1"] if args.quick else args.limits
    # The reminder falls due this long after it is armed (the sign-ups are stored first).
    lead = 1.5 if args.quick else 3.0
    results = [await fan_out(members, parse_limits(text), lead) for text in settings]
    print_machine()
    for figures in results:
        print(table(f"Reminder fan-out under {figures[0][1]}", ["what", "value"], figures[1:]))


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
