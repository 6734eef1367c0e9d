"""Simulated people: what they may do, what the bot receives from them, and what they see.

Validation tests register commands straight into the world (as a sync would) and need no bot; the
others check, through the real discord.py client, that the payloads parse as Discord's do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import discord
import pytest
from discord import app_commands

from loopback import ActionRefused, CommandUnavailable, Sandbox
from loopback.world import Overwrite, Permission

TIMEOUT = 5.0

SCHEDULE = {
    "name": "schedule",
    "type": 1,
    "description": "Schedule a session",
    "options": [
        {
            "type": 3,
            "name": "kind",
            "description": "How often",
            "required": True,
            "choices": [{"name": "Weekly", "value": "weekly"}, {"name": "Once", "value": "once"}],
        },
        {"type": 7, "name": "room", "description": "Where", "required": True, "channel_types": [13]},
        {"type": 4, "name": "minutes", "description": "How long", "min_value": 10, "max_value": 120},
        {"type": 6, "name": "teacher", "description": "Who leads"},
    ],
}
SESSION = {
    "name": "session",
    "type": 1,
    "description": "Sessions",
    "options": [
        {
            "type": 2,
            "name": "series",
            "description": "Series",
            "options": [
                {
                    "type": 1,
                    "name": "pause",
                    "description": "Pause a series",
                    "options": [{"type": 3, "name": "name", "description": "Series name", "required": True}],
                }
            ],
        },
    ],
}


@pytest.fixture
def registered(sandbox: Sandbox) -> Sandbox:
    """The sandbox with /schedule and /session registered for the guild, as a bot's sync would."""
    sandbox.world.overwrite_commands(sandbox.world.guild.id, [SCHEDULE, SESSION])
    return sandbox


