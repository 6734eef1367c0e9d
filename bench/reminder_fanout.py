"""Reminder fan-out to signed-up members: time taken against the least the sandbox's rate limits allow.

The real bot runs against the loopback Discord with the sandbox's default rate limits (every
route 5 requests per 5 s per bucket, 50 requests a second globally). One session has every
member signed up (all in the guild, all with DMs open); its 60-minute reminder is fired as its
timer (armed a few seconds ahead, as a change to a session arms it).

Three set-ups:

- **first, then second** (1,000 members): the first reminder a member ever gets opens their DM
  channel (POST /users/@me/channels, one bucket for all: 5 per 5 s) and posts the message; the
  bot remembers each DM channel id. The bot is restarted, and a second session's reminder goes
  to the same members: one request each (POST /channels/{id}/messages, one bucket per channel),
  so only the global limit binds.
- **second reminder at size** (`--sizes`, default 1,000 and 10,000; 100,000 with `--biggest`,
  ~40 minutes): the members' DM channels are known already (stored as the bot stores them).
- **opening DMs too fast** (`--new-dm-limit N/SECONDS`): the sandbox refuses new DM conversations
  beyond that with Discord's 403 / 40003; the bot waits them out.

The least time is computed from the limiter's settings for the requests the bot actually made
(each bucket: `(ceil(requests / limit) - 1) x window`; the global limit the same over all
requests) and the largest is the floor; the ratio is the time from the reminder's due time to
the last DM, over that floor (aim <= 1.2). Duplicates are counted at the sandbox (more than one
message of the bot's in a member's DM channel for one session).

    .venv/bin/python bench/reminder_fanout.py            # full size (about 20 minutes)
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

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.storage import Database
from loopback import Sandbox, World
from loopback.harness import config_for_world
from loopback.ratelimit import RateLimiter
from loopback.world import Member

DM_ROUTE = "/users/@me/channels"
MESSAGE_ROUTE = "/channels/{channel_id}/messages"
EVENTS_ROUTE = "/guilds/{guild_id}/scheduled-events"
OFFSET = 60
AIM_RATIO = 1.2
# How often the bench looks whether every reminder has been sent (seconds).
POLL = 0.25


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--members", type=int, default=1_000, help="members in the first-then-second set-up")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[1_000, 10_000], help="members for the second reminder at size"
    )
    parser.add_argument("--biggest", action="store_true", help="also 100,000 members (about 40 minutes)")
    parser.add_argument("--skip-first", action="store_true", help="leave out the first-then-second set-up (17 min)")
    parser.add_argument("--new-dm-limit", help="also run a first reminder with Discord's 40003 beyond N/SECONDS")
    parser.add_argument("--new-dm-members", type=int, default=100, help="members in the 40003 set-up")


def limiter(new_dm_limit: tuple[int, float] | None = None) -> RateLimiter:
    """The sandbox's default limits (scheduled events let through at once: they are not measured)."""
    return RateLimiter(route_limits={f"POST {EVENTS_ROUTE}": (100, 1.0)}, new_dm_limit=new_dm_limit)


def least_seconds(limits: RateLimiter, counts: Counter[tuple[str, str]], global_requests: int) -> dict[str, float]:
    """The least time each limit allows for these requests: per bucket, and the global one."""
    floors: dict[str, float] = {}
    for (method, bucket), count in counts.items():
        limit, window = limits.limits_for(method, bucket.split("|")[0])
        # A window opens with its first request and holds `limit`; the last request waits for its window.
        floors[f"{method} {bucket}"] = (math.ceil(count / limit) - 1) * window
    floors["global"] = max(0, math.ceil(global_requests / limits.global_limit) - 1) * limits.global_window
    return floors


def least_for_new_dms(limits: RateLimiter, conversations: int) -> float:
    """The least time Discord's new-DM threshold (when the sandbox applies one) allows for this many."""
    if limits.new_dm_limit is None or conversations == 0:
        return 0.0
    count, window = limits.new_dm_limit
    return (math.ceil(conversations / count) - 1) * window


@dataclass
class Round:
    """One reminder fanned out, and what it took."""

    label: str
    figures: list[tuple[str, object]]
    ratio: float


