"""What the gateway tells the bot when the world changes: one method per kind of change.

REST routes and simulated people change the `World`, then call these to render the payload and
dispatch it with the right intent (and message-content gating).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from loopback import payloads
from loopback.gateway import Gateway, Intent
from loopback.world import (
    Channel,
    ChannelType,
    Guild,
    Member,
    Message,
    ScheduledEvent,
    StageInstance,
    VoiceState,
    World,
)


class Events:
    """Renders world changes into gateway dispatches."""

    def __init__(self, world: World, gateway: Gateway, base_url: Callable[[], str]) -> None:
        self.world = world
        self.gateway = gateway
        self._base_url = base_url

    @property
    def base_url(self) -> str:
        """The sandbox's http://host:port (attachment URLs point here)."""
        return self._base_url()

    def _guild_id(self) -> str:
        return str(self.world.guild.id)

    # ---- messages ---------------------------------------------------------------------------

    def _message_exempt(self, message: Message) -> bool:
        """Discord sends content without MESSAGE_CONTENT for the bot's own messages, DMs and mentions."""
        bot_id = self.world.bot_user.id
        if message.author_id == bot_id:
            return True
        if self.world.channel(message.channel_id).type == ChannelType.DM:
            return True
        mentioned, _, _ = payloads.mentions(self.world, message)
        return bot_id in mentioned

    def message_created(self, message: Message) -> None:
        """MESSAGE_CREATE (not for ephemeral replies, which only the interacting person sees)."""
        if message.ephemeral:
            return
        self._message_event("MESSAGE_CREATE", message)

    def message_updated(self, message: Message) -> None:
        """MESSAGE_UPDATE with the full message."""
        if message.ephemeral:
            return
        self._message_event("MESSAGE_UPDATE", message)

    def _message_event(self, event: str, message: Message) -> None:
        channel = self.world.channel(message.channel_id)
        data = payloads.message(self.world, message, self.base_url, gateway=True)
        self.gateway.dispatch(
            event, data, in_guild=channel.guild_id is not None, content_exempt=self._message_exempt(message)
        )

    def message_deleted(self, message: Message) -> None:
        """MESSAGE_DELETE."""
        if message.ephemeral:
            return
        channel = self.world.channel(message.channel_id)
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self.gateway.dispatch("MESSAGE_DELETE", data, in_guild=channel.guild_id is not None)

    # ---- members, channels, threads -------------------------------------------------------------

    def member_added(self, member: Member) -> None:
        """GUILD_MEMBER_ADD."""
        data = payloads.member(self.world, member) | {"guild_id": self._guild_id()}
        self.gateway.dispatch("GUILD_MEMBER_ADD", data)

    def member_updated(self, member: Member) -> None:
        """GUILD_MEMBER_UPDATE (in the member's own guild)."""
        guild_id = str(self.world.guild_by_id(member.guild_id).id)
        data = payloads.member(self.world, member) | {"guild_id": guild_id}
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data)

    def guild_joined(self, guild: Guild) -> None:
        """GUILD_CREATE for a guild the bot was just added to (`World.add_guild`)."""
        data = payloads.guild_create(self.world, member_ids=[self.world.bot_user.id], g=guild)
        del data["unavailable"]  # a join, not a guild coming back from an outage
        self.gateway.dispatch("GUILD_CREATE", data)

    def guild_left(self, guild: Guild) -> None:
        """GUILD_DELETE without `unavailable`: the bot is no longer in the guild."""
        self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    def member_removed(self, member: Member) -> None:
        """GUILD_MEMBER_REMOVE."""
        data = {"guild_id": self._guild_id(), "user": payloads.user(member.user)}
        self.gateway.dispatch("GUILD_MEMBER_REMOVE", data)

    def channel_updated(self, channel: Channel) -> None:
        """CHANNEL_UPDATE, or THREAD_UPDATE for a thread."""
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        self.gateway.dispatch(event, payloads.channel(self.world, channel))

    def thread_created(self, thread: Channel) -> None:
        """THREAD_CREATE for a new thread (private threads reach only sessions whose user is in them)."""
        data = payloads.channel(self.world, thread) | {"newly_created": True}
        own = thread.thread_members.get(self.world.bot_user.id)
        if own is not None:
            data["member"] = payloads.thread_member(own, thread.id)
        if thread.type == ChannelType.PRIVATE_THREAD and own is None:
            return
        self.gateway.dispatch("THREAD_CREATE", data)

    def thread_members_changed(
        self, thread: Channel, *, added: Sequence[int] = (), removed: Sequence[int] = ()
    ) -> None:
        """THREAD_MEMBERS_UPDATE; without GUILD_MEMBERS only when the bot itself was added or removed."""
        bot_id = self.world.bot_user.id
        data: dict[str, Any] = {
            "id": str(thread.id),
            "guild_id": self._guild_id(),
            "member_count": min(len(thread.thread_members), 50),
        }
        if added:
            data["added_members"] = [
                payloads.thread_member(thread.thread_members[u], thread.id)
                | (
                    {"member": payloads.member(self.world, self.world.guild.members[u])}
                    if u in self.world.guild.members
                    else {}
                )
                for u in added
                if u in thread.thread_members
            ]
        if removed:
            data["removed_member_ids"] = [str(u) for u in removed]
        involves_bot = bot_id in added or bot_id in removed
        self.gateway.dispatch("THREAD_MEMBERS_UPDATE", data, only=lambda s: involves_bot or s.has(Intent.GUILD_MEMBERS))

    # ---- voice ------------------------------------------------------------------------------

    def voice_state_changed(self, state: VoiceState, *, left: bool = False) -> None:
        """VOICE_STATE_UPDATE (channel_id null when someone left)."""
        data = payloads.left_voice(self.world, state) if left else payloads.voice_state(self.world, state)
        self.gateway.dispatch("VOICE_STATE_UPDATE", data)

    def voice_server_update(self, token: str, endpoint: str | None, *, session_id: str) -> None:
        """VOICE_SERVER_UPDATE to the one session that asked to join voice."""
        data = {"token": token, "guild_id": self._guild_id(), "endpoint": endpoint}
        self.gateway.dispatch("VOICE_SERVER_UPDATE", data, only=lambda s: s.id == session_id)

    # ---- stages and events ------------------------------------------------------------------

    def stage_instance(self, event: str, instance: StageInstance) -> None:
        """STAGE_INSTANCE_CREATE / _UPDATE / _DELETE."""
        self.gateway.dispatch(f"STAGE_INSTANCE_{event}", payloads.stage_instance(self.world, instance))

    def scheduled_event(self, event: str, scheduled: ScheduledEvent) -> None:
        """GUILD_SCHEDULED_EVENT_CREATE / _UPDATE / _DELETE."""
        self.gateway.dispatch(f"GUILD_SCHEDULED_EVENT_{event}", payloads.scheduled_event(self.world, scheduled))

    def scheduled_event_user(self, event: str, scheduled: ScheduledEvent, user_id: int) -> None:
        """GUILD_SCHEDULED_EVENT_USER_ADD / _REMOVE."""
        data = {
            "guild_scheduled_event_id": str(scheduled.id),
            "user_id": str(user_id),
            "guild_id": self._guild_id(),
        }
        self.gateway.dispatch(f"GUILD_SCHEDULED_EVENT_USER_{event}", data)

    # ---- interactions -------------------------------------------------------------------------

    def interaction_created(self, payload: dict[str, Any]) -> int:
        """INTERACTION_CREATE; returns how many sessions got it."""
        return self.gateway.dispatch("INTERACTION_CREATE", payload)