# ---- what Discord's client would not let a person do --------------------------------------------


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"room": "Practice Circle"}, "needs option 'kind'"),
        ({"kind": "daily", "room": "Practice Circle"}, "not one of the choices"),
        ({"kind": "once", "room": "Quiet Sitting"}, "not one of the channel types"),
        ({"kind": "once", "room": "Practice Circle", "minutes": 5}, "at least 10"),
        ({"kind": "once", "room": "Practice Circle", "minutes": 30.5}, "whole number"),
        ({"kind": "once", "room": "Practice Circle", "colour": "blue"}, "no option(s) ['colour']"),
    ],
)
async def test_invalid_command_input_is_refused_before_the_bot_sees_it(
    registered: Sandbox, options: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        await registered.person("sam").run_command("schedule", options)
    assert registered.world.interactions == {}


async def test_unknown_commands_and_subcommands(registered: Sandbox) -> None:
    sam = registered.person("sam")
    with pytest.raises(KeyError, match="no command /reschedule"):
        await sam.run_command("reschedule")
    with pytest.raises(ValueError, match="needs a subcommand"):
        await sam.run_command("session")
    with pytest.raises(ValueError, match="no subcommand 'stop'"):
        await sam.run_command("session", {"name": "x"}, subcommand="series stop")


async def test_a_command_nobody_is_listening_for_fails_loudly(registered: Sandbox) -> None:
    with pytest.raises(AssertionError, match="no bot is connected"):
        await registered.person("sam").run_command("schedule", {"kind": "once", "room": "Practice Circle"})


async def test_commands_follow_channel_visibility_and_default_permissions(registered: Sandbox) -> None:
    world = registered.world
    world.overwrite_commands(
        world.guild.id, [SCHEDULE | {"default_member_permissions": str(int(Permission.MANAGE_EVENTS))}]
    )
    with pytest.raises(CommandUnavailable, match="lacks the permissions"):
        await registered.person("priya").run_command("schedule", {"kind": "once", "room": "Practice Circle"})
    with pytest.raises(CommandUnavailable, match="cannot use commands in #coordinators"):
        await registered.person("ana").run_command(
            "schedule", {"kind": "once", "room": "Practice Circle"}, channel="coordinators"
        )


async def test_voice_rules_for_people(sandbox: Sandbox) -> None:
    world = sandbox.world
    sam = sandbox.person("sam")
    on_stage = await sam.join_voice("Practice Circle")
    assert on_stage.suppress and not on_stage.can_speak
    assert await sam.try_unmute() is False
    await sam.leave_voice()
    assert sam.voice_state is None
    quiet = await sam.join_voice("Quiet Sitting", self_mute=True)
    assert not quiet.suppress and not quiet.can_speak
    assert await sam.try_unmute() is True
    with pytest.raises(ActionRefused, match="not a Stage"):
        await sam.request_to_speak()
    quiet_channel = world.find_channel("Quiet Sitting")
    quiet_channel.overwrites[world.guild.id] = Overwrite(world.guild.id, 0, deny=Permission.CONNECT)
    with pytest.raises(ActionRefused, match="cannot connect"):
        await sandbox.person("priya").join_voice("Quiet Sitting")
    with pytest.raises(ActionRefused, match="not in voice"):
        await sandbox.person("priya").leave_voice()


async def test_members_cannot_post_in_read_only_channels(sandbox: Sandbox) -> None:
    with pytest.raises(ActionRefused, match="cannot send messages in #schedule"):
        await sandbox.person("jonas").send_message("schedule", "hi")
    message = await sandbox.person("laila").send_message("schedule", "Sunday circle is on")
    assert sandbox.channel_messages("schedule") == [message]


# ---- what the bot receives -------------------------------------------------------------------------


async def test_interaction_payload_parses_like_discords(sandbox: Sandbox, run: Any) -> None:
    seen: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    guild = discord.Object(sandbox.world.guild.id)
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)

    @tree.command(name="invite", description="Invite a teacher", guild=guild)
    async def invite(
        interaction: discord.Interaction,
        teacher: discord.Member,
        room: discord.StageChannel,
        role: discord.Role,
    ) -> None:
        seen.set_result(
            {
                "teacher": teacher,
                "room": room,
                "role": role,
                "user": interaction.user,
                "permissions": interaction.permissions,
                "app_permissions": interaction.app_permissions,
                "guild_locale": interaction.guild_locale,
                "channel": interaction.channel,
            }
        )
        await interaction.response.send_message("invited", ephemeral=True)

    async with run(client):
        await tree.sync(guild=guild)
        laila = sandbox.person("laila")
        handle = await laila.run_command(
            "invite",
            {"teacher": "Kofi", "room": "Practice Circle", "role": "Teacher"},
            channel="coordinators",
        )
        got = await asyncio.wait_for(seen, TIMEOUT)
        assert (await handle.response()).content == "invited"
    kofi = sandbox.world.find_member("kofi")
    assert isinstance(got["teacher"], discord.Member) and got["teacher"].id == kofi.id
    assert [r.name for r in got["teacher"].roles if r.name != "@everyone"] == ["Teacher"]
    assert isinstance(got["room"], discord.StageChannel) and got["room"].name == "Practice Circle"
    assert got["role"].name == "Teacher"
    assert isinstance(got["user"], discord.Member) and got["user"].id == laila.id
    assert got["permissions"].manage_events and got["permissions"].view_channel
    assert got["app_permissions"].manage_events and not got["app_permissions"].administrator
    assert str(got["guild_locale"]) == "en-US"
    assert got["channel"].name == "coordinators"


