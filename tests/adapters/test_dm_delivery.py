"""Direct messages of bot/adapters/delivery.py on the loopback Discord: DM channels remembered, 40003 waited out."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from bot.adapters.delivery import DiscordMessenger, DmOpeningPause
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.ratelimit import RateLimiter
from tests.faults.support import (
    crowd_world,
    ledger_statuses,
    query,
    reminders_by_member,
    seed_reminder_session,
    wake_on_marks,
)

DM_OPEN = "/users/@me/channels"
MESSAGE_POST = "/channels/{channel_id}/messages"
MEMBERS = 12
OFFSET = 60
LEAD = dt.timedelta(seconds=1)
REMINDERS = {"reminders": {"allowed_offsets_minutes": [OFFSET], "default_offsets_minutes": [OFFSET]}}
# Opening 12 DMs at the sandbox's default 5 per 5 s would take 10 s; the global limit stays as it is.
WIDE_DM_OPENING = {f"POST {DM_OPEN}": (100, 1.0)}


def dm_requests(sandbox: Sandbox, since: int) -> Counter[str]:
    """Requests the bot made since `since` in the log: DM channels opened, and messages posted into DMs."""
    dms = set(sandbox.world.dm_channel_objects)
    counts: Counter[str] = Counter()
    for record in sandbox.request_log[since:]:
        if record.method != "POST" or record.status >= 400:
            continue
        if record.route == DM_OPEN:
            counts["opened"] += 1
        elif record.route == MESSAGE_POST and int(record.path.split("/")[2]) in dms:
            counts["posted"] += 1
    return counts


async def test_a_second_reminder_after_a_restart_needs_one_request_per_member(tmp_path: Path) -> None:
    world, members = crowd_world(MEMBERS)
    sandbox = Sandbox(world, rate_limiter=RateLimiter(route_limits=WIDE_DM_OPENING))
    config = config_for_world(world, tmp_path / "practice", sections=REMINDERS)
    database = config.storage.database
    async with sandbox:
        await seed_reminder_session(config, members, offset=OFFSET, lead=LEAD)
        first = len(sandbox.request_log)
        async with practice_bot(sandbox, config) as bot:
            wake_on_marks(sandbox, bot.core.ledger)
            await sandbox.wait_until(lambda: ledger_statuses(database) == Counter(sent=MEMBERS), timeout=30)
        assert dm_requests(sandbox, first) == Counter(opened=MEMBERS, posted=MEMBERS)
        remembered = dict(query(database, "SELECT user_id, dm_channel_id FROM members"))
        assert remembered == {m.id: world.dm_channels[m.id] for m in members}

        # The bot restarts; the next session's reminder goes straight to each member's DM channel.
        await seed_reminder_session(config, members, offset=OFFSET, lead=LEAD)
        second = len(sandbox.request_log)
        async with practice_bot(sandbox, config) as bot:
            wake_on_marks(sandbox, bot.core.ledger)
            await sandbox.wait_until(lambda: ledger_statuses(database) == Counter(sent=2 * MEMBERS), timeout=30)
        assert dm_requests(sandbox, second) == Counter(posted=MEMBERS), "one request each, no DM opened again"
    assert reminders_by_member(world) == {m.id: 2 for m in members}


async def test_opening_dms_too_fast_is_waited_out_and_every_member_gets_exactly_one_reminder(tmp_path: Path) -> None:
    world, members = crowd_world(MEMBERS)
    # Discord refuses the 4th new DM conversation within a second with 403 / 40003 (no retry_after).
    limiter = RateLimiter(route_limits=WIDE_DM_OPENING, new_dm_limit=(3, 1.0))
    sandbox = Sandbox(world, rate_limiter=limiter)
    config = config_for_world(world, tmp_path / "practice", sections=REMINDERS)
    database = config.storage.database
    async with sandbox:
        await seed_reminder_session(config, members, offset=OFFSET, lead=dt.timedelta(seconds=2))
        async with practice_bot(sandbox, config) as bot:
            messenger = bot.core.dispatcher.messenger
            assert isinstance(messenger, DiscordMessenger)
            messenger.dm_opening = DmOpeningPause(first_wait=dt.timedelta(seconds=0.4))
            # Were a refusal an ordinary failed attempt, one would already drop the member's reminder.
            bot.core.ledger.max_attempts = 1
            wake_on_marks(sandbox, bot.core.ledger)
            await sandbox.wait_until(lambda: ledger_statuses(database) == Counter(sent=MEMBERS), timeout=60)
    assert limiter.new_dm_refusals > 0, "Discord did refuse some of the new DMs"
    assert reminders_by_member(world) == {m.id: 1 for m in members}, "exactly one reminder each, none lost"
    refused = [r for r in sandbox.request_log if r.status == 403]
    assert len(refused) == limiter.new_dm_refusals
    # Each pause holds every new DM back, so the refusals stay few (each one counts towards Discord's ban).
    assert len(refused) <= 3 * MEMBERS // 3
