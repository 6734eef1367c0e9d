"""Sending ledger rows to members over Discord, and posting to the volunteers' channels.

Route: a DM, unless the member asked for the session's reminder thread or has closed their DMs.
A DM refused with Discord's code 50007 (the member closed DMs) falls back to the thread at once,
and the member is remembered as closed so the bot stops trying DMs. In the thread the member is
mentioned, and allowed mentions name exactly that member, so nobody else is ever pinged.
Every send carries the ledger row's nonce with `enforce_nonce`, so Discord drops a repeat.
A reminder to a member who gave their time zone says so when daylight saving (changing on one side
only) moved a weekly session on their clock since the week before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import discord

from bot import texts
from bot.adapters.claim import ClaimButton
from bot.adapters.limits import MESSAGE_CHARS, THREAD_NAME_CHARS
from bot.delivery.ledger import PermanentDeliveryError
from bot.delivery.wording import message_for
from bot.errors import PracticeCirclesError
from bot.model import DeliveryRow, MemberRow, OccurrenceRow, SeriesRow
from bot.schedule.rules import pacific_wall_to_utc, utc_to_pacific
from bot.schedule.timezones import local_shift_note
from bot.storage import Database
from bot.validation import display_safe

log = logging.getLogger(__name__)

# Discord's JSON error code for "Cannot send messages to this user".
CANNOT_DM = 50007


class DiscordMessenger:
    """The core's Messenger over a discord.py client."""

    def __init__(self, client: discord.Client, db: Database, announcements_channel_id: int) -> None:
        self.client = client
        self.db = db
        self.announcements_channel_id = announcements_channel_id
        self._thread_lock = asyncio.Lock()

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        """Send one reminder or notice to its member; returns the Discord message id."""
        recipient = row.key.recipient_id
        member = await self.db.get_member(recipient)
        content = message_for(row, occurrence, late=late, note=await self._daylight_note(row, occurrence, member))
        wants_thread = member is not None and (member.reminder_channel == "thread" or member.dm_closed)
        if not wants_thread:
            try:
                return await self._send_dm(recipient, content, row.nonce)
            except discord.Forbidden as error:
                if error.code != CANNOT_DM:
                    raise
                log.info("member %s has closed DMs; using the session thread from now on", recipient)
                await self.db.set_member(recipient, dm_closed=True)
        return await self._send_in_thread(recipient, occurrence, content, row.nonce)

    async def _daylight_note(self, row: DeliveryRow, occurrence: OccurrenceRow, member: MemberRow | None) -> str | None:
        """For a reminder to a member with a time zone: whether daylight saving moved the session on their clock."""
        if not row.key.kind.startswith("reminder:") or member is None or member.timezone is None:
            return None
        series = None if occurrence.series_id is None else await self.db.get_series(occurrence.series_id)
        if series is None:
            return None
        try:
            return local_shift_note(occurrence.start_utc, previous_start(series, occurrence), member.timezone)
        except (PracticeCirclesError, ValueError, LookupError):
            # A note is a courtesy; it must never cost the member their reminder.
            log.warning(
                "no daylight-saving note for session %s, member %s", occurrence.id, member.user_id, exc_info=True
            )
            return None

    async def _send_dm(self, user_id: int, content: str, nonce: str) -> int:
        user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
        channel = user.dm_channel or await user.create_dm()
        message = await channel.send(content, nonce=nonce, allowed_mentions=discord.AllowedMentions.none())
        return message.id

    async def _send_in_thread(self, user_id: int, occurrence: OccurrenceRow, content: str, nonce: str) -> int:
        thread = await self.session_thread(occurrence)
        mention_only_them = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(user_id)])
        try:
            message = await thread.send(f"<@{user_id}> {content}", nonce=nonce, allowed_mentions=mention_only_them)
        except discord.NotFound as error:
            raise PermanentDeliveryError("the session's reminder thread is gone") from error
        return message.id

    async def session_thread(self, occurrence: OccurrenceRow) -> discord.Thread:
        """The session's reminder thread in the announcements channel, made once and remembered."""
        # One caller at a time: a fan-out sends to several thread members at once, and each would
        # otherwise find no thread yet and make its own. A resend after a crash goes to the thread
        # the link names, so a message left in another thread would also be repeated there.
        async with self._thread_lock:
            return await self._find_or_make_thread(occurrence)

    async def _find_or_make_thread(self, occurrence: OccurrenceRow) -> discord.Thread:
        known = await self.db.get_link(occurrence.id, "thread")
        if known is not None:
            channel = self.client.get_channel(known)
            if isinstance(channel, discord.Thread):
                return channel
            try:
                fetched = await self.client.fetch_channel(known)
            except discord.NotFound:
                fetched = None
            if isinstance(fetched, discord.Thread):
                return fetched
        parent = self.client.get_channel(self.announcements_channel_id) or await self.client.fetch_channel(
            self.announcements_channel_id
        )
        if not isinstance(parent, discord.TextChannel):
            raise PermanentDeliveryError("the announcements channel is not a text channel the bot can see")
        name = texts.THREAD_NAME.format(
            title=display_safe(occurrence.title)[:60], date=utc_to_pacific(occurrence.start_utc).date().isoformat()
        )
        thread = await parent.create_thread(name=name[:THREAD_NAME_CHARS], type=discord.ChannelType.public_thread)
        await self.db.set_link(occurrence.id, "thread", thread.id)
        return thread


def previous_start(series: SeriesRow, occurrence: OccurrenceRow) -> dt.datetime:
    """The series' start one repeat (interval) before this session, at the rule's US Pacific wall time."""
    day = utc_to_pacific(occurrence.recurrence_id).date() - dt.timedelta(weeks=series.interval_weeks)
    return pacific_wall_to_utc(dt.datetime.combine(day, series.local_time))


class DiscordAnnouncer:
    """The core's Announcer: short posts in the coordinators' and teachers' channels."""

    def __init__(
        self, client: discord.Client, coordinators_channel_id: int, teachers_channel_id: int | None = None
    ) -> None:
        self.client = client
        self.coordinators_channel_id = coordinators_channel_id
        self.teachers_channel_id = teachers_channel_id

    async def to_coordinators(self, text: str) -> None:
        """Post in the coordinators' channel; pings nobody."""
        channel = self.client.get_channel(self.coordinators_channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.error("coordinators channel %s is not reachable; message lost: %s", self.coordinators_channel_id, text)
            return
        await channel.send(text[:MESSAGE_CHARS], allowed_mentions=discord.AllowedMentions.none())

    async def to_teachers(self, text: str, claim_occurrence_id: int) -> None:
        """Post in the teachers' channel with the session's Claim button; pings nobody."""
        channel = None if self.teachers_channel_id is None else self.client.get_channel(self.teachers_channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.error("teachers channel %s is not reachable; message lost: %s", self.teachers_channel_id, text)
            return
        view = discord.ui.View(timeout=None)
        view.add_item(ClaimButton(claim_occurrence_id))
        await channel.send(text[:MESSAGE_CHARS], view=view, allowed_mentions=discord.AllowedMentions.none())
        # Presses are answered by the registered ClaimButton template, so discord.py need not keep this view.
        view.stop()
