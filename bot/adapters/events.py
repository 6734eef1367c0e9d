"""The guild's scheduled events over discord.py: the `EventBoard` the events mirror plans against.

Every call is one REST request, made one after another by the mirror; discord.py waits out 429s.
Discord's answers become the mirror's two exceptions: 404 Unknown Guild Scheduled Event is
`EventGone`, error 30038 (100 uncompleted events) is `EventLimitReached`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final, Literal

import discord

from bot.ports import EventGone, EventKind, EventLimitReached, EventSpec, EventState, Field, LiveEvent
from bot.texts import events as texts

log = logging.getLogger(__name__)

# Discord's JSON error code for "Maximum number of uncompleted guild scheduled events reached (100)".
TOO_MANY_EVENTS: Final = 30038

_KINDS: Final[dict[discord.EntityType, EventKind]] = {
    discord.EntityType.stage_instance: "stage",
    discord.EntityType.voice: "voice",
    discord.EntityType.external: "external",
}
_ENTITY_TYPES: Final[dict[EventKind, discord.EntityType]] = {kind: entity for entity, kind in _KINDS.items()}
# The entity types of events held in a channel (the only kinds the mirror creates).
ChannelEntity = Literal[discord.EntityType.stage_instance, discord.EntityType.voice]
_STATES: Final[dict[discord.EventStatus, EventState]] = {
    discord.EventStatus.scheduled: "scheduled",
    discord.EventStatus.active: "active",
    discord.EventStatus.completed: "completed",
    discord.EventStatus.cancelled: "cancelled",
}


def live_event(event: discord.ScheduledEvent, bot_user_id: int) -> LiveEvent:
    """The mirror's view of a discord.py scheduled event."""
    return LiveEvent(
        id=event.id,
        name=event.name,
        description=event.description,
        start=event.start_time,
        end=event.end_time,
        channel_id=event.channel_id,
        kind=_KINDS.get(event.entity_type, "external"),
        state=_STATES.get(event.status, "completed"),
        ours=event.creator_id == bot_user_id,
    )


class DiscordEventBoard:
    """Create, edit, cancel, end and delete the guild's scheduled events through discord.py."""

    def __init__(self, client: discord.Client, guild_id: int) -> None:
        self.client = client
        self.guild_id = guild_id
        # The events as the last listing returned them: edits start from these objects.
        self._seen: dict[int, discord.ScheduledEvent] = {}

    @property
    def guild(self) -> discord.Guild:
        """The community's guild (the cache holds it once the bot is ready)."""
        guild = self.client.get_guild(self.guild_id)
        if guild is None:
            raise RuntimeError(f"guild {self.guild_id} is not available yet")
        return guild

    def channel_kinds(self, channel_ids: Iterable[int]) -> dict[int, EventKind]:
        """Which of these channels are Stage or voice channels, as the guild has them now."""
        kinds: dict[int, EventKind] = {}
        for channel_id in channel_ids:
            channel = self.guild.get_channel(channel_id)
            if isinstance(channel, discord.StageChannel):
                kinds[channel_id] = "stage"
            elif isinstance(channel, discord.VoiceChannel):
                kinds[channel_id] = "voice"
            else:
                log.warning("session channel %d is not a Stage or voice channel; its sessions get no event", channel_id)
        return kinds

    async def live_events(self) -> list[LiveEvent]:
        """Every event the guild has, fresh from Discord (the cache may lag behind our own requests)."""
        bot_user = self.client.user
        if bot_user is None:
            raise RuntimeError("the bot is not logged in")
        events = await self.guild.fetch_scheduled_events(with_counts=False)
        self._seen = {event.id: event for event in events}
        return [live_event(event, bot_user.id) for event in events]

    async def create(self, spec: EventSpec) -> int:
        """Create the session's guild_only event in its channel."""
        entity_type: ChannelEntity = (
            discord.EntityType.stage_instance if spec.kind == "stage" else discord.EntityType.voice
        )
        try:
            event = await self.guild.create_scheduled_event(
                name=spec.name,
                description=spec.description,
                start_time=spec.start,
                end_time=spec.end,
                entity_type=entity_type,
                channel=discord.Object(id=spec.channel_id),
                privacy_level=discord.PrivacyLevel.guild_only,
                reason=texts.EVENT_AUDIT_REASON.format(id=spec.occurrence_id),
            )
        except discord.HTTPException as error:
            if error.code == TOO_MANY_EVENTS:
                raise EventLimitReached(str(error)) from error
            raise
        self._seen[event.id] = event
        return event.id

    async def update(self, event_id: int, spec: EventSpec, fields: frozenset[Field]) -> None:
        """Send the fields of `spec` that differ."""
        changes: dict[str, Any] = {}
        if "name" in fields:
            changes["name"] = spec.name
        if "description" in fields:
            changes["description"] = spec.description
        if "start" in fields:
            changes["start_time"] = spec.start
        if "end" in fields:
            changes["end_time"] = spec.end
        if "place" in fields:
            changes["entity_type"] = _ENTITY_TYPES[spec.kind]
            changes["channel"] = discord.Object(id=spec.channel_id)
        event = await self._event(event_id)
        reason = texts.EVENT_AUDIT_REASON.format(id=spec.occurrence_id)
        try:
            self._seen[event_id] = await event.edit(**changes, reason=reason)
        except discord.NotFound as error:
            raise EventGone(str(error)) from error

    async def cancel(self, event_id: int) -> None:
        """Scheduled -> canceled; interested members hear of it from Discord."""
        event = await self._event(event_id)
        if event.status is not discord.EventStatus.scheduled:
            raise EventGone(f"event {event_id} is {event.status.name}, not scheduled")
        try:
            await event.cancel()
        except discord.NotFound as error:
            raise EventGone(str(error)) from error

    async def complete(self, event_id: int) -> None:
        """Active -> completed (the only way out of active Discord allows)."""
        event = await self._event(event_id)
        if event.status is not discord.EventStatus.active:
            raise EventGone(f"event {event_id} is {event.status.name}, not active")
        try:
            await event.end()
        except discord.NotFound as error:
            raise EventGone(str(error)) from error

    async def delete(self, event_id: int) -> None:
        """Delete an event that never started."""
        event = await self._event(event_id)
        try:
            await event.delete()
        except discord.NotFound as error:
            raise EventGone(str(error)) from error
        self._seen.pop(event_id, None)

    async def _event(self, event_id: int) -> discord.ScheduledEvent:
        event = self._seen.get(event_id)
        if event is not None:
            return event
        try:
            event = await self.guild.fetch_scheduled_event(event_id, with_counts=False)
        except discord.NotFound as error:
            raise EventGone(str(error)) from error
        self._seen[event_id] = event
        return event
