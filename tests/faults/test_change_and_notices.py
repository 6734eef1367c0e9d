"""A change and its notices are one: killed while writing a cancellation's notices, the bot leaves no half.

A coordinator cancels a session twelve members signed up for, and the bot is SIGKILLed as the first
notice is being written. Had the cancellation been committed on its own, the restarted bot would
show the session cancelled while nobody who signed up was ever told. Committed together, nothing
of the change survives the kill: the session is still on for everyone (the coordinator's command got
no answer, so they cancel again), and then each of the twelve hears of it exactly once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loopback import Sandbox
from loopback.harness import config_for_world
from loopback.ratelimit import RateLimiter
from tests.faults.die_at import MOMENT_VARIABLE
from tests.faults.support import READY_LINE, BotProcess, crowd_world, query, seed_reminder_session

MEMBERS = 12


def cancellation_dms(sandbox: Sandbox, member_ids: list[int]) -> dict[int, int]:
    """How many cancellation notices each member received by DM."""
    counts = {}
    for member_id in member_ids:
        person = sandbox.person(member_id)
        counts[member_id] = sum(1 for message in person.dms() if "is cancelled" in message.content)
    return counts


async def test_killed_while_writing_a_cancellations_notices_the_session_is_still_on_and_a_retry_tells_everyone_once(
    tmp_path: Path,
) -> None:
    world, members = crowd_world(MEMBERS)
    # Opening a dozen DMs at Discord's 5-per-5-seconds would only slow the test down.
    sandbox = Sandbox(world, rate_limiter=RateLimiter(route_limits={"POST /users/@me/channels": (250, 1.0)}))
    config = config_for_world(
        world,
        tmp_path / "practice",
        sections={"reminders": {"allowed_offsets_minutes": [60], "default_offsets_minutes": [60]}},
    )
    config_path = tmp_path / "practice" / "config.toml"
    database = config.storage.database
    session = await seed_reminder_session(config, members, offset=60, lead=dt.timedelta(days=2))
    member_ids = [member.id for member in members]

    async with sandbox:
        dying = await BotProcess(
            sandbox, config_path, module="tests.faults.die_at", env={MOMENT_VARIABLE: "first-notice-row"}
        ).start()
        try:
            await dying.wait_for_line(READY_LINE, timeout=30)
            await sandbox.wait_for_commands("session")
            cancel = {"session": session, "reason": "Our teacher is unwell"}
            await sandbox.person("laila").run_command("session", cancel, subcommand="cancel")
            assert await dying.wait_exit(timeout=30) == -9, dying.log_text()[-3000:]
        finally:
            dying.kill()

        # What anyone sees after the restart: the session as it was, and nobody told of a change not made.
        [(status,)] = query(database, "SELECT status FROM occurrences WHERE id = ?", (session,))
        assert status == "scheduled", "cancelled, yet none of the members who signed up will ever be told"
        assert query(database, "SELECT count(*) FROM deliveries WHERE kind LIKE 'notice:%'") == [(0,)]

        restarted = await BotProcess(sandbox, config_path).start()
        try:
            await restarted.wait_for_line(READY_LINE, timeout=30)
            assert set(cancellation_dms(sandbox, member_ids).values()) == {0}
            listing = await (await sandbox.person("sam").run_command("schedule")).response(timeout=15)
            assert f"#{session} ·" in listing.text, "members still see the session on the schedule"

            # The coordinator saw no answer, so they cancel again: now everyone is told, once.
            reply = await (await sandbox.person("laila").run_command("session", cancel, subcommand="cancel")).response(
                timeout=15
            )
            assert "Cancelled" in reply.content, reply.content
            await sandbox.wait_until(
                lambda: all(cancellation_dms(sandbox, member_ids).values()),
                timeout=30,
                what="every member's cancellation notice",
            )
            assert set(cancellation_dms(sandbox, member_ids).values()) == {1}
        finally:
            assert await restarted.stop() in (0, 130)
