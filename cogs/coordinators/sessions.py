"""`/session add|cancel|move|channel|assign|unassign`: one session at a time; members signed up are told."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.adapters.formatting import practice_choices
from bot.adapters.interactions import member_actor
from bot.model import OccurrenceRow
from bot.schedule.rules import format_pacific, parse_pacific_wall, when
from bot.texts import coordinators as texts
from bot.validation import display_safe
from cogs.base import PracticeCog, Reason
from cogs.coordinators.common import (
    Duration,
    SessionChannel,
    coordinators_group,
    deferred_coordinator,
    dst_lines,
    practice_part,
    with_session,
)


def session_words(template: str, occurrence: OccurrenceRow, **extra: object) -> str:
    """A reply about one session: its title, number and time (own zone and US Pacific), and `extra`."""
    return template.format(
        title=display_safe(occurrence.title),
        id=occurrence.id,
        when=when(occurrence.start_utc),
        pacific=format_pacific(occurrence.start_utc),
        **extra,
    )


class SingleSessions(PracticeCog):
    """The coordinators' changes to one session."""

    session_group = coordinators_group("session", texts.SESSION_GROUP)

    @session_group.command(name="add", description="Add a one-off session (time in US Pacific)")
    @app_commands.describe(
        start="Date and US Pacific time, YYYY-MM-DD HH:MM, e.g. 2026-03-08 18:30",
        duration="Length in minutes",
        title="The name members see",
        channel="The voice or Stage channel (leave out for the usual one)",
        practice="A practice from the course (start typing)",
        overlap="True to confirm it may overlap another session (the bot speaks in one room at a time)",
    )
    @app_commands.autocomplete(practice=practice_choices)
    async def session_add(
        self,
        interaction: discord.Interaction,
        start: str,
        duration: Duration,
        title: str,
        channel: SessionChannel | None = None,
        practice: str | None = None,
        overlap: bool = False,
    ) -> None:
        """Add a one-off session and show when it is, with a daylight-saving note if one applies."""
        actor = await deferred_coordinator(interaction)
        occurrence = await self.bot.core.sessions.add_session(
            actor,
            start=start,
            duration_minutes=duration,
            title=title,
            channel_id=None if channel is None else channel.id,
            practice=practice,
            overlap_confirmed=overlap,
        )
        lines = [
            session_words(
                texts.SESSION_ADDED,
                occurrence,
                channel=occurrence.channel_id,
                minutes=occurrence.duration_minutes,
                practice=practice_part(occurrence.practice),
            ),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="cancel", description="Cancel one session; members who signed up are told")
    @with_session(reason="A few words for members")
    async def session_cancel(self, interaction: discord.Interaction, session: int, reason: Reason) -> None:
        """Cancel a session with a reason."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        occurrence = await sessions.cancel_session(actor, session, reason)
        signups = await sessions.signup_count(occurrence.id)
        await interaction.followup.send(
            session_words(texts.SESSION_CANCELLED, occurrence, signups=signups), ephemeral=True
        )

    @session_group.command(name="move", description="Move one session to another time (US Pacific)")
    @with_session(
        start="New date and US Pacific time, YYYY-MM-DD HH:MM",
        overlap="True to confirm it may overlap another session (the bot speaks in one room at a time)",
    )
    async def session_move(
        self, interaction: discord.Interaction, session: int, start: str, overlap: bool = False
    ) -> None:
        """Move a session; members signed up see the old and new time."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        before = await sessions.session(session)
        occurrence = await sessions.move_session(actor, session, start, overlap_confirmed=overlap)
        signups = await sessions.signup_count(occurrence.id)
        lines = [
            session_words(texts.SESSION_MOVED, occurrence, old_when=when(before.start_utc), signups=signups),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="channel", description="Hold one session in another session channel")
    @with_session(channel="The voice or Stage channel (one of the session channels)")
    async def session_channel(self, interaction: discord.Interaction, session: int, channel: SessionChannel) -> None:
        """Change a session's channel; members signed up are told."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        before = await sessions.session(session)
        occurrence = await sessions.set_session_channel(actor, session, channel.id)
        signups = await sessions.signup_count(occurrence.id)
        words = session_words(
            texts.SESSION_CHANNEL,
            occurrence,
            channel=occurrence.channel_id,
            old_channel=before.channel_id,
            signups=signups,
        )
        await interaction.followup.send(words, ephemeral=True)

    @session_group.command(name="assign", description="Give a session to a teacher")
    @with_session(teacher="The teacher")
    async def session_assign(self, interaction: discord.Interaction, session: int, teacher: discord.Member) -> None:
        """Assign a teacher (replacing any other); members hear of a change of teacher."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        previous = await sessions.teacher_of(session)
        occurrence = await sessions.assign_teacher(actor, session, member_actor(teacher))
        template = texts.ASSIGN_ALREADY if previous == teacher.id else texts.SESSION_ASSIGNED
        await interaction.followup.send(session_words(template, occurrence, teacher=teacher.id), ephemeral=True)

    @session_group.command(name="unassign", description="Take a session's teacher off it; teachers can claim it")
    @with_session(reason="A few words for the log")
    async def session_unassign(self, interaction: discord.Interaction, session: int, reason: Reason) -> None:
        """Release a session's teacher as a coordinator."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        previous = await sessions.teacher_of(session)
        occurrence = await sessions.release(actor, session, reason)
        teacher = previous if previous is not None else 0
        await interaction.followup.send(
            session_words(texts.SESSION_UNASSIGNED, occurrence, teacher=teacher), ephemeral=True
        )