async def test_people_see_only_their_own_ephemeral_messages_and_buttons(sandbox: Sandbox, run: Any) -> None:
    guild = discord.Object(sandbox.world.guild.id)
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Yes", custom_id="confirm:yes")
        async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

    @tree.command(name="leave", description="Leave a series", guild=guild)
    async def leave(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Sure?", view=Confirm(), ephemeral=True)

    async with run(client):
        await tree.sync(guild=guild)
        sam, priya = sandbox.person("sam"), sandbox.person("priya")
        asked = await (await sam.run_command("leave")).response()
        assert asked.message is not None and asked.ephemeral
        with pytest.raises(ActionRefused, match="someone else's ephemeral"):
            await priya.press_button(asked.message, "confirm:yes")
        with pytest.raises(ActionRefused, match="no component 'confirm:no'"):
            await sam.press_button(asked.message, "confirm:no")
        done = await (await sam.press_button(asked.message, "confirm:yes")).response()
        assert done.kind == "update" and done.content == "confirmed" and done.components == []
        with pytest.raises(ActionRefused, match="no modal"):
            await sam.submit_modal("anything", {})


async def test_interest_in_events_and_messages_reach_the_bot(sandbox: Sandbox, run: Any) -> None:
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)
    async with run(client):
        guild = client.get_guild(sandbox.world.guild.id)
        room = client.get_channel(sandbox.world.find_channel("Quiet Sitting").id)
        assert guild is not None and isinstance(room, discord.VoiceChannel)
        event = await guild.create_scheduled_event(
            name="Monday sit",
            start_time=discord.utils.utcnow() + timedelta(days=2),
            channel=room,
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        interested = client.wait_for("scheduled_event_user_add", timeout=TIMEOUT)
        await sandbox.person("jonas").mark_interested(event.id)
        _, user = await interested
        assert user.id == sandbox.person("jonas").id
        posted = client.wait_for("message", timeout=TIMEOUT)
        await sandbox.person("jonas").send_message("general", "see you Monday")
        message = await posted
        assert message.content == "see you Monday" and message.author.id == sandbox.person("jonas").id
        assert isinstance(message.author, discord.Member)


class SeriesModal(discord.ui.Modal, title="New series"):
    """A modal in the newer style: labelled text input and a select."""

    name: discord.ui.Label[SeriesModal] = discord.ui.Label(
        text="Name", component=discord.ui.TextInput(custom_id="series:name", min_length=3)
    )
    day: discord.ui.Label[SeriesModal] = discord.ui.Label(
        text="Day",
        component=discord.ui.Select(
            custom_id="series:day",
            options=[
                discord.SelectOption(label="Sunday", value="sun"),
                discord.SelectOption(label="Monday", value="mon"),
            ],
        ),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.name.component, discord.ui.TextInput)
        assert isinstance(self.day.component, discord.ui.Select)
        await interaction.response.send_message(
            f"{self.name.component.value} on {self.day.component.values[0]}", ephemeral=True
        )


@pytest.fixture
async def series_modal(sandbox: Sandbox, run: Any) -> AsyncIterator[str]:
    """A bot whose /series answers with `SeriesModal`, already shown to Laila; yields its custom_id."""
    guild = discord.Object(sandbox.world.guild.id)
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)

    @tree.command(name="series", description="Create a series", guild=guild)
    async def series(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(SeriesModal())

    async with run(client):
        await tree.sync(guild=guild)
        modal = (await (await sandbox.person("laila").run_command("series")).response()).modal
        assert modal is not None
        yield modal["custom_id"]


async def test_labelled_modal_fields_are_checked_and_submitted(sandbox: Sandbox, series_modal: str) -> None:
    laila = sandbox.person("laila")
    with pytest.raises(ActionRefused, match="at least 3"):
        await laila.submit_modal(series_modal, {"series:name": "ab", "series:day": "sun"})
    with pytest.raises(ActionRefused, match="no field"):
        await laila.submit_modal(series_modal, {"series:name": "Sunday sit", "series:day": "sun", "series:colour": "x"})
    handle = await laila.submit_modal(series_modal, {"series:name": "Sunday sit", "series:day": "sun"})
    reply = await handle.response()
    assert reply.content == "Sunday sit on sun"
    assert reply.message is not None and reply.message.interaction_id == handle.id


async def test_modal_select_values_must_be_offered(sandbox: Sandbox, series_modal: str) -> None:
    laila = sandbox.person("laila")
    with pytest.raises(ActionRefused, match="'tue' is not an option"):
        await laila.submit_modal(series_modal, {"series:name": "Tuesday sit", "series:day": "tue"})
    with pytest.raises(ActionRefused, match="takes 1..1 values, got 0"):
        await laila.submit_modal(series_modal, {"series:name": "Tuesday sit"})


async def test_a_global_command_run_in_a_dm(sandbox: Sandbox, run: Any) -> None:
    seen: asyncio.Future[discord.Interaction] = asyncio.get_running_loop().create_future()
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)

    @tree.command(name="mysessions", description="Your sessions")
    @app_commands.allowed_contexts(guilds=True, dms=True)
    async def mysessions(interaction: discord.Interaction) -> None:
        seen.set_result(interaction)
        await interaction.response.send_message("You have no sessions yet", ephemeral=True)

    @tree.command(name="setup", description="Guild only")
    @app_commands.guild_only()
    async def setup(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    async with run(client):
        await tree.sync()
        sam = sandbox.person("sam")
        with pytest.raises(CommandUnavailable, match="not offered in DMs"):
            await sam.run_command("setup", channel="dm")
        reply = await (await sam.run_command("mysessions", channel="dm")).response()
        interaction = await asyncio.wait_for(seen, TIMEOUT)
    assert reply.content == "You have no sessions yet" and reply.ephemeral
    assert interaction.guild_id is None and isinstance(interaction.user, discord.User)
    assert isinstance(interaction.channel, discord.DMChannel)
    assert [c.guild_id for c in sandbox.world.commands.values()] == [None, None]