class FanOut:
    """A world of signed-up members, the sandbox, and the bot's database folder."""

    def __init__(self, members: int, folder: Path, limits: RateLimiter) -> None:
        self.world = World.default()
        self.people: list[Member] = [self.world.add_member(f"member{i}", f"Member {i}") for i in range(members)]
        self.config: Config = config_for_world(self.world, folder / "practice")
        self.limits = limits
        assert OFFSET in self.config.reminders.default_offsets_minutes, "the bench needs the community default"

    async def remember_dms(self) -> None:
        """As after earlier reminders: each member's DM channel exists and the bot has stored its id."""
        async with Database.open(self.config.storage.database) as db, db.transaction():
            for person in self.people:
                await db.remember_dm_channel(person.id, self.world.open_dm(person.id).id)

    async def one_reminder(self, sandbox: Sandbox, bot: PracticeCirclesBot, label: str, lead: float) -> Round:
        """Store a session with everyone signed up, arm its reminder `lead` s ahead, wait until all are sent."""
        events = bot.get_cog("Events")
        if events is not None:
            await asyncio.wait_for(events.mirror.settled(), timeout=120)  # type: ignore[attr-defined]
        db = bot.core.db
        # Storing the sign-ups takes a while with many members (~1 ms each): the reminder falls due after.
        lead += len(self.people) / 1000
        due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lead)
        async with db.transaction():
            session = await db.add_one_off(
                start=due + dt.timedelta(minutes=OFFSET),
                duration_minutes=45,
                channel_id=self.config.channels.default_session,
                title="Evening circle",
            )
            for person in self.people:
                await db.sign_up(session.id, person.id)
        sent_before = await db.count_deliveries("sent")
        bot_messages_before = self.bot_messages()
        due_clock = sandbox.clock() + (due - dt.datetime.now(dt.UTC)).total_seconds()
        first_logged = len(sandbox.request_log)
        violations_before = len(self.limits.violations)
        refusals_before = self.limits.new_dm_refusals
        if dt.datetime.now(dt.UTC) >= due:
            raise RuntimeError(f"storing {len(self.people)} sign-ups took longer than the {lead:.0f} s lead")
        await bot.core.sessions.reminders_follow(session)
        members = len(self.people)
        # Waiting stops with an error, not forever, if the fan-out takes far longer than the limits ask.
        deadline = asyncio.get_running_loop().time() + lead + 3 * members / self.limits.global_limit + 120
        sent = 0
        while True:
            await asyncio.sleep(POLL)
            sent = await db.count_deliveries("sent") - sent_before
            if sent >= members and not await db.pending_deliveries(limit=1):
                break
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"only {sent} of {members} reminders sent by the deadline")
        settled = sandbox.clock() - due_clock
        log = sandbox.request_log[first_logged:]
        after = self.bot_messages()
        received = [after[p.id] - bot_messages_before[p.id] for p in self.people]
        fan_out_log = [r for r in log if r.route in (DM_ROUTE, MESSAGE_ROUTE)]
        last_message = max(
            (r.time for r in fan_out_log if r.route == MESSAGE_ROUTE and r.status == 200), default=due_clock
        )
        counts: Counter[tuple[str, str]] = Counter()
        for record in fan_out_log:
            if record.status >= 400:
                continue
            bucket = record.route or ""
            if record.route == MESSAGE_ROUTE:
                bucket += "|" + record.path.split("/")[2]  # one bucket per channel (major parameter)
            counts[(record.method, bucket)] += 1
        global_requests = sum(1 for r in log if r.route is not None and r.status < 400)
        floors = least_seconds(self.limits, counts, global_requests)
        opened = sum(1 for r in fan_out_log if r.route == DM_ROUTE and r.status < 400)
        floors["new DM conversations"] = least_for_new_dms(self.limits, opened)
        dm_floor = max((v for k, v in floors.items() if DM_ROUTE in k), default=0.0)
        message_floor = max((v for k, v in floors.items() if MESSAGE_ROUTE in k), default=0.0)
        least = max(floors.values())
        until_last = last_message - due_clock
        ratio = until_last / least if least > 0 else float("nan")
        status = Counter(r.status for r in fan_out_log)
        figures: list[tuple[str, object]] = [
            ("members signed up", members),
            ("reminders sent (ledger)", f"{sent} of {members}"),
            ("DM channels opened (POST /users/@me/channels)", sum(1 for r in fan_out_log if r.route == DM_ROUTE)),
            ("messages posted (POST .../messages)", sum(1 for r in fan_out_log if r.route == MESSAGE_ROUTE)),
            ("answers by status", ", ".join(f"{code}: {n}" for code, n in sorted(status.items()))),
            ("new DMs refused with 40003", self.limits.new_dm_refusals - refusals_before),
            ("requests counted by the global limit", global_requests),
            ("least time: DM-channel bucket (s)", dm_floor),
            ("least time: message buckets (s)", message_floor),
            ("least time: global limit (s)", floors["global"]),
            ("least time: new DMs, if the sandbox refuses them beyond a threshold (s)", floors["new DM conversations"]),
            ("least time the limits allow (s)", least),
            ("taken: due time to the last DM at the sandbox (s)", until_last),
            (f"taken: due time to every row settled (s, looked at every {POLL} s)", settled),
            (f"ratio taken / least (aim <= {AIM_RATIO})", ratio),
            ("aim met", "yes" if ratio <= AIM_RATIO else ("n/a" if math.isnan(ratio) else "NO")),
            ("members with no reminder", sum(1 for n in received if n == 0)),
            ("duplicates (extra DMs at the sandbox)", sum(max(0, n - 1) for n in received)),
            ("requests that ignored a 429 (limiter violations)", len(self.limits.violations) - violations_before),
        ]
        return Round(label, figures, ratio)

    def bot_messages(self) -> Counter[int]:
        """The bot's messages in each member's DM channel so far."""
        bot_id = self.world.bot_user.id
        found: Counter[int] = Counter()
        for person in self.people:
            channel = self.world.dm_channels.get(person.id)
            if channel is not None:
                found[person.id] = sum(1 for m in self.world.history(channel) if m.author_id == bot_id)
        return found


