"""The session room on Discord: who joins and leaves, raised hands, the choice buttons, the teacher's play."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts
from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.interactions import actor_of, member_actor
from bot.adapters.limits import CHOICE_NAME_CHARS, CHOICES
from bot.adapters.room_views import ROOM_ITEMS
from bot.validation import display_safe, plain_cut
from cogs.base import PracticeCog

log = logging.getLogger(__name__)


class SessionRoom(PracticeCog):
    """Feeds voice events to the session runner and lets a leading teacher ask for audio."""

    room = app_commands.Group(name="room", description="The session room: audio on a teacher's request")

    persistent_items = ROOM_ITEMS

    def __init__(self, bot: PracticeCirclesBot) -> None:
        super().__init__(bot)
        self._gateway_sessions = 0

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """After a new gateway session (not a RESUME), tell the runner again who is in each running session."""
        # Discord replays missed events only on a RESUME; after an invalid session the bot gets the guild
        # afresh, so someone who joined meanwhile would never be kept quiet. The first READY is left to
        # the core's start-up, which resumes runs from the database.
        self._gateway_sessions += 1
        if self._gateway_sessions == 1:
            return
        runner = self.bot.core.runner
        bot_id = self.bot.user.id if self.bot.user else 0
        for occurrence in await runner.running_sessions():
            channel = self.bot.get_channel(occurrence.channel_id)
            if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
                continue
            for member in channel.members:
                if member.id != bot_id:
                    await runner.member_joined(occurrence.id, member_actor(member))

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Tell the runner about joins, leaves, raised hands and unmutes in session channels."""
        if self.bot.user is not None and member.id == self.bot.user.id:
            return
        runner = self.bot.core.runner
        moved = (before.channel.id if before.channel else None) != (after.channel.id if after.channel else None)
        # The leave first: moving straight out of a session leaves a pending unmute that is lifted below.
        if before.channel is not None and moved:
            left = await runner.running_in(before.channel.id)
            if left is not None:
                await runner.member_left(left.id, member.id)
        if after.channel is None:
            return
        session = await runner.running_in(after.channel.id)
        if moved:
            if session is not None:
                # A session the bot leads keeps (and records) a mute it set earlier instead of lifting it.
                await runner.member_joined(session.id, member_actor(member))
            await self._lift_pending_unmute(member)
            return
        if session is None:
            return
        raised_hand = after.requested_to_speak_at is not None and before.requested_to_speak_at is None
        unmuted = before.mute and not after.mute
        became_speaker = before.suppress and not after.suppress
        if raised_hand or unmuted or became_speaker:
            await runner.asked_to_speak(session.id, member_actor(member))

    async def _lift_pending_unmute(self, member: discord.Member) -> None:
        """Lift a server mute the bot set in a session this member left: Discord allows it only while connected."""
        if not await self.bot.core.runner.take_pending_unmute(member.id):
            return
        try:
            await member.edit(mute=False, reason="Practice Circles: lifting a session's mute")
        except discord.HTTPException as error:
            log.warning("could not lift the mute of %s: %s", member.id, error)

    @room.command(name="play", description="Play an approved recording in the session you are leading")
    @app_commands.describe(recording="One of the approved recordings")
    async def play(self, interaction: discord.Interaction, recording: str) -> None:
        """A leading teacher asks the bot to play an approved recording (or the bell)."""
        channel_id = self._voice_channel_of(interaction)
        session = await self.bot.core.runner.running_in(channel_id) if channel_id else None
        if session is None:
            await interaction.response.send_message(texts.ROOM_NOT_IN_SESSION, ephemeral=True)
            return
        chosen = await self.bot.core.runner.teacher_play(session.id, actor_of(interaction), recording)
        await interaction.response.send_message(
            texts.ROOM_PLAYING.format(title=display_safe(chosen.title)), ephemeral=True
        )

    @play.autocomplete("recording")
    async def play_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Approved recordings whose title contains what was typed."""
        typed = current.casefold()
        return [
            app_commands.Choice(name=plain_cut(recording.title, CHOICE_NAME_CHARS), value=recording.id)
            for recording in self.bot.core.recordings
            if typed in recording.title.casefold()
        ][:CHOICES]

    def _voice_channel_of(self, interaction: discord.Interaction) -> int | None:
        member = interaction.user
        if isinstance(member, discord.Member) and member.voice is not None and member.voice.channel is not None:
            return member.voice.channel.id
        return None


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(SessionRoom(bot))
