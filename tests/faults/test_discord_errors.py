"""Discord errors: bursts of 429 and 5xx during a 200-member fan-out: retry_after kept, few invalid, none lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.adapters.pacing import GLOBAL_REQUESTS_PER_SECOND, GlobalPacer
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.ratelimit import RateLimiter
from tests.faults.support import (
    crowd_world,
    ledger_statuses,
    reminder_messages,
    reminders_by_member,
    seed_reminder_session,
    wake_on_marks,
)

MEMBERS = 200
OFFSET = 15
MESSAGES = "/channels/{channel_id}/messages"
DM_OPEN = "/users/@me/channels"
CLOSED_DMS = range(7, MEMBERS, 40)
# Once this many reminders exist: (status, how many, route, retry_after) to inject.
BURSTS: dict[int, list[tuple[int, int, str, float]]] = {
    1: [(429, 10, MESSAGES, 0.6), (500, 5, MESSAGES, 0.0), (502, 4, DM_OPEN, 0.0)],
    60: [(429, 10, MESSAGES, 1.2), (504, 5, DM_OPEN, 0.0), (524, 3, MESSAGES, 0.0)],
    120: [(503, 4, MESSAGES, 0.0), (500, 5, DM_OPEN, 0.0)],
    170: [(429, 10, MESSAGES, 0.3), (502, 5, MESSAGES, 0.0)],
}
# Discord bans at 10,000 invalid requests (401, 403, 429) in ten minutes; a healthy bot stays far below.
INVALID_BUDGET = 100


def inject(sandbox: Sandbox, faults: list[tuple[int, int, str, float]]) -> None:
    """Queue a burst of faults."""
    for status, count, route, retry_after in faults:
        sandbox.faults.inject(status, count, route=route, retry_after=retry_after or 1.0)


async def test_bursts_of_429_and_5xx_keep_retry_after_stay_valid_and_lose_nothing(tmp_path: Path) -> None:
    world, members = crowd_world(MEMBERS, closed_dms=CLOSED_DMS)
    # Opening 200 DMs at 5 per 5 seconds would take minutes; the global 50/s limit stays as it is.
    sandbox = Sandbox(world, rate_limiter=RateLimiter(route_limits={f"POST {DM_OPEN}": (250, 1.0)}))
    config = config_for_world(
        world,
        tmp_path / "practice",
        sections={"reminders": {"allowed_offsets_minutes": [OFFSET], "default_offsets_minutes": [OFFSET]}},
    )
    await seed_reminder_session(config, members, offset=OFFSET, lead=dt.timedelta(seconds=2))
    database = config.storage.database
    async with sandbox, practice_bot(sandbox, config) as bot:
        # A 503 is not retried by discord.py: the ledger retries the row itself, here after 1 s, not 30.
        bot.core.ledger.first_retry_delay = dt.timedelta(seconds=1)
        wake_on_marks(sandbox, bot.core.ledger)
        for threshold, faults in BURSTS.items():
            await sandbox.wait_until(
                lambda threshold=threshold: reminder_messages(world) >= threshold,  # type: ignore[misc]
                timeout=60,
                what=f"{threshold} reminders",
            )
            inject(sandbox, faults)
        await sandbox.wait_until(
            lambda: ledger_statuses(database) == Counter(sent=MEMBERS),
            timeout=90,
            what=f"all {MEMBERS} reminders marked sent",
        )

    assert sandbox.faults.pending == 0, "every injected fault was handed out during the fan-out"
    injected: Counter[Any] = Counter(fault.status for _method, _route, fault in sandbox.faults.taken)
    assert injected == Counter({429: 30, 500: 10, 502: 9, 504: 5, 524: 3, 503: 4})
    assert sandbox.rate_limiter is not None
    assert sandbox.rate_limiter.violations == [], "a request came again before its retry_after"
    global_429s = [r for r in sandbox.request_log if r.status == 429 and (r.response or {}).get("global")]
    assert global_429s == [], "the bot keeps under the global limit instead of running into it"
    invalid = sandbox.invalid_requests.count()
    assert invalid < INVALID_BUDGET
    received = reminders_by_member(world)
    assert {m.id: received[m.id] for m in members} == {m.id: 1 for m in members}, "exactly one reminder each"
    assert sandbox.spec_violations == [] and sandbox.unknown_routes == []
    print(
        f"\ninjected {sum(injected.values())} faults {dict(injected)}; "
        f"{len(sandbox.request_log)} requests; invalid in 10 min: {invalid} "
        f"({injected[429]} injected 429s + {len(CLOSED_DMS)} DMs refused); violations 0; "
        f"{sum(received.values())} reminders to {MEMBERS} members, 0 lost, 0 repeated"
    )


async def test_the_pacer_lets_no_more_than_its_limit_into_any_second() -> None:
    pacer = GlobalPacer()
    turns: list[float] = []

    async def request() -> None:
        await pacer.turn()
        turns.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(2 * GLOBAL_REQUESTS_PER_SECOND + 10)))
    # Stamped just after each turn, so a hair later than the pacer's own: the window allows for that.
    busiest = max(sum(1 for t in turns if start <= t < start + 0.99) for start in turns)
    assert busiest == GLOBAL_REQUESTS_PER_SECOND < 50, "under Discord's 50 a second, and no slower than needed"
