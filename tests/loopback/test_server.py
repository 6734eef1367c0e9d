"""The sandbox's REST side against the real discord.py client: login, commands, interactions, messages.

Each test runs an unpatched `discord.Client` or `commands.Bot` pointed at the sandbox and checks
what a person in the guild would see, or what discord.py raised.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from loopback import CommandUnavailable, Sandbox
from loopback.world import ChannelType, Overwrite, Permission

ANSWER_TIMEOUT = 5.0


def intents() -> discord.Intents:
    """What our bot asks for: the defaults plus Server Members."""
    chosen = discord.Intents.default()
    chosen.members = True
    return chosen


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SignupView(discord.ui.View):
    """A persistent view: no timeout, a stable custom_id."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Remind me", custom_id="signup:remind", style=discord.ButtonStyle.primary)
    async def remind(self, interaction: discord.Interaction, button: discord.ui.Button[SignupView]) -> None:
        await interaction.response.send_message(f"{interaction.user.display_name} will be reminded", ephemeral=True)

    @discord.ui.select(
        custom_id="signup:zone",
        options=[
            discord.SelectOption(label="Americas", value="am"),
            discord.SelectOption(label="Europe", value="eu"),
        ],
    )
    async def zone(self, interaction: discord.Interaction, select: discord.ui.Select[SignupView]) -> None:
        await interaction.response.edit_message(content=f"zone set to {select.values[0]}")


class NoteModal(discord.ui.Modal, title="A note for the teacher"):
    note: discord.ui.TextInput[NoteModal] = discord.ui.TextInput(label="Note", custom_id="note:text", max_length=50)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"noted: {self.note.value}", ephemeral=True)


RECORDINGS = ["Affectionate Breathing", "Soften, Soothe, Allow", "Compassionate Body Scan"]


