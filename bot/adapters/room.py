"""The session's channel on Discord: the runner's `Room`, over discord.py.

Stage channels are the preferred venue: the bot starts the session's scheduled event (so members
who marked it Interested hear from Discord), opens the Stage instance linked to it, and stays its
speaker from the open to the close (Discord ends a Stage with no speaker after a few minutes). It
keeps everyone else in the audience while it leads and invites the leading teacher to speak. In
a plain voice channel the bot server-mutes participants while it leads and holds cameras and
screen sharing off. Every change is returned to the runner, which stores it, so it can all be
undone at close, also after a restart. The chat lock and the video hold are permission
overwrites; the original overwrite is kept and put back exactly. Coordinators and teachers are
never silenced.

One bot has one voice connection per server: it never moves while a recording plays. While one
plays, a watchdog notices a dropped connection, says so (through the runner) and gives up after
`reconnect_wait` seconds so the runner can try again or carry on in words.
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
from bot.media.opus import PACKETS_PER_SECOND
from bot.model import Actor, OccurrenceRow, Recording, Venue
from bot.ports import OnVoiceTrouble, PlaybackResult, RestoreOutcome
from bot.schedule.rules import format_pacific, when
from bot.services.permissions import is_coordinator, is_teacher
from bot.storage import Database
from bot.texts import privacy as privacy_texts
from bot.texts import room as room_texts
from bot.validation import display_safe

if TYPE_CHECKING:
    from bot.adapters.bot import PracticeCirclesBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
_QUIET_REASON = "Practice Circles: the chat rests while the bot leads"
_RESTORE_REASON = "Practice Circles: the session is over"


class VoiceBusy(Exception):
    """The one voice connection is playing in another session's channel; it never moves while it does."""


