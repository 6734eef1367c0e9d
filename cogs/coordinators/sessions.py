"""`/session add|cancel|move|channel|assign|unassign`: one session at a time; members signed up are told."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.adapters.formatting import practice_choices
from bot.adapters.interactions import member_actor
from bot.schedule.rules import format_pacific, parse_pacific_wall, when
from bot.services.sessions import MAX_DURATION, MAX_REASON, MIN_DURATION
from bot.texts import coordinators as texts
from bot.validation import display_safe
from cogs.base import PracticeCog
from cogs.coordinators.common import (
    MANAGE_SERVER,
    SessionChannel,
    changeable_session_choices,
    coordinator,
    dst_lines,
    practice_part,
)


class SingleSessions(PracticeCog):
    """The coordinators' changes to one session."""

    session_group = app_commands.Group(
        name="session", description=texts.SESSION_GROUP, guild_only=True, default_permissions=MANAGE_SERVER
    )

    @session_group.command(name="add", description="Add a one-off session (time in US Pacific)")
    @app_commands.describe(
        start="Date and US Pacific time, YYYY-MM-DD HH:MM, e.g. 2026-03-08 18:30",
        duration="Length in minutes",
        title="The name members see",
        channel="The voice or Stage channel (leave out for the usual one)",
        practice="A practice from the course (start typing)",
    )
    @app_commands.autocomplete(practice=practice_choices)
    async def session_add(
        self,
        interaction: discord.Interaction,
        start: str,
        duration: app_commands.Range[int, MIN_DURATION, MAX_DURATION],
        title: str,
        channel: SessionChannel | None = None,
        practice: str | None = None,
    ) -> None:
        """Add a one-off session and show when it is, with a daylight-saving note if one applies."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        occurrence = await self.bot.core.sessions.add_session(
            actor,
            start=start,
            duration_minutes=duration,
            title=title,
            channel_id=None if channel is None else channel.id,
            practice=practice,
        )
        lines = [
            texts.SESSION_ADDED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                channel=occurrence.channel_id,
                minutes=occurrence.duration_minutes,
                practice=practice_part(occurrence.practice),
            ),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="cancel", description="Cancel one session; members who signed up are told")
    @app_commands.describe(session="The session (start typing its name or date)", reason="A few words for members")
    @app_commands.autocomplete(session=changeable_session_choices)
    async def session_cancel(
        self, interaction: discord.Interaction, session: int, reason: app_commands.Range[str, 1, MAX_REASON]
    ) -> None:
        """Cancel a session with a reason."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.bot.core.sessions
        occurrence = await sessions.cancel_session(actor, session, reason)
        await interaction.followup.send(
            texts.SESSION_CANCELLED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                signups=await sessions.signup_count(occurrence.id),
            ),
            ephemeral=True,
        )

    @session_group.command(name="move", description="Move one session to another time (US Pacific)")
    @app_commands.describe(
        session="The session (start typing its name or date)",
        start="New date and US Pacific time, YYYY-MM-DD HH:MM",
    )
    @app_commands.autocomplete(session=changeable_session_choices)
    async def session_move(self, interaction: discord.Interaction, session: int, start: str) -> None:
        """Move a session; members signed up see the old and new time."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.bot.core.sessions
        before = await sessions.session(session)
        occurrence = await sessions.move_session(actor, session, start)
        lines = [
            texts.SESSION_MOVED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                old_when=when(before.start_utc),
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                signups=await sessions.signup_count(occurrence.id),
            ),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="channel", description="Hold one session in another session channel")
    @app_commands.describe(
        session="The session (start typing its name or date)",
        channel="The voice or Stage channel (one of the session channels)",
    )
    @app_commands.autocomplete(session=changeable_session_choices)
    async def session_channel(self, interaction: discord.Interaction, session: int, channel: SessionChannel) -> None:
        """Change a session's channel; members signed up are told."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.bot.core.sessions
        before = await sessions.session(session)
        occurrence = await sessions.set_session_channel(actor, session, channel.id)
        await interaction.followup.send(
            texts.SESSION_CHANNEL.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                channel=occurrence.channel_id,
                old_channel=before.channel_id,
                signups=await sessions.signup_count(occurrence.id),
            ),
            ephemeral=True,
        )

    @session_group.command(name="assign", description="Give a session to a teacher")
    @app_commands.describe(session="The session (start typing its name or date)", teacher="The teacher")
    @app_commands.autocomplete(session=changeable_session_choices)
    async def session_assign(self, interaction: discord.Interaction, session: int, teacher: discord.Member) -> None:
        """Assign a teacher (replacing any other); members hear of a change of teacher."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.bot.core.sessions
        previous = await sessions.teacher_of(session)
        occurrence = await sessions.assign_teacher(actor, session, member_actor(teacher))
        template = texts.ASSIGN_ALREADY if previous == teacher.id else texts.SESSION_ASSIGNED
        await interaction.followup.send(
            template.format(
                teacher=teacher.id,
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
            ),
            ephemeral=True,
        )

    @session_group.command(name="unassign", description="Take a session's teacher off it; teachers can claim it")
    @app_commands.describe(session="The session (start typing its name or date)", reason="A few words for the log")
    @app_commands.autocomplete(session=changeable_session_choices)
    async def session_unassign(
        self, interaction: discord.Interaction, session: int, reason: app_commands.Range[str, 1, MAX_REASON]
    ) -> None:
        """Release a session's teacher as a coordinator."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.bot.core.sessions
        previous = await sessions.teacher_of(session)
        occurrence = await sessions.release(actor, session, reason)
        await interaction.followup.send(
            texts.SESSION_UNASSIGNED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                teacher=previous if previous is not None else 0,
            ),
            ephemeral=True,
        )