class PracticeBot(commands.Bot):
    """A small bot with the kinds of commands Practice Circles uses."""

    def __init__(self, guild_id: int, **options: Any) -> None:
        super().__init__(command_prefix="!", intents=intents(), guild_ready_timeout=0.05, **options)
        self.guild_object = discord.Object(guild_id)
        self.errors: list[BaseException] = []
        self.synced = asyncio.Event()

    async def setup_hook(self) -> None:
        self.add_view(SignupView())
        self.tree.on_error = self._tree_error  # type: ignore[method-assign]
        guild = self.guild_object

        @self.tree.command(name="schedule", description="Schedule a practice session", guild=guild)
        @app_commands.describe(kind="How often", teacher="Who leads", room="Where", minutes="How long")
        @app_commands.choices(
            kind=[
                app_commands.Choice(name="Weekly", value="weekly"),
                app_commands.Choice(name="Once", value="once"),
            ]
        )
        async def schedule(
            interaction: discord.Interaction,
            kind: app_commands.Choice[str],
            teacher: discord.Member,
            room: discord.StageChannel,
            minutes: app_commands.Range[int, 10, 120] = 45,
            audience: discord.Role | None = None,
        ) -> None:
            who = audience.name if audience else "everyone"
            await interaction.response.send_message(
                f"{kind.value} session with {teacher.display_name} in {room.name} for {minutes} min ({who})",
                ephemeral=True,
            )

        session = app_commands.Group(name="session", description="Manage sessions", guild_ids=[guild.id])

        @session.command(name="cancel", description="Cancel a session")
        async def cancel(interaction: discord.Interaction, reason: str) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send(f"cancelled: {reason}", ephemeral=True)

        self.tree.add_command(session)

        @self.tree.command(name="coordinate", description="Coordinators only", guild=guild)
        @app_commands.default_permissions(manage_events=True)
        async def coordinate(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("ok", ephemeral=True)

        @self.tree.command(name="note", description="Leave a note", guild=guild)
        async def note(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(NoteModal())

        @self.tree.command(name="play", description="Play a recording", guild=guild)
        async def play(interaction: discord.Interaction, title: str) -> None:
            await interaction.response.send_message(f"playing {title}")
            await interaction.edit_original_response(content=f"playing {title} (started)")

        @play.autocomplete("title")
        async def titles(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=t, value=t) for t in RECORDINGS if current.lower() in t.lower()]

    async def on_ready(self) -> None:
        await self.tree.sync(guild=self.guild_object)
        self.synced.set()

    async def _tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.errors.append(error)


async def start_practice_bot(run: Any, sandbox: Sandbox, **options: Any) -> Any:
    """Enter `run(bot)` and wait until its commands are synced; returns (context, bot)."""
    bot = PracticeBot(sandbox.world.guild.id, **options)
    context = run(bot)
    await context.__aenter__()
    await asyncio.wait_for(bot.synced.wait(), ANSWER_TIMEOUT)
    return context, bot


# ---- login and GUILD_CREATE ------------------------------------------------------------------


async def test_raw_client_logs_in_and_sees_the_guild(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        world = sandbox.world
        guild = client.get_guild(world.guild.id)
        assert guild is not None and guild.name == "Practice Circles"
        assert client.user is not None and client.user.id == world.bot_user.id and client.user.bot
        assert client.application_id == world.application.id
        assert {c.name for c in guild.text_channels} >= {"schedule", "teachers", "coordinators", "general"}
        assert [c.name for c in guild.stage_channels] == ["Practice Circle"]
        assert [c.name for c in guild.voice_channels] == ["Quiet Sitting"]
        assert {r.name for r in guild.roles} >= {"@everyone", "Coordinator", "Teacher"}
        assert guild.owner_id == world.find_member("laila").id
        assert len(guild.members) == len(world.guild.members)
        assert guild.get_member(world.find_member("mei").id) is not None
        teachers = guild.get_channel(world.find_channel("teachers").id)
        assert isinstance(teachers, discord.TextChannel)
        assert not teachers.permissions_for(guild.default_role).view_channel
        assert teachers.permissions_for(guild.me).send_messages


async def test_json_replies_say_exactly_application_json_and_errors_look_like_discords(
    sandbox: Sandbox,
) -> None:
    token = sandbox.world.bot_token
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{sandbox.api_base_url}/users/@me", headers={"Authorization": f"Bot {token}"}) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "application/json"
            assert (await r.json())["id"] == str(sandbox.world.bot_user.id)
            assert "X-RateLimit-Bucket" in r.headers
        async with http.get(f"{sandbox.api_base_url}/users/@me", headers={"Authorization": "Bot wrong"}) as r:
            assert r.status == 401
            assert await r.json() == {"message": "401: Unauthorized", "code": 0}
        async with http.get(f"{sandbox.api_base_url}/gateway/bot", headers={"Authorization": f"Bot {token}"}) as r:
            assert (await r.json())["url"] == sandbox.gateway_url
        async with http.get(f"{sandbox.api_base_url}/nowhere", headers={"Authorization": f"Bot {token}"}) as r:
            assert r.status == 404
            assert await r.json() == {"message": "404: Not Found", "code": 0}
    assert sandbox.invalid_requests.count() == 1
    assert sandbox.validated_requests == (2 if sandbox.spec is not None else 0)
    assert sandbox.unknown_routes == [("GET", "/nowhere")]
    sandbox.unknown_routes.clear()


async def test_a_request_that_breaks_the_spec_is_refused_and_recorded(sandbox: Sandbox, run: Any) -> None:
    if sandbox.spec is None:
        pytest.skip("Discord's OpenAPI spec is not available")
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        route = discord.http.Route(
            "POST", "/channels/{channel_id}/messages", channel_id=sandbox.world.find_channel("general").id
        )
        with pytest.raises(discord.HTTPException) as raised:
            await client.http.request(route, json={"content": 123})
    assert raised.value.status == 400
    assert "body.content" in str(raised.value), "the bot's exception should carry the spec's complaint"
    assert len(sandbox.spec_violations) == 1
    assert any("content" in problem for problem in sandbox.spec_violations[0].problems)
    assert sandbox.channel_messages("general") == []
    sandbox.spec_violations.clear()


# ---- slash commands, components, modals ----------------------------------------------------------


async def test_member_runs_a_synced_command_with_options_and_sees_an_ephemeral_reply(
    sandbox: Sandbox, run: Any
) -> None:
    context, bot = await start_practice_bot(run, sandbox)
    try:
        assert {c.name for c in sandbox.world.commands_for(sandbox.world.guild.id)} >= {"schedule", "session"}
        sam = sandbox.person("sam")
        handle = await sam.run_command(
            "schedule",
            {
                "kind": "weekly",
                "teacher": sandbox.person("ana"),
                "room": "Practice Circle",
                "minutes": 30,
                "audience": "Teacher",
            },
        )
        reply = await handle.response()
        assert reply.kind == "message"
        assert reply.ephemeral
        assert reply.content == "weekly session with Ana in Practice Circle for 30 min (Teacher)"
        assert sam.ephemeral_replies() == [reply.message]
        assert sandbox.person("priya").ephemeral_replies() == []
        assert sandbox.channel_messages("general") == []
        assert bot.errors == []
    finally:
        await context.__aexit__(None, None, None)


async def test_subcommand_with_a_thinking_defer_then_follow_up(sandbox: Sandbox, run: Any) -> None:
    context, bot = await start_practice_bot(run, sandbox)
    try:
        handle = await sandbox.person("laila").run_command("session", {"reason": "teacher ill"}, subcommand="cancel")
        reply = await handle.response()
        assert reply.content == "cancelled: teacher ill"
        assert reply.ephemeral
        assert handle.record.callback_type == 5
        assert len(handle.messages()) == 1
    finally:
        await context.__aexit__(None, None, None)


async def test_default_member_permissions_hide_a_command_from_members(sandbox: Sandbox, run: Any) -> None:
    context, _ = await start_practice_bot(run, sandbox)
    try:
        with pytest.raises(CommandUnavailable):
            await sandbox.person("sam").run_command("coordinate")
        reply = await (await sandbox.person("laila").run_command("coordinate")).response()
        assert reply.content == "ok"
    finally:
        await context.__aexit__(None, None, None)


async def test_persistent_view_button_and_select(sandbox: Sandbox, run: Any) -> None:
    context, bot = await start_practice_bot(run, sandbox)
    try:
        channel = bot.get_channel(sandbox.world.find_channel("schedule").id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("Sunday circle", view=SignupView())
        message = sandbox.world.messages[sent.id]
        reply = await (await sandbox.person("jonas").press_button(message, "signup:remind")).response()
        assert reply.ephemeral and reply.content == "Jonas will be reminded"
        update = await (await sandbox.person("jonas").choose(message, "signup:zone", ["eu"])).response()
        assert update.kind == "update"
        assert sandbox.channel_messages("schedule")[-1].content == "zone set to eu"
    finally:
        await context.__aexit__(None, None, None)


async def test_modal_is_shown_then_submitted(sandbox: Sandbox, run: Any) -> None:
    context, _ = await start_practice_bot(run, sandbox)
    try:
        priya = sandbox.person("priya")
        shown = await (await priya.run_command("note")).response()
        assert shown.kind == "modal"
        assert shown.modal is not None and shown.modal["title"] == "A note for the teacher"
        reply = await (await priya.submit_modal(shown.modal["custom_id"], {"note:text": "running late"})).response()
        assert reply.ephemeral and reply.content == "noted: running late"
    finally:
        await context.__aexit__(None, None, None)


async def test_autocomplete_and_an_edited_public_reply(sandbox: Sandbox, run: Any) -> None:
    context, _ = await start_practice_bot(run, sandbox)
    try:
        kofi = sandbox.person("kofi")
        choices = await kofi.autocomplete("play", focused="title", typed="so")
        assert [c["value"] for c in choices] == ["Soften, Soothe, Allow"]
        handle = await kofi.run_command("play", {"title": "Soften, Soothe, Allow"})
        reply = await handle.response()
        assert not reply.ephemeral
        await sandbox.wait_until(lambda: handle.record.edits >= 1, what="the edit of the original response")
        assert sandbox.channel_messages("general")[-1].content == "playing Soften, Soothe, Allow (started)"
    finally:
        await context.__aexit__(None, None, None)


@pytest.mark.sandbox(clock=FakeClock())
async def test_an_interaction_answered_after_three_seconds_is_unknown(sandbox: Sandbox, run: Any) -> None:
    clock = sandbox.clock
    assert isinstance(clock, FakeClock)
    advance = clock.advance
    late_error: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()
    guild = discord.Object(sandbox.world.guild.id)

    class LateBot(commands.Bot):
        async def setup_hook(self) -> None:
            @self.tree.command(name="slow", description="Answers too late", guild=guild)
            async def slow(interaction: discord.Interaction) -> None:
                advance(3.5)
                await interaction.response.send_message("too late")

            self.tree.on_error = on_error  # type: ignore[method-assign]

    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        late_error.set_result(error)

    bot = LateBot(command_prefix="!", intents=intents(), guild_ready_timeout=0.05)
    async with run(bot):
        await bot.tree.sync(guild=guild)
        handle = await sandbox.person("sam").run_command("slow")
        error = await asyncio.wait_for(late_error, ANSWER_TIMEOUT)
    assert sandbox.late_callbacks == [handle.id]
    assert not handle.record.acknowledged
    assert isinstance(error, app_commands.CommandInvokeError)
    assert isinstance(error.original, discord.NotFound) and error.original.code == 10062


# ---- messages and DMs ---------------------------------------------------------------------------


async def test_dm_to_a_member_with_closed_dms_is_forbidden_50007(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        guild = client.get_guild(sandbox.world.guild.id)
        assert guild is not None
        mei = guild.get_member(sandbox.world.find_member("mei").id)
        sam = guild.get_member(sandbox.world.find_member("sam").id)
        assert mei is not None and sam is not None
        with pytest.raises(discord.Forbidden) as raised:
            await mei.send("Your circle starts in an hour")
        assert raised.value.code == 50007
        await sam.send("Your circle starts in an hour")
    assert [m.content for m in sandbox.person("sam").dms()] == ["Your circle starts in an hour"]
    assert sandbox.person("mei").dms() == []


async def test_repeated_nonce_with_enforce_nonce_returns_the_first_message(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        channel = client.get_channel(sandbox.world.find_channel("general").id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("Reminder: circle at 18:00", nonce="occ1-sam-1h-v1")
        again = await channel.send("Reminder: circle at 18:00", nonce="occ1-sam-1h-v1")
        other = await channel.send("Reminder: circle at 18:00", nonce="occ1-sam-1h-v2")
    assert again.id == first.id
    assert other.id != first.id
    assert [m.id for m in sandbox.channel_messages("general")] == [first.id, other.id]
    assert sandbox.nonce_hits == [first.id]


async def test_nonce_is_forgotten_after_a_few_minutes(sandbox: Sandbox) -> None:
    world = sandbox.world
    channel = world.find_channel("general")
    first = world.add_message(channel, world.bot_user.id, 0.0, content="x", nonce="n1")
    assert world.find_by_nonce(channel.id, world.bot_user.id, "n1") is first
    later = datetime.now(UTC) + timedelta(minutes=6)
    world.now = lambda: later
    assert world.find_by_nonce(channel.id, world.bot_user.id, "n1") is None


async def test_injected_429_is_waited_out_by_discord_py(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        channel = client.get_channel(sandbox.world.find_channel("general").id)
        assert isinstance(channel, discord.TextChannel)
        sandbox.faults.inject(429, 1, route="/channels/{channel_id}/messages", retry_after=0.05)
        await channel.send("hello after a short wait")
    statuses = [r.status for r in sandbox.requests_to("POST", "/channels/{channel_id}/messages")]
    assert statuses == [429, 200]
    assert sandbox.invalid_requests.count() == 1
    assert [m.content for m in sandbox.channel_messages("general")] == ["hello after a short wait"]


async def test_bot_without_send_permission_gets_forbidden(sandbox: Sandbox, run: Any) -> None:
    world = sandbox.world
    schedule = world.find_channel("schedule")
    bot_role = world.find_role("Practice Circles")
    del schedule.overwrites[bot_role.id]
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        channel = client.get_channel(schedule.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as raised:
            await channel.send("This week's sessions")
    assert raised.value.code == 50013


# ---- threads, overwrites, channels ---------------------------------------------------------------


async def test_threads_from_a_message_and_without_one(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        channel = client.get_channel(sandbox.world.find_channel("teachers").id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("Notes for Sunday")
        # Waiters are registered before the request: the gateway event may beat the HTTP answer.
        thread_created = client.wait_for("thread_create", timeout=ANSWER_TIMEOUT)
        thread = await message.create_thread(name="Sunday notes")
        assert thread.id == message.id
        assert (await thread_created).id == thread.id
        ana = channel.guild.get_member(sandbox.world.find_member("ana").id)
        assert ana is not None
        await thread.add_user(ana)
        private = await channel.create_thread(name="coordination", type=discord.ChannelType.private_thread)
        assert private.type is discord.ChannelType.private_thread
    world_thread = sandbox.world.channel(thread.id)
    assert world_thread.type == ChannelType.PUBLIC_THREAD
    assert set(world_thread.thread_members) == {
        sandbox.world.bot_user.id,
        sandbox.world.find_member("ana").id,
    }


async def test_permission_overwrites_and_channel_edit_reach_the_cache(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        stage = client.get_channel(sandbox.world.find_channel("Practice Circle").id)
        assert isinstance(stage, discord.StageChannel)
        sam = stage.guild.get_member(sandbox.world.find_member("sam").id)
        assert sam is not None
        updated = client.wait_for("guild_channel_update", timeout=ANSWER_TIMEOUT)
        await stage.set_permissions(sam, speak=False)
        await updated
        assert stage.overwrites_for(sam).speak is False
        assert (
            not sandbox.world.permissions_in(sandbox.world.find_member("sam"), sandbox.world.channel(stage.id))
            & Permission.SPEAK
        )
        with pytest.raises(discord.Forbidden):
            await stage.set_permissions(sam, manage_webhooks=True)
        updated = client.wait_for("guild_channel_update", timeout=ANSWER_TIMEOUT)
        await stage.set_permissions(sam, overwrite=None)
        await updated
        assert stage.overwrites_for(sam).is_empty()
        general = client.get_channel(sandbox.world.find_channel("general").id)
        assert isinstance(general, discord.TextChannel)
        await general.edit(topic="Circles every Sunday")
    assert sandbox.world.find_channel("general").topic == "Circles every Sunday"


async def test_a_bot_grants_in_a_channel_only_what_it_holds_server_wide_or_by_manage_permissions_there(
    sandbox: Sandbox, run: Any
) -> None:
    """Discord's rule for Edit Channel Permissions (discord-api-docs #3450): what the bot holds in the
    guild (or the parent category) counts, not what an overwrite gives it in the channel, unless that
    channel gives it Manage Permissions explicitly."""
    world = sandbox.world
    bot_role = world.find_role("Practice Circles")
    category = world.find_channel("Practice")
    category.overwrites[bot_role.id] = Overwrite(bot_role.id, 0, deny=Permission.SEND_MESSAGES)
    quiet = world.find_channel("Quiet Sitting")
    quiet.overwrites[bot_role.id] = Overwrite(bot_role.id, 0, allow=Permission.SEND_MESSAGES)
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        room = client.get_channel(quiet.id)
        assert isinstance(room, discord.VoiceChannel)
        everyone = room.guild.default_role
        assert room.permissions_for(room.guild.me).send_messages, "it may post there itself"
        with pytest.raises(discord.Forbidden):
            await room.set_permissions(everyone, send_messages=False)
        quiet.overwrites[bot_role.id] = Overwrite(
            bot_role.id, 0, allow=Permission.SEND_MESSAGES | Permission.MANAGE_ROLES
        )
        await room.set_permissions(everyone, send_messages=False)
    assert quiet.overwrites[world.guild.id].deny & Permission.SEND_MESSAGES


# ---- members, voice, Stage -------------------------------------------------------------------------


async def test_members_fetch_edit_and_role_hierarchy(sandbox: Sandbox, run: Any) -> None:
    sandbox.world.find_role("Practice Circles").permissions |= Permission.MANAGE_NICKNAMES
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        guild = client.get_guild(sandbox.world.guild.id)
        assert guild is not None
        fetched = [m async for m in guild.fetch_members(limit=None)]
        assert len(fetched) == len(sandbox.world.guild.members)
        roles = await guild.fetch_roles()
        assert {r.name for r in roles} >= {"Coordinator", "Teacher"}
        sam = await guild.fetch_member(sandbox.world.find_member("sam").id)
        await sam.edit(nick="Sam (they/them)")
        teacher = discord.utils.get(guild.roles, name="Teacher")
        assert teacher is not None
        await sam.add_roles(teacher)
        owner = guild.get_member(guild.owner_id or 0)
        assert owner is not None
        with pytest.raises(discord.Forbidden):
            await owner.edit(nick="nope")
        with pytest.raises(discord.HTTPException) as raised:
            await sam.edit(mute=True)
        assert raised.value.code == 40032
    member = sandbox.world.find_member("sam")
    assert member.nick == "Sam (they/them)"
    assert sandbox.world.find_role("Teacher").id in member.roles


async def test_server_mute_and_move_in_voice(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        priya = sandbox.person("priya")
        joined = client.wait_for("voice_state_update", timeout=ANSWER_TIMEOUT)
        await priya.join_voice("Quiet Sitting")
        member, _, after = await joined
        assert member.id == priya.id and after.channel is not None and after.channel.name == "Quiet Sitting"
        muted = client.wait_for("voice_state_update", timeout=ANSWER_TIMEOUT)
        await member.edit(mute=True)
        await muted
        assert priya.voice_state is not None and priya.voice_state.mute
        assert await priya.try_unmute() is False
        stage = client.get_channel(sandbox.world.find_channel("Practice Circle").id)
        assert isinstance(stage, discord.StageChannel)
        await member.move_to(stage)
        await sandbox.wait_until(
            lambda: priya.voice_state and priya.voice_state.channel_id == stage.id, what="Priya to be moved"
        )
        await member.move_to(None)
        await sandbox.wait_until(lambda: priya.voice_state is None, what="Priya to be disconnected")


async def test_stage_instance_and_invitation_to_speak(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        stage = client.get_channel(sandbox.world.find_channel("Practice Circle").id)
        assert isinstance(stage, discord.StageChannel)
        jonas = sandbox.person("jonas")
        state = await jonas.join_voice(stage.id)
        assert state.suppress
        opened = client.wait_for("stage_instance_create", timeout=ANSWER_TIMEOUT)
        instance = await stage.create_instance(topic="Sunday practice circle")
        await opened
        assert stage.instance is not None and stage.instance.topic == "Sunday practice circle"
        hand_raised = client.wait_for(
            "voice_state_update", check=lambda m, b, a: a.requested_to_speak_at is not None, timeout=ANSWER_TIMEOUT
        )
        await jonas.request_to_speak()
        member, _, after = await hand_raised
        await member.edit(suppress=False)
        await sandbox.wait_until(
            lambda: jonas.voice_state and not jonas.voice_state.suppress, what="Jonas invited to speak"
        )
        assert jonas.voice_state is not None and jonas.voice_state.request_to_speak_timestamp is None
        await instance.edit(topic="Sunday circle: Soften, Soothe, Allow")
        closed = client.wait_for("stage_instance_delete", timeout=ANSWER_TIMEOUT)
        await instance.delete()
        await closed
    assert sandbox.world.guild.stage_instances == {}


async def test_scheduled_event_lifecycle_and_interested_people(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        guild = client.get_guild(sandbox.world.guild.id)
        stage = client.get_channel(sandbox.world.find_channel("Practice Circle").id)
        assert guild is not None and isinstance(stage, discord.StageChannel)
        with pytest.raises(discord.HTTPException):
            await guild.create_scheduled_event(
                name="Too late",
                start_time=discord.utils.utcnow() - timedelta(hours=1),
                entity_type=discord.EntityType.stage_instance,
                channel=stage,
                privacy_level=discord.PrivacyLevel.guild_only,
            )
        event = await guild.create_scheduled_event(
            name="Sunday circle",
            start_time=discord.utils.utcnow() + timedelta(days=1),
            entity_type=discord.EntityType.stage_instance,
            channel=stage,
            privacy_level=discord.PrivacyLevel.guild_only,
        )
        interested = client.wait_for("scheduled_event_user_add", timeout=ANSWER_TIMEOUT)
        await sandbox.person("mei").mark_interested("Sunday circle")
        scheduled, user = await interested
        assert scheduled.id == event.id and user.id == sandbox.person("mei").id
        assert [u.id async for u in event.users()] == [sandbox.person("mei").id]
        event = await event.start()
        event = await event.end()
        assert event.status is discord.EventStatus.completed
        with pytest.raises(discord.HTTPException):
            await client.http.edit_scheduled_event(guild.id, event.id, status=4)
        not_interested = client.wait_for("scheduled_event_user_remove", timeout=ANSWER_TIMEOUT)
        await sandbox.person("mei").unmark_interested(event.id)
        await not_interested


async def test_messages_edit_delete_history_and_commands_listing(sandbox: Sandbox, run: Any) -> None:
    context, bot = await start_practice_bot(run, sandbox)
    try:
        channel = bot.get_channel(sandbox.world.find_channel("general").id)
        assert isinstance(channel, discord.TextChannel)
        async with channel.typing():
            sent = [await channel.send(f"note {n}") for n in range(4)]
        edited = await sent[1].edit(content="note 1 (edited)")
        assert edited.edited_at is not None
        await sent[2].delete()
        newest_first = [m.content async for m in channel.history(limit=10)]
        assert newest_first == ["note 3", "note 1 (edited)", "note 0"]
        after = [m.content async for m in channel.history(after=sent[0], oldest_first=True)]
        assert after == ["note 1 (edited)", "note 3"]
        fetched = await channel.fetch_message(sent[3].id)
        assert fetched.content == "note 3" and fetched.author.id == sandbox.world.bot_user.id
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(sent[2].id)
        listed = await bot.tree.fetch_commands(guild=bot.guild_object)
        assert {c.name for c in listed} == {"schedule", "session", "coordinate", "note", "play"}
    finally:
        await context.__aexit__(None, None, None)


async def test_files_in_messages_and_interaction_replies(sandbox: Sandbox, run: Any) -> None:
    guild = discord.Object(sandbox.world.guild.id)
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)
    calendar = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"

    @tree.command(name="calendar", description="Get the calendar", guild=guild)
    async def send_calendar(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "Your sessions", file=discord.File(io.BytesIO(calendar), "circles.ics"), ephemeral=True
        )

    async with run(client):
        await tree.sync(guild=guild)
        channel = client.get_channel(sandbox.world.find_channel("schedule").id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("This week", file=discord.File(io.BytesIO(b"\x89PNG chart"), "week.png"))
        assert [a.filename for a in sent.attachments] == ["week.png"]
        assert await sent.attachments[0].read() == b"\x89PNG chart"
        reply = await (await sandbox.person("sam").run_command("calendar")).response()
    assert reply.ephemeral and reply.message is not None
    assert [(a.filename, a.data) for a in reply.message.attachments] == [("circles.ics", calendar)]


async def test_buttons_in_a_dm_come_back_as_a_dm_interaction(sandbox: Sandbox, run: Any) -> None:
    pressed: asyncio.Future[discord.Interaction] = asyncio.get_running_loop().create_future()

    class CantMakeIt(discord.ui.View):
        def __init__(self) -> None:
            super().__init__(timeout=None)

        @discord.ui.button(label="Can't make it", custom_id="reminder:skip")
        async def skip(self, interaction: discord.Interaction, button: discord.ui.Button[CantMakeIt]) -> None:
            pressed.set_result(interaction)
            await interaction.response.edit_message(content="Noted, take care", view=None)

    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        client.add_view(CantMakeIt())
        guild = client.get_guild(sandbox.world.guild.id)
        assert guild is not None
        member = guild.get_member(sandbox.world.find_member("sam").id)
        assert member is not None
        await member.send("Your circle starts in an hour", view=CantMakeIt())
        sam = sandbox.person("sam")
        reply = await (await sam.press_button(sam.dms()[-1], "reminder:skip")).response()
        interaction = await asyncio.wait_for(pressed, ANSWER_TIMEOUT)
    assert interaction.guild_id is None and isinstance(interaction.channel, discord.DMChannel)
    assert interaction.user.id == sam.id
    assert reply.kind == "update" and reply.content == "Noted, take care"
    assert [m.content for m in sam.dms()] == ["Noted, take care"]
