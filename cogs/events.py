"""Scheduled events: every upcoming session mirrored as a guild event; "Interested" signs members up.

The planning lives in bot.services.events_mirror and the Discord calls in bot.adapters.events; this
cog only wires them to the bot: session changes, start-up, reconnects and the gateway's event
dispatches. discord.py 2.7.1 has no raw variants of the interest events; they reach us because the
guild_scheduled_events intent keeps every event in the cache and the members intent every member.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.events import DiscordEventBoard

log = logging.getLogger(__name__)

_FINISHED = (discord.EventStatus.completed, discord.EventStatus.cancelled)


class Events(commands.Cog):
    """Keeps the guild's scheduled events in line with the sessions and turns interest into sign-ups."""

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot
        self.guild_id = bot.core.config.guild.id
        self.mirror = bot.core.events_mirror(DiscordEventBoard(bot, self.guild_id))

    async def cog_load(self) -> None:
        """Hear about every change to a session (passes wait for the core to be ready)."""
        self.bot.core.sessions.listeners.append(self.mirror.on_session_changed)

    async def cog_unload(self) -> None:
        """Stop listening and cancel a pass under way; the next start heals what it left."""
        listeners = self.bot.core.sessions.listeners
        if self.mirror.on_session_changed in listeners:
            listeners.remove(self.mirror.on_session_changed)
        self.mirror.stop()

    @commands.Cog.listener()
    async def on_core_ready(self) -> None:
        """Start-up reconciliation, once the core has rebuilt its timers: create, update, cancel."""
        self.mirror.start()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """A new gateway session (after an outage, not a resume) may have missed changes: heal."""
        self.mirror.request_pass()

    @commands.Cog.listener()
    async def on_scheduled_event_user_add(self, event: discord.ScheduledEvent, user: discord.User) -> None:
        """Interested in one of our events: signed up for its session."""
        if event.guild_id == self.guild_id and not user.bot:
            await self.mirror.interest_added(event.id, user.id)

    @commands.Cog.listener()
    async def on_scheduled_event_user_remove(self, event: discord.ScheduledEvent, user: discord.User) -> None:
        """Interest taken back: signed out, if the interest was what signed them up."""
        if event.guild_id == self.guild_id and not user.bot:
            await self.mirror.interest_removed(event.id, user.id)

    @commands.Cog.listener()
    async def on_scheduled_event_create(self, event: discord.ScheduledEvent) -> None:
        """Someone else's event takes room under Discord's limit: recount."""
        if event.guild_id == self.guild_id and not self._made_by_us(event):
            self.mirror.request_pass()

    @commands.Cog.listener()
    async def on_scheduled_event_update(self, before: discord.ScheduledEvent, after: discord.ScheduledEvent) -> None:
        """A finished event frees room; one of ours finished by hand gets a new one while its session is on."""
        finished = after.status in _FINISHED and before.status not in _FINISHED
        if after.guild_id == self.guild_id and finished and await self._still_counts(after):
            self.mirror.request_pass()

    @commands.Cog.listener()
    async def on_scheduled_event_delete(self, event: discord.ScheduledEvent) -> None:
        """A deleted event frees room; one of ours deleted by hand comes back while its session is on."""
        if event.guild_id == self.guild_id and await self._still_counts(event):
            self.mirror.request_pass()

    async def _still_counts(self, event: discord.ScheduledEvent) -> bool:
        """Whether the mirror should look again: anyone else's event, or one of ours still linked.

        The mirror forgets a link before it cancels, ends or deletes the event, so its own
        changes cause no further pass.
        """
        if not self._made_by_us(event):
            return True
        return await self.bot.core.sessions.session_of_event(event.id) is not None

    def _made_by_us(self, event: discord.ScheduledEvent) -> bool:
        return self.bot.user is not None and event.creator_id == self.bot.user.id


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Events(bot))
