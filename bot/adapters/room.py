"""The session's channel on Discord: the runner's `Room`, over discord.py.

Stage channels are the preferred venue: the bot opens a Stage instance, becomes the only speaker
while it leads, keeps everyone else in the audience and lowers raised hands. In a plain voice
channel the bot server-mutes participants while it leads. Either way, every change is returned to
the runner, which stores it before anything else happens, so it can all be undone at close, also
after a restart. The chat lock is a permission overwrite; the original overwrite is kept and put
back exactly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot import texts
from bot.adapters.interactions import member_actor
from bot.adapters.limits import EMBED_TITLE_CHARS, MESSAGE_CHARS, STAGE_TOPIC_CHARS
from bot.adapters.player import Player
from bot.adapters.room_views import card_view, choice_view
from bot.config import Config
from bot.model import Actor, OccurrenceRow, Recording, Venue
from bot.ports import PlaybackResult
from bot.schedule.rules import format_pacific, when
from bot.services.permissions import is_teacher
from bot.storage import Database
from bot.texts import privacy as privacy_texts
from bot.validation import display_safe

if TYPE_CHECKING:
    from bot.adapters.bot import PracticeCirclesBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
_QUIET_REASON = "Practice Circles: the chat rests while the bot leads"


class DiscordRoom:
    """The runner's Room over a discord.py client."""

    def __init__(self, client: PracticeCirclesBot, db: Database, config: Config) -> None:
        self.client = client
        self.db = db
        self.config = config
        self.player = Player()
        # One voice connection at a time per guild (Discord's rule); connecting is serialised.
        self._voice_lock = asyncio.Lock()

    # --- looking things up ------------------------------------------------------------------------

    def _channel(self, occurrence: OccurrenceRow) -> discord.VoiceChannel | discord.StageChannel:
        channel = self.client.get_channel(occurrence.channel_id)
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            raise RuntimeError(f"session channel {occurrence.channel_id} is not a voice or Stage channel")
        return channel

    async def venue(self, occurrence: OccurrenceRow) -> Venue:
        """'stage' for a Stage channel, else 'voice'."""
        return "stage" if isinstance(self._channel(occurrence), discord.StageChannel) else "voice"

    async def present(self, occurrence: OccurrenceRow) -> list[Actor]:
        """Everyone in the channel but the bot."""
        bot_id = self.client.user.id if self.client.user else 0
        return [member_actor(member) for member in self._channel(occurrence).members if member.id != bot_id]

    # --- opening, posting, offering ------------------------------------------------------------

    async def open(self, occurrence: OccurrenceRow, venue: Venue) -> None:
        """Open the Stage and post the session card with its self-care button."""
        channel = self._channel(occurrence)
        if isinstance(channel, discord.StageChannel) and channel.instance is None:
            try:
                await channel.create_instance(topic=display_safe(occurrence.title)[:STAGE_TOPIC_CHARS])
            except discord.HTTPException as error:
                log.warning("could not open the Stage for session %d: %s", occurrence.id, error)
        embed = discord.Embed(
            title=texts.SESSION_CARD_TITLE.format(title=display_safe(occurrence.title))[:EMBED_TITLE_CHARS],
            description=texts.SESSION_CARD.format(
                when=when(occurrence.start_utc), pacific=format_pacific(occurrence.start_utc)
            )
            + "\n\n"
            + privacy_texts.CARD_ATTENDANCE,
        )
        message = await channel.send(embed=embed, view=card_view(occurrence.id), allowed_mentions=NO_MENTIONS)
        await self.db.set_link(occurrence.id, "card", message.id)

    async def post(self, occurrence: OccurrenceRow, text: str) -> None:
        """Post in the session's chat; pings nobody."""
        await self._channel(occurrence).send(text[:MESSAGE_CHARS], allowed_mentions=NO_MENTIONS)

    async def offer_choice(
        self, occurrence: OccurrenceRow, recordings: Sequence[Recording], silent_minutes: Sequence[int]
    ) -> None:
        """Post the choice with its select and buttons."""
        await self._channel(occurrence).send(
            texts.CHOICE_PROMPT,
            view=choice_view(occurrence.id, recordings, silent_minutes),
            allowed_mentions=NO_MENTIONS,
        )

    # --- keeping the room quiet -----------------------------------------------------------------

    async def restrict(self, occurrence: OccurrenceRow, venue: Venue, everyone: Sequence[Actor]) -> dict[str, Any]:
        """Lock the chat for non-teachers (if configured) and silence everyone present who is not a teacher."""
        channel = self._channel(occurrence)
        changes: dict[str, Any] = {}
        if self.config.sessions.lock_chat:
            changes["chat"] = await self._lock_chat(channel)
        for person in everyone:
            for key, value in (await self.silence(occurrence, venue, person)).items():
                changes.setdefault(key, []).extend(value)
        return changes

    async def _lock_chat(self, channel: discord.VoiceChannel | discord.StageChannel) -> dict[str, Any]:
        guild = channel.guild
        targets: list[tuple[discord.Role | discord.Member | None, bool]] = [
            # The bot first: once @everyone may not send, the bot needs its own allowance to keep
            # posting, and Discord lets it grant teachers only what it holds in the channel itself.
            (guild.me, True),
            (guild.get_role(self.config.roles.teacher), True),
            (guild.default_role, False),
        ]
        saved: dict[str, Any] = {}
        for target, allow_send in targets:
            if target is None:
                continue
            before = channel.overwrites.get(target)
            kind = "member" if isinstance(target, discord.Member) else "role"
            saved[f"{kind}:{target.id}"] = None if before is None else [before.pair()[0].value, before.pair()[1].value]
            overwrite = discord.PermissionOverwrite()
            if before is not None:
                overwrite = discord.PermissionOverwrite.from_pair(*before.pair())
            overwrite.update(send_messages=allow_send)
            await channel.set_permissions(target, overwrite=overwrite, reason=_QUIET_REASON)
        return saved

    async def silence(self, occurrence: OccurrenceRow, venue: Venue, member: Actor) -> dict[str, Any]:
        """Keep one participant silent: Stage audience, or server mute in a voice channel."""
        if is_teacher(member, self.config.roles):
            return {}
        guild_member = self._channel(occurrence).guild.get_member(member.user_id)
        if guild_member is None or guild_member.voice is None or guild_member.voice.channel is None:
            return {}
        if guild_member.voice.channel.id != occurrence.channel_id:
            return {}
        changes: dict[str, Any] = {}
        if guild_member.voice.mute and member.user_id in await self.db.pending_unmutes():
            # The bot's own mute from a session they left: it carries on here and is lifted when this one closes.
            changes["muted"] = [member.user_id]
        try:
            if venue == "stage":
                if guild_member.voice.suppress and guild_member.voice.requested_to_speak_at is None:
                    return changes
                await guild_member.edit(suppress=True)  # back to the audience; a raised hand is lowered
                return {**changes, "suppressed": [member.user_id]}
            if guild_member.voice.mute:
                return changes  # a moderator's mute is theirs to lift, never the bot's
            await guild_member.edit(mute=True, reason="Practice Circles: no participant leads while the bot does")
            return {"muted": [member.user_id]}
        except discord.HTTPException as error:
            log.warning("could not keep member %s quiet in session %d: %s", member.user_id, occurrence.id, error)
            return changes

    async def restore(self, occurrence: OccurrenceRow, venue: Venue, restrictions: dict[str, Any]) -> dict[str, Any]:
        """Undo the chat lock and the mutes; members who already left are returned as pending unmutes."""
        channel = self._channel(occurrence)
        pending: list[int] = []
        for user_id in restrictions.get("muted", []):
            member = channel.guild.get_member(user_id)
            if member is None or member.voice is None or member.voice.channel is None:
                pending.append(user_id)
                continue
            try:
                await member.edit(mute=False, reason="Practice Circles: the session is over")
            except discord.HTTPException:
                pending.append(user_id)
        # Restored in reverse: @everyone first, the bot's own allowance last (it needs it until then).
        for key, saved in reversed(list((restrictions.get("chat") or {}).items())):
            kind, _, target_id = key.partition(":")
            target: discord.Role | discord.Member | None = (
                channel.guild.get_member(int(target_id)) if kind == "member" else channel.guild.get_role(int(target_id))
            )
            if target is None:
                continue
            if saved is None:
                await channel.set_permissions(target, overwrite=None)
            else:
                allow, deny = discord.Permissions(saved[0]), discord.Permissions(saved[1])
                await channel.set_permissions(target, overwrite=discord.PermissionOverwrite.from_pair(allow, deny))
        return {"pending_unmute": pending}

    # --- audio ----------------------------------------------------------------------------------

    async def play(
        self, occurrence: OccurrenceRow, recording: Recording, *, skip_seconds: float = 0.0
    ) -> PlaybackResult:
        """Join the channel if needed (as the Stage's speaker) and play one approved recording."""
        voice = await self._connect(occurrence)
        refusal: list[str] = []

        async def on_refused(refused: Recording, reason: str) -> None:
            refusal.append(reason)

        result = await self.player.play(voice, recording, on_refused=on_refused, skip_seconds=skip_seconds)
        if refusal:
            return PlaybackResult(finished=False, refused=True, reason=refusal[0])
        return PlaybackResult(finished=result.finished)

    async def _connect(self, occurrence: OccurrenceRow) -> discord.VoiceClient:
        channel = self._channel(occurrence)
        async with self._voice_lock:
            voice = channel.guild.voice_client
            if isinstance(voice, discord.VoiceClient) and voice.is_connected():
                if voice.channel.id != channel.id:
                    await voice.move_to(channel)
            else:
                voice = await channel.connect(self_deaf=True)
            if isinstance(channel, discord.StageChannel):
                me = channel.guild.me
                if me.voice is not None and me.voice.suppress:
                    await me.edit(suppress=False)  # the bot must be a speaker to be heard on the Stage
            assert isinstance(voice, discord.VoiceClient)
            return voice

    async def stop_playback(self, occurrence: OccurrenceRow) -> None:
        """Stop the bot's audio in this session (gently)."""
        voice = self._channel(occurrence).guild.voice_client
        if isinstance(voice, discord.VoiceClient):
            await self.player.stop(voice, gently=True)

    async def close(self, occurrence: OccurrenceRow, venue: Venue) -> None:
        """Leave voice and close the Stage."""
        channel = self._channel(occurrence)
        voice = channel.guild.voice_client
        if isinstance(voice, discord.VoiceClient) and voice.channel is not None and voice.channel.id == channel.id:
            await voice.disconnect(force=True)
        if isinstance(channel, discord.StageChannel) and channel.instance is not None:
            try:
                await channel.instance.delete()
            except discord.HTTPException as error:
                log.warning("could not close the Stage of session %d: %s", occurrence.id, error)
