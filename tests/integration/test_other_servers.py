"""Only the community's server: what happens in any other server never reaches the bot, and it leaves them.

The loopback Discord puts the bot in a second server, as an invite from someone else would (or as
a server the bot once served, its commands still registered there). Priya is in both: the bot
server-muted her in the community's session channel and she left before it could lift the mute,
so it waits for her next voice join, which Discord requires. Joining voice in the other server
must not use up that unmute, a command there must do nothing, and the bot leaves that server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import texts
from bot.storage import Database
from loopback import Sandbox, World
from loopback.harness import config_for_world, practice_bot
from loopback.world import ChannelType, Guild
from tests.faults.support import RequestGate

LEAVE = re.compile(r"/api/v10/users/@me/guilds/(?P<guild>[0-9]+)")


def other_server(world: World) -> Guild:
    """A second server with the bot in it, Priya a member, and the bot's commands registered there."""
    other = world.add_guild("Another Server")
    world.add_member(world.find_member("priya").user, guild=other)
    return other


def register_commands_in(world: World, guild: Guild) -> None:
    """The bot's commands, as they stay registered in a server the bot once served."""
    world.overwrite_commands(guild.id, [dict(command.data) for command in world.commands_for(world.guild.id)])


async def test_voice_and_commands_in_another_server_do_nothing_and_the_bot_leaves_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = World.default()
    other = other_server(world)
    priya = world.find_member("priya")
    priya.mute = True  # server-muted by an earlier session, which she left before it ended
    config = config_for_world(world, tmp_path / "practice")
    async with Database.open(config.storage.database) as db:
        await db.add_pending_unmute(priya.id)

    sandbox = Sandbox(world)
    slow_leave = RequestGate(
        sandbox, lambda request: request.method == "DELETE" and bool(LEAVE.fullmatch(request.path))
    )
    async with sandbox, practice_bot(sandbox, config) as bot:
        try:
            await sandbox.wait_until(lambda: slow_leave.held > 0, timeout=10, what="the bot to ask to leave")
            elsewhere = sandbox.person(priya.id, guild=other)
            await sandbox.wait_for_commands("signup")
            register_commands_in(world, other)

            # In the other server: a voice join, and a command.
            general = next(c for c in other.channels.values() if c.type == ChannelType.GUILD_VOICE)
            await elsewhere.join_voice(general)
            session = await bot.core.db.add_one_off(
                start=bot.core.clock().replace(microsecond=0) + (bot.core.horizon.length / 8),
                duration_minutes=45,
                channel_id=config.channels.default_session,
                title="Evening practice",
            )
            reply = await (await elsewhere.run_command("signup", {"session": session.id})).response()
            assert reply.ephemeral and reply.content == texts.OTHER_SERVER
            assert await bot.core.db.count_signups(session.id) == 0, "nothing was done there"

            # Back in the community's server, her next voice join lifts the mute the bot still owes her.
            community = sandbox.person(priya.id)
            await community.join_voice("Quiet Sitting")
            await sandbox.wait_until(lambda: not world.member(priya.id).mute, timeout=10, what="Priya's mute lifted")
            assert await bot.core.db.pending_unmutes() == []
            assert world.member(priya.id, other).mute is False
            touched = [r for r in sandbox.request_log if f"/guilds/{other.id}" in r.path]
            assert touched == [], f"the bot acted in the other server: {[r.path for r in touched]}"
        finally:
            slow_leave.open()
        await sandbox.wait_until(lambda: world.bot_user.id not in other.members, timeout=10, what="the bot to leave")
        assert world.bot_user.id in world.guild.members, "it stays in the community's server"

        # Invited to yet another server while running: it leaves that one too.
        third = world.add_guild("A Third Server")
        sandbox.events.guild_joined(third)
        await sandbox.wait_until(lambda: world.bot_user.id not in third.members, timeout=10, what="it leaves again")
    assert sandbox.spec_violations == [] and sandbox.unknown_routes == []
    left = [r.getMessage() for r in caplog.records if r.getMessage().startswith("left the server")]
    assert len(left) == 2 and "'Another Server'" in left[0] and f"({config.guild.id})" in left[0]