async def first_then_second(members: int, lead: float) -> list[Round]:
    """The first reminder (DM channels opened), a restart, then the second (one request each)."""
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        run = FanOut(members, Path(folder), limiter())
        async with Sandbox(world=run.world, rate_limiter=run.limits, voice=False) as sandbox:
            for label in ("first reminder (DM channels opened)", "second reminder, after a restart"):
                async with running_bot(sandbox.api_base_url, sandbox.gateway_url, run.world.bot_token, run.config) as (
                    bot,
                    _ready,
                ):
                    rounds.append(await run.one_reminder(sandbox, bot, f"{members:,} members: {label}", lead))
    return rounds


async def second_at_size(members: int, lead: float) -> Round:
    """A reminder to `members` whose DM channels the bot already knows."""
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        run = FanOut(members, Path(folder), limiter())
        await run.remember_dms()
        async with (
            Sandbox(world=run.world, rate_limiter=run.limits, voice=False) as sandbox,
            running_bot(sandbox.api_base_url, sandbox.gateway_url, run.world.bot_token, run.config) as (bot, _),
        ):
            return await run.one_reminder(sandbox, bot, f"{members:,} members, DM channels known", lead)


async def opening_too_fast(members: int, lead: float, new_dm_limit: tuple[int, float]) -> Round:
    """A first reminder while Discord refuses new DM conversations beyond `new_dm_limit` (40003)."""
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder:
        count, seconds = new_dm_limit
        run = FanOut(members, Path(folder), limiter(new_dm_limit))
        async with (
            Sandbox(world=run.world, rate_limiter=run.limits, voice=False) as sandbox,
            running_bot(sandbox.api_base_url, sandbox.gateway_url, run.world.bot_token, run.config) as (bot, _),
        ):
            label = f"{members:,} members, first reminder, 40003 beyond {count} new DMs per {seconds:g} s"
            return await run.one_reminder(sandbox, bot, label, lead)


def parse_limit(text: str) -> tuple[int, float]:
    """'N/SECONDS' as (N, SECONDS)."""
    count, _, seconds = text.partition("/")
    return int(count), float(seconds)


async def run(args: argparse.Namespace) -> list[Round]:
    """Each set-up in turn; the tables."""
    # The reminder falls due this long after it is armed (the sign-ups are stored first).
    lead = 1.5 if args.quick else 3.0
    rounds: list[Round] = []
    if args.quick:
        rounds += await first_then_second(12, lead)
        rounds.append(await second_at_size(60, lead))
        rounds.append(await opening_too_fast(6, lead, (3, 5.0)))
    else:
        if not args.skip_first:
            rounds += await first_then_second(args.members, lead)
        sizes = list(args.sizes) + ([100_000] if args.biggest else [])
        for members in sizes:
            rounds.append(await second_at_size(members, lead))
        if args.new_dm_limit:
            rounds.append(await opening_too_fast(args.new_dm_members, lead, parse_limit(args.new_dm_limit)))
    print_machine()
    for one in rounds:
        print(
            table(f"Reminder fan-out under the sandbox's default limits: {one.label}", ["what", "value"], one.figures)
        )
    return rounds


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
