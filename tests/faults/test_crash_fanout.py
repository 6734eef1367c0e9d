"""Crash anywhere: SIGKILL the bot at 50 points of a 200-member reminder fan-out; every member gets exactly one."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

from loopback import Sandbox
from loopback.harness import config_for_world
from loopback.ratelimit import RateLimiter
from loopback.world import ChannelType
from tests.faults.support import (
    KILL_KINDS,
    BotProcess,
    KillSwitch,
    crowd_world,
    ledger_statuses,
    none_left_running,
    reminder_messages,
    reminders_by_member,
    seed_reminder_session,
    spread_kill_points,
)

MEMBERS = 200
KILLS = 50
OFFSET = 15
# Members whose DMs are closed (found out when a DM is refused) and members who asked for the thread.
CLOSED_DMS = range(3, MEMBERS, 25)
THREAD_PREFERRED = range(11, MEMBERS, 25)


async def test_sigkill_at_fifty_points_of_a_fan_out_loses_and_repeats_nothing(tmp_path: Path) -> None:
    world, members = crowd_world(MEMBERS, closed_dms=CLOSED_DMS)
    # Opening 200 DMs at Discord's 5-per-5-seconds would take minutes; the global 50/s limit stays as it is.
    limiter = RateLimiter(route_limits={"POST /users/@me/channels": (250, 1.0)})
    sandbox = Sandbox(world, rate_limiter=limiter)
    switch = KillSwitch(sandbox)
    switch.install()
    config = config_for_world(
        world,
        tmp_path / "practice",
        sections={"reminders": {"allowed_offsets_minutes": [OFFSET], "default_offsets_minutes": [OFFSET]}},
    )
    await seed_reminder_session(
        config, members, offset=OFFSET, lead=dt.timedelta(seconds=3), thread_preferred=THREAD_PREFERRED
    )
    config_path = tmp_path / "practice" / "config.toml"
    plan = spread_kill_points(MEMBERS, KILLS)
    runs: list[BotProcess] = []
    async with sandbox, none_left_running(runs):
        for point in plan:
            bot = await BotProcess(sandbox, config_path).start()
            runs.append(bot)
            switch.arm(point, bot.kill)
            await sandbox.wait_until(
                lambda bot=bot: not switch.armed or bot.exited,  # type: ignore[misc]
                timeout=30,
                what=f"kill point {point} (reminders so far: {reminder_messages(world)})",
            )
            assert not switch.armed, f"the bot exited on its own before {point}:\n{bot.log_text()[-3000:]}"
            assert await bot.wait_exit() == -9

        # One last, undisturbed run finishes the fan-out and marks everything sent.
        final = await BotProcess(sandbox, config_path).start()
        runs.append(final)
        database = config.storage.database
        await sandbox.wait_until(
            lambda: ledger_statuses(database) == Counter(sent=MEMBERS) and reminder_messages(world) >= MEMBERS,
            timeout=60,
            what="every reminder to be sent and marked sent",
        )
        assert await final.stop() in (0, 130)

    received = reminders_by_member(world)
    lost = [m.id for m in members if received[m.id] == 0]
    repeated = {m.id: received[m.id] for m in members if received[m.id] > 1}
    reclaimed = sum(int(n) for bot in runs for n in re.findall(r"reclaimed (\d+) deliveries", bot.log_text()))
    assert len(switch.kills) == KILLS
    assert lost == [], f"{len(lost)} members got no reminder"
    assert repeated == {}, f"members who got more than one reminder: {repeated}"
    assert sum(received.values()) == MEMBERS
    assert set(received) == {m.id for m in members}, "nobody else was messaged"
    # The window the nonce protects was really exercised: rows left claimed were resent, and Discord
    # answered some of those resends with the message it already had.
    assert reclaimed > 0 and len(sandbox.nonce_hits) > 0
    assert Counter(kill.point.kind for kill in switch.kills) == Counter(
        {kind: KILLS // len(KILL_KINDS) + (i < KILLS % len(KILL_KINDS)) for i, kind in enumerate(KILL_KINDS)}
    )
    schedule = world.find_channel("schedule").id
    threads = [c for c in world.guild.channels.values() if c.is_thread and c.parent_id == schedule]
    # Each thread member's reminder is in their own private thread, which holds only them and the bot.
    private = {m.id for i, m in enumerate(members) if i in CLOSED_DMS or i in THREAD_PREFERRED}
    written = [t for t in threads if world.history(t.id)]
    assert len(written) == len(private), "one private thread per member who needs one"
    for thread in written:
        assert thread.type == ChannelType.PRIVATE_THREAD and not thread.invitable
        assert set(thread.thread_members) - {world.bot_user.id} <= private and len(thread.thread_members) == 2
    assert sandbox.spec_violations == [] and sandbox.unknown_routes == []
    print(
        f"\n{KILLS} kills at reminder counts {[kill.reminders for kill in switch.kills]}; "
        f"{MEMBERS} members, {sum(received.values())} reminders, 0 lost, 0 repeated; "
        f"rows reclaimed on restart {reclaimed}, repeats Discord answered by nonce {len(sandbox.nonce_hits)}; "
        f"kinds {dict(Counter(kill.point.kind for kill in switch.kills))}; {len(runs)} bot processes; "
        f"{len(sandbox.request_log)} requests, {sum(r.status == 429 for r in sandbox.request_log)} of them 429"
    )
