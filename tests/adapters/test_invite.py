"""What the bot needs from its server is said once: the invite asks for exactly what the checks compare."""

from __future__ import annotations

import discord

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.invite import NEEDS, REQUIRED, ROLE_COMMANDS, Place
from bot.texts import setup as texts
from loopback import Sandbox


def test_the_invite_asks_for_exactly_the_permissions_the_places_need() -> None:
    assert {name for name, _ in REQUIRED} == {need.permission for need in NEEDS}
    assert len(REQUIRED) == len({name for name, _ in REQUIRED})
    for need in NEEDS:
        assert need.permission in discord.Permissions.VALID_FLAGS, need.permission
        assert need.permission in texts.SERVER_PERMISSION_NAMES and need.permission in texts.CHANNEL_PERMISSION_NAMES
    assert {need.place for need in NEEDS} == set(Place), "every place has a need, and every need a place"


async def test_each_staff_role_s_commands_are_ones_the_bot_registers(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    names = [name for staff in ROLE_COMMANDS for name in staff.commands]
    await sandbox.wait_for_commands(*names)
    config = practice.core.config
    for staff in ROLE_COMMANDS:
        assert hasattr(config.roles, staff.role) and hasattr(config.channels, staff.channel)