class DiscordRoom:
    """The runner's Room over a discord.py client."""

    def __init__(self, client: PracticeCirclesBot, db: Database, config: Config) -> None:
        self.client = client
        self.db = db
        self.config = config
        self.player = Player()
        # One voice connection at a time per guild (Discord's rule); connecting is serialised.
        self._voice_lock = asyncio.Lock()
        # How long a dropped voice connection may take to come back before a playback counts as failed.
        self.reconnect_wait = 10.0
        self.connect_timeout = 15.0
        self.watch_every = 0.25

    # --- looking things up ------------------------------------------------------------------------

    def _channel(self, occurrence: OccurrenceRow) -> discord.VoiceChannel | discord.StageChannel:
        channel = self.client.get_channel(occurrence.channel_id)
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            raise RuntimeError(f"session channel {occurrence.channel_id} is not a voice or Stage channel")
        return channel

    def _guild(self) -> discord.Guild | None:
        return self.client.get_guild(self.config.guild.id)

    async def venue(self, occurrence: OccurrenceRow) -> Venue:
        """'stage' for a Stage channel, else 'voice'."""
        return "stage" if isinstance(self._channel(occurrence), discord.StageChannel) else "voice"

    async def present(self, occurrence: OccurrenceRow) -> list[Actor]:
        """Everyone in the channel but the bot."""
        bot_id = self.client.user.id if self.client.user else 0
        return [member_actor(member) for member in self._channel(occurrence).members if member.id != bot_id]

    # --- opening, posting, offering ------------------------------------------------------------

    async def open(self, occurrence: OccurrenceRow, venue: Venue, *, speak: bool) -> None:
        """Start the event, open the Stage linked to it (the bot its speaker), post the card."""
        channel = self._channel(occurrence)
        event = await self._start_event(occurrence)
        if isinstance(channel, discord.StageChannel):
            await self._open_stage(occurrence, channel, event)
            if speak:
                try:
                    await self._connect(occurrence)
                except (VoiceBusy, discord.DiscordException, TimeoutError) as error:
                    log.warning("session %d: could not join the Stage as its speaker: %s", occurrence.id, error)
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

    async def _start_event(self, occurrence: OccurrenceRow) -> discord.ScheduledEvent | None:
        """The session's mirrored event, started (Discord then notifies who marked it Interested)."""
        event = await self._event(occurrence)
        if event is None or event.status is not discord.EventStatus.scheduled:
            return event if event is not None and event.status is discord.EventStatus.active else None
        try:
            return await event.start(reason="Practice Circles: the session is open")
        except discord.HTTPException as error:
            log.warning("session %d: could not start its scheduled event: %s", occurrence.id, error)
            return None

    async def _event(self, occurrence: OccurrenceRow) -> discord.ScheduledEvent | None:
        event_id = await self.db.get_link(occurrence.id, "event")
        guild = self._guild()
        if event_id is None or guild is None:
            return None
        try:
            return await guild.fetch_scheduled_event(event_id)
        except discord.HTTPException:
            return None

    async def _open_stage(
        self, occurrence: OccurrenceRow, channel: discord.StageChannel, event: discord.ScheduledEvent | None
    ) -> None:
        if channel.instance is not None:
            return
        linked = event if event is not None and event.channel_id == channel.id else None
        try:
            await channel.create_instance(
                topic=display_safe(occurrence.title)[:STAGE_TOPIC_CHARS],
                scheduled_event=linked if linked else discord.utils.MISSING,
            )
        except discord.HTTPException as error:
            log.warning("could not open the Stage for session %d: %s", occurrence.id, error)

    async def ensure_stage(self, occurrence: OccurrenceRow) -> None:
        """Open the Stage again if Discord ended it meanwhile (nobody was speaking)."""
        channel = self._channel(occurrence)
        if isinstance(channel, discord.StageChannel) and channel.instance is None:
            event = await self._event(occurrence)
            active = event if event is not None and event.status is discord.EventStatus.active else None
            await self._open_stage(occurrence, channel, active)

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

    async def invite_to_speak(self, occurrence: OccurrenceRow, member: Actor) -> None:
        """On a Stage, bring the leading teacher up to the speakers (no moderator rights needed on their side)."""
        channel = self._channel(occurrence)
        if not isinstance(channel, discord.StageChannel):
            return
        guild_member = channel.guild.get_member(member.user_id)
        voice = guild_member.voice if guild_member is not None else None
        if guild_member is None or voice is None or voice.channel is None or voice.channel.id != channel.id:
            return
        if voice.suppress:
            await guild_member.edit(suppress=False)

    # --- keeping the room quiet -----------------------------------------------------------------

    def _never_silenced(self, member: Actor) -> bool:
        return is_teacher(member, self.config.roles) or is_coordinator(member, self.config.roles)

    async def restrict(self, occurrence: OccurrenceRow, venue: Venue, everyone: Sequence[Actor]) -> dict[str, Any]:
        """Lock the chat (if configured), hold video in a voice channel, silence everyone present but staff."""
        channel = self._channel(occurrence)
        changes: dict[str, Any] = {}
        hold_video = isinstance(channel, discord.VoiceChannel)
        if self.config.sessions.lock_chat or hold_video:
            changes["chat"] = await self._lock(channel, chat=self.config.sessions.lock_chat, video=hold_video)
        for person in everyone:
            for key, value in (await self.silence(occurrence, venue, person)).items():
                changes.setdefault(key, []).extend(value)
        return changes

    async def _lock(
        self, channel: discord.VoiceChannel | discord.StageChannel, *, chat: bool, video: bool
    ) -> dict[str, Any]:
        guild = channel.guild
        staff = [guild.get_role(self.config.roles.teacher), guild.get_role(self.config.roles.coordinator)]
        targets: list[tuple[discord.Role | discord.Member | None, bool]] = [
            # The bot first: once @everyone may not send, the bot needs its own allowance to keep
            # posting, and Discord lets it grant staff only what it holds in the channel itself.
            (guild.me, True),
            *((role, True) for role in staff),
            (guild.default_role, False),
        ]
        saved: dict[str, Any] = {}
        for target, allowed in targets:
            if target is None:
                continue
            before = channel.overwrites.get(target)
            kind = "member" if isinstance(target, discord.Member) else "role"
            saved[f"{kind}:{target.id}"] = None if before is None else [before.pair()[0].value, before.pair()[1].value]
            overwrite = discord.PermissionOverwrite()
            if before is not None:
                overwrite = discord.PermissionOverwrite.from_pair(*before.pair())
            if chat:
                overwrite.update(send_messages=allowed)
            if video and target != guild.me:
                overwrite.update(stream=allowed)
            await channel.set_permissions(target, overwrite=overwrite, reason=_QUIET_REASON)
        return saved

    async def silence(self, occurrence: OccurrenceRow, venue: Venue, member: Actor) -> dict[str, Any]:
        """Keep one participant silent: Stage audience, or server mute in a voice channel."""
        if self._never_silenced(member):
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

    async def restore(self, occurrence: OccurrenceRow, venue: Venue, restrictions: dict[str, Any]) -> RestoreOutcome:
        """Undo the mutes and the overwrites one by one; what fails is returned to be retried."""
        guild = self._guild()
        channel = self.client.get_channel(occurrence.channel_id)
        pending: list[int] = []
        left_muted: list[int] = []
        problems: list[str] = []
        for user_id in restrictions.get("muted", []):
            member = guild.get_member(user_id) if guild is not None else None
            if member is None:
                continue  # no longer in the server: a mute does not outlive leaving it
            if member.voice is None or member.voice.channel is None:
                pending.append(user_id)
                continue
            try:
                await member.edit(mute=False, reason=_RESTORE_REASON)
            except discord.NotFound:
                continue
            except discord.HTTPException as error:
                left_muted.append(user_id)
                problems.append(room_texts.RESTORE_PROBLEM_MUTE.format(member=user_id, why=_why(error)))
        left_overwrites: dict[str, Any] = {}
        saved_overwrites: dict[str, Any] = restrictions.get("chat") or {}
        if isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            # Restored in reverse: @everyone first, the bot's own allowance last (it needs it until then).
            for key, saved in reversed(list(saved_overwrites.items())):
                kind, _, target_id = key.partition(":")
                target: discord.Role | discord.Member | None = (
                    channel.guild.get_member(int(target_id))
                    if kind == "member"
                    else channel.guild.get_role(int(target_id))
                )
                if target is None:
                    continue  # the role or member is gone, and its overwrite with it
                try:
                    if saved is None:
                        await channel.set_permissions(target, overwrite=None, reason=_RESTORE_REASON)
                    else:
                        allow, deny = discord.Permissions(saved[0]), discord.Permissions(saved[1])
                        await channel.set_permissions(
                            target, overwrite=discord.PermissionOverwrite.from_pair(allow, deny), reason=_RESTORE_REASON
                        )
                except discord.NotFound:
                    continue
                except discord.HTTPException as error:
                    left_overwrites[key] = saved
                    name = "@everyone" if target == channel.guild.default_role else display_safe(str(target))
                    problems.append(
                        room_texts.RESTORE_PROBLEM_CHANNEL.format(channel=channel.id, target=name, why=_why(error))
                    )
        # A channel that is gone took its overwrites with it: nothing is left to undo there.
        left: dict[str, Any] = {}
        if left_muted:
            left["muted"] = left_muted
        if left_overwrites:
            # Kept in the original order, so a retry again restores the bot's own allowance last.
            left["chat"] = {key: saved_overwrites[key] for key in saved_overwrites if key in left_overwrites}
        return RestoreOutcome(left=left, pending_unmute=tuple(pending), problems=tuple(problems))

    # --- audio ----------------------------------------------------------------------------------

    async def play(
        self,
        occurrence: OccurrenceRow,
        recording: Recording,
        *,
        skip_seconds: float = 0.0,
        on_trouble: OnVoiceTrouble | None = None,
    ) -> PlaybackResult:
        """Join the channel if needed (as the Stage's speaker) and play one approved recording."""
        try:
            voice = await self._connect(occurrence)
        except VoiceBusy as error:
            return PlaybackResult(finished=False, failed=True, reason=str(error), position_seconds=skip_seconds)
        except (discord.DiscordException, TimeoutError) as error:
            return PlaybackResult(finished=False, failed=True, reason=_why(error), position_seconds=skip_seconds)
        refusal: list[str] = []

        async def on_refused(refused: Recording, reason: str) -> None:
            refusal.append(reason)

        watch = _Watch()
        watchdog = asyncio.create_task(self._watch(occurrence, voice, watch, on_trouble), name="voice-watchdog")
        try:
            result = await self.player.play(voice, recording, on_refused=on_refused, skip_seconds=skip_seconds)
        except discord.ClientException as error:  # not connected (any more)
            watch.failure = watch.failure or _why(error)
            result = None
        finally:
            watchdog.cancel()
        if refusal:
            return PlaybackResult(finished=False, refused=True, reason=refusal[0])
        position = skip_seconds + (result.packets_sent if result is not None else 0) / PACKETS_PER_SECOND
        if result is not None and result.finished:
            return PlaybackResult(finished=True, position_seconds=position)
        if watch.failure is not None or (result is not None and result.reason):
            reason = watch.failure or (result.reason if result is not None else "")
            return PlaybackResult(finished=False, failed=True, reason=reason, position_seconds=position)
        if result is not None and not result.stopped and not voice.is_connected():
            return PlaybackResult(
                finished=False, failed=True, reason="the voice connection was closed", position_seconds=position
            )
        return PlaybackResult(finished=False, position_seconds=position)

    async def _watch(
        self, occurrence: OccurrenceRow, voice: discord.VoiceClient, watch: _Watch, on_trouble: OnVoiceTrouble | None
    ) -> None:
        """While a recording plays: notice a dropped connection, say so, and give up after `reconnect_wait`."""
        loop = asyncio.get_running_loop()
        dropped_at: float | None = None
        while True:
            await asyncio.sleep(self.watch_every)
            if voice.is_connected():
                if dropped_at is not None:
                    dropped_at = None
                    await self._keep_speaking(occurrence)
                    if on_trouble is not None:
                        await on_trouble("back")
                continue
            if dropped_at is None:
                dropped_at = loop.time()
                if on_trouble is not None:
                    await on_trouble("dropped")
            elif loop.time() - dropped_at >= self.reconnect_wait:
                watch.failure = "the voice connection dropped and did not come back"
                # Ends discord.py's own reconnect loop too; the runner decides what comes next.
                await voice.disconnect(force=True)
                return

    async def _keep_speaking(self, occurrence: OccurrenceRow) -> None:
        """After a reconnect the bot is back in the audience of a Stage: speak again."""
        channel = self._channel(occurrence)
        me = channel.guild.me
        if isinstance(channel, discord.StageChannel) and me.voice is not None and me.voice.suppress:
            try:
                await me.edit(suppress=False)
            except discord.HTTPException as error:
                log.warning("session %d: could not speak on the Stage again: %s", occurrence.id, error)

    async def _connect(self, occurrence: OccurrenceRow) -> discord.VoiceClient:
        channel = self._channel(occurrence)
        async with self._voice_lock:
            voice = channel.guild.voice_client
            if isinstance(voice, discord.VoiceClient) and voice.is_connected():
                if voice.channel.id != channel.id:
                    if self.player.is_playing:
                        raise VoiceBusy(f"the bot's voice is playing in <#{voice.channel.id}>")
                    await voice.move_to(channel, timeout=self.connect_timeout)
            else:
                if voice is not None:
                    # discord.py may be reconnecting this client by itself; a second attempt of ours would race it.
                    back = await self._connected_within(channel, self.connect_timeout)
                    if back is not None:
                        return await self._speaking_in(channel, back)
                    await voice.disconnect(force=True)  # half-gone: start afresh
                voice = await self._join(channel)
            return await self._speaking_in(channel, voice)

    async def _speaking_in(
        self, channel: discord.VoiceChannel | discord.StageChannel, voice: discord.VoiceProtocol
    ) -> discord.VoiceClient:
        if isinstance(channel, discord.StageChannel):
            me = channel.guild.me
            if me.voice is not None and me.voice.suppress:
                await me.edit(suppress=False)  # the bot must be a speaker to be heard on the Stage
        assert isinstance(voice, discord.VoiceClient)
        return voice

    async def _connected_within(
        self, channel: discord.VoiceChannel | discord.StageChannel, seconds: float
    ) -> discord.VoiceClient | None:
        """The guild's voice client once it is connected again within `seconds`, else None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            voice = channel.guild.voice_client
            if isinstance(voice, discord.VoiceClient) and voice.is_connected():
                return voice
            if voice is None or loop.time() >= deadline:
                return None
            await asyncio.sleep(self.watch_every)  # discord.py signals its connection only to threads

    async def _join(self, channel: discord.VoiceChannel | discord.StageChannel) -> discord.VoiceClient:
        """Join the room's voice channel, riding out discord.py starting its own attempt again."""
        try:
            return await channel.connect(self_deaf=True, timeout=self.connect_timeout, reconnect=True)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task itself is being cancelled
            # A second voice server from Discord mid-connect makes discord.py cancel the attempt we awaited
            # and start a new one; wait for that one instead of leaving the room in silence.
        voice = await self._connected_within(channel, self.connect_timeout)
        if voice is None:
            raise ConnectionError("the voice connection was interrupted while connecting and did not come back")
        return voice

    async def stop_playback(self, occurrence: OccurrenceRow) -> None:
        """Stop the bot's audio in this session (gently); audio in another session's room plays on."""
        voice = self._channel(occurrence).guild.voice_client
        if (
            isinstance(voice, discord.VoiceClient)
            and voice.channel is not None
            and voice.channel.id == occurrence.channel_id
        ):
            await self.player.stop(voice, gently=True)

    async def close(self, occurrence: OccurrenceRow, venue: Venue) -> None:
        """Leave voice (if it is here), close the Stage and complete the session's event."""
        channel = self._channel(occurrence)
        voice = channel.guild.voice_client
        if isinstance(voice, discord.VoiceClient) and voice.channel is not None and voice.channel.id == channel.id:
            await voice.disconnect(force=True)
        if isinstance(channel, discord.StageChannel) and channel.instance is not None:
            try:
                await channel.instance.delete()
            except discord.HTTPException as error:
                log.warning("could not close the Stage of session %d: %s", occurrence.id, error)
        event = await self._event(occurrence)
        if event is not None and event.status is discord.EventStatus.active:
            try:
                await event.end(reason="Practice Circles: the session is over")
            except discord.HTTPException as error:
                log.warning("session %d: could not complete its scheduled event: %s", occurrence.id, error)


class _Watch:
    """What the watchdog of one playback found."""

    def __init__(self) -> None:
        self.failure: str | None = None


def _why(error: BaseException) -> str:
    """A short reason for the coordinators (an HTTP status and Discord's words, or the error's name)."""
    if isinstance(error, discord.HTTPException):
        return f"Discord answered {error.status}: {error.text or error.__class__.__name__}"
    return str(error) or error.__class__.__name__
