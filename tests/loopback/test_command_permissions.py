"""What a server admin sets in Server Settings > Integrations decides who is offered a command.

The loopback Discord keeps those settings per command (or for the whole app), answers the bot's
GET requests for them as Discord does (a bot may read them, never change them), and its simulated
people are offered a command only where Discord's client would offer it.
"""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from loopback import CommandUnavailable, Sandbox
from loopback.world import CHANNEL_PERMISSION, ROLE_PERMISSION, USER_PERMISSION, CommandPermission, Permission

REPORT = {"name": "report", "type": 1, "description": "Reports", "default_member_permissions": str(1 << 5)}
TEACH = {"name": "teach", "type": 1, "description": "Teach"}


@pytest.fixture
async def integrations(sandbox: Sandbox) -> Sandbox:
    """/report (Manage Server by default) and /teach registered; a coordinator whose role grants nothing."""
    sandbox.world.overwrite_commands(sandbox.world.guild.id, [REPORT, TEACH])
    sandbox.world.find_role("Coordinator").permissions = Permission(0)
    await sandbox.join_guild("bea", "Bea", roles=["Coordinator"])
    return sandbox


def allowed(sandbox: Sandbox, who: str, command: str, channel: str = "general") -> bool:
    """Whether Discord's client would offer `command` to `who` in `channel`."""
    world = sandbox.world
    return (
        world.command_refusal(world.find_member(who), world.find_channel(channel), world.find_command(command)) is None
    )


def role(sandbox: Sandbox, name: str, permission: bool) -> CommandPermission:
    return CommandPermission(sandbox.world.find_role(name).id, ROLE_PERMISSION, permission)


async def test_default_member_permissions_decide_when_no_admin_said_anything(integrations: Sandbox) -> None:
    assert not allowed(integrations, "bea", "report"), "Manage Server is asked for, and Bea's role has none"
    assert allowed(integrations, "laila", "report"), "the owner may use everything"
    assert allowed(integrations, "sam", "teach")
    with pytest.raises(CommandUnavailable, match="lacks the permissions /report asks for"):
        await integrations.person("bea").run_command("report")


async def test_an_allowed_role_overrides_the_default_permissions(integrations: Sandbox) -> None:
    report = integrations.world.find_command("report")
    integrations.world.set_command_permissions(report, [role(integrations, "Coordinator", True)])
    assert allowed(integrations, "bea", "report")
    assert not allowed(integrations, "sam", "report"), "everyone else still falls back to the default"


async def test_command_level_settings_win_over_the_apps_and_any_allowed_role_wins(integrations: Sandbox) -> None:
    teach = integrations.world.find_command("teach")
    everyone = CommandPermission(integrations.world.guild.id, ROLE_PERMISSION, False)
    integrations.world.set_command_permissions(None, [everyone])  # the app: off for @everyone
    assert not allowed(integrations, "ana", "teach") and not allowed(integrations, "sam", "teach")
    integrations.world.set_command_permissions(teach, [role(integrations, "Teacher", True)])
    assert allowed(integrations, "ana", "teach"), "the command's own setting for Teacher decides"
    assert not allowed(integrations, "sam", "teach"), (
        "Sam has no role the command names, so the app's @everyone applies"
    )
    sam = integrations.world.find_member("sam")
    integrations.world.set_command_permissions(
        teach, [role(integrations, "Teacher", True), CommandPermission(sam.id, USER_PERMISSION, True)]
    )
    assert allowed(integrations, "sam", "teach"), "a member's own setting comes first"
    integrations.world.find_member("ana").roles.append(integrations.world.find_role("Coordinator").id)
    integrations.world.set_command_permissions(
        teach, [role(integrations, "Teacher", True), role(integrations, "Coordinator", False)]
    )
    assert allowed(integrations, "ana", "teach"), "with one role allowed and one denied, allowed wins"


async def test_a_command_switched_off_in_a_channel(integrations: Sandbox) -> None:
    teach = integrations.world.find_command("teach")
    guild_id = integrations.world.guild.id
    teachers = integrations.world.find_channel("teachers")
    integrations.world.set_command_permissions(
        teach,
        [
            CommandPermission(guild_id - 1, CHANNEL_PERMISSION, False),
            CommandPermission(teachers.id, CHANNEL_PERMISSION, True),
        ],
    )
    assert not allowed(integrations, "ana", "teach", "general")
    assert allowed(integrations, "ana", "teach", "teachers")
    with pytest.raises(CommandUnavailable, match="switched off in #general"):
        await integrations.person("ana").run_command("teach")


async def test_the_bot_reads_the_settings_and_may_not_change_them(sandbox: Sandbox, run: Any) -> None:
    guild = discord.Object(sandbox.world.guild.id)
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)

    @tree.command(name="report", description="Reports", guild=guild)
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    @tree.command(name="teach", description="Teach", guild=guild)
    async def teach(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    async with run(client):
        synced = {command.name: command for command in await tree.sync(guild=guild)}
        world = sandbox.world
        coordinator = world.find_role("Coordinator")
        world.set_command_permissions(
            world.find_command("report"), [CommandPermission(coordinator.id, ROLE_PERMISSION, True)]
        )
        world.set_command_permissions(None, [CommandPermission(world.guild.id, ROLE_PERMISSION, False)])
        assert client.application_id is not None
        listed = await client.http.get_guild_application_command_permissions(client.application_id, guild.id)
        by_id = {int(entry["id"]): entry["permissions"] for entry in listed}
        assert by_id == {
            synced["report"].id: [{"id": str(coordinator.id), "type": 1, "permission": True}],
            client.application_id: [{"id": str(world.guild.id), "type": 1, "permission": False}],
        }
        one = await synced["report"].fetch_permissions(guild)
        assert [(p.target.id, p.permission) for p in one.permissions] == [(coordinator.id, True)]
        with pytest.raises(discord.NotFound):
            await synced["teach"].fetch_permissions(guild)
        with pytest.raises(discord.Forbidden) as refused:
            await client.http.edit_application_command_permissions(
                client.application_id, guild.id, synced["teach"].id, {"permissions": []}
            )
        assert refused.value.code == 20001
