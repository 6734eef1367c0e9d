"""Large fan-outs run in the background: the coordinator's command answers at once, every member still hears once.

Discord gives an interaction three seconds for its first answer. Telling forty members of a
cancellation takes longer than that whenever Discord is slow, so the command must not wait for
the messages. Here Discord holds every direct message until the coordinator has had their answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

from aiohttp import web

from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.ratelimit import RateLimiter
from tests.faults.support import RequestGate, crowd_world, seed_reminder_session

MEMBERS = 40
MESSAGE_POST = re.compile(r"/api/v10/channels/(?P<channel>[0-9]+)/messages")


def direct_message_gate(sandbox: Sandbox) -> RequestGate:
    """Holds every direct message the bot posts until opened."""

    def is_direct_message(request: web.Request) -> bool:
        found = MESSAGE_POST.fullmatch(request.path)
        return (
            request.method == "POST" and found is not None and int(found["channel"]) in sandbox.world.dm_channel_objects
        )

    return RequestGate(sandbox, is_direct_message)


def cancellation_notices(sandbox: Sandbox) -> Counter[int]:
    """How many cancellation notices each member has received by DM."""
    world = sandbox.world
    return Counter(
        user_id
        for user_id, channel_id in world.dm_channels.items()
        for message in world.history(channel_id)
        if message.author_id == world.bot_user.id and "is cancelled" in message.content
    )


async def test_cancelling_a_session_forty_signed_up_for_answers_at_once_and_each_hears_once(tmp_path: Path) -> None:
    world, members = crowd_world(MEMBERS)
    sandbox = Sandbox(world, rate_limiter=RateLimiter(route_limits={"POST /users/@me/channels": (250, 1.0)}))
    gate = direct_message_gate(sandbox)
    config = config_for_world(world, tmp_path / "practice")
    session = await seed_reminder_session(config, members, offset=60, lead=dt.timedelta(days=2))

    async with sandbox, practice_bot(sandbox, config) as bot:
        try:
            await sandbox.wait_for_commands("session")
            handle = await sandbox.person("laila").run_command(
                "session", {"session": session, "reason": "Our teacher is unwell"}, subcommand="cancel"
            )
            reply = await handle.response(timeout=10)
            assert "Cancelled" in reply.content and f"{MEMBERS} member(s)" in reply.content, reply.content
            await sandbox.wait_until(lambda: gate.held > 0, timeout=10, what="the fan-out to have begun")
            assert cancellation_notices(sandbox) == Counter(), "the answer came while every message was held"
        finally:
            gate.open()
        await sandbox.wait_until(
            lambda: len(cancellation_notices(sandbox)) == MEMBERS, timeout=60, what="every member's notice"
        )
        await bot.core.dispatcher.idle()
        assert await bot.core.db.count_deliveries("sent") == MEMBERS
    assert set(cancellation_notices(sandbox).values()) == {1}, "each member heard exactly once"
