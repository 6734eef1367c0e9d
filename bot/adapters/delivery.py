"""Sending ledger rows to members over Discord, and posting to the volunteers' channels.

Route: a DM, unless the member asked for a thread or has closed their DMs. A DM refused with
Discord's code 50007 (the member closed DMs) falls back at once, and the member is remembered as
closed so the bot stops trying DMs. The fallback is the member's own private thread under the
announcements channel: only they are added to it (and it is not invitable), so nobody else in the
server learns which sessions they attend; there they are mentioned, and allowed mentions name
exactly that member. Every send carries the ledger row's nonce with `enforce_nonce`, so Discord
drops a repeat. Each message carries buttons to leave that session and to stop reminders, which
work from the DM itself. A reminder to a member who gave their time zone says so when daylight
saving (changing on one side only) moved a weekly session on their clock since the week before;
the `notice:clocks` heads-up is that note, sent days ahead.

A member's DM channel id is stored once a DM has reached them there (it never changes), so later
messages post to it directly: one request instead of opening the channel first, and no "new DM"
for Discord to count. When Discord refuses a new DM conversation with 40003 ("You are opening
direct messages too fast", a 403 without a retry_after), new conversations pause for a while
(doubling, capped) and their rows wait in the ledger without losing an attempt; members already
reached by DM go on being sent to meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable

import discord

from bot.adapters.claim import ClaimButton
from bot.adapters.dm_buttons import message_buttons
from bot.adapters.limits import MESSAGE_CHARS, THREAD_NAME_CHARS
from bot.delivery.ledger import DeliveryDeferred, PermanentDeliveryError
from bot.delivery.wording import message_for
from bot.model import DeliveryRow, MemberRow, OccurrenceRow
from bot.services.clocks import CLOCKS_KIND, clock_note
from bot.storage import Database
from bot.texts import privacy as texts_privacy

log = logging.getLogger(__name__)

# Discord's JSON error code for "Cannot send messages to this user".
CANNOT_DM = 50007
# Discord's JSON error code for "You are opening direct messages too fast".
OPENING_DMS_TOO_FAST = 40003
# How long new DM conversations wait after a 40003: doubling from the first, capped.
DM_OPENING_FIRST_WAIT = dt.timedelta(seconds=10)
DM_OPENING_LONGEST_WAIT = dt.timedelta(minutes=5)


class DmOpeningPause:
    """The wait Discord asked for (without saying how long) before the bot opens more DM conversations."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        first_wait: dt.timedelta = DM_OPENING_FIRST_WAIT,
        longest_wait: dt.timedelta = DM_OPENING_LONGEST_WAIT,
    ) -> None:
        self.clock = clock
        self.first_wait = first_wait
        self.longest_wait = longest_wait
        self._until = 0.0
        self._next_wait = first_wait

    def remaining(self) -> dt.timedelta | None:
        """How long new conversations must still wait; None if they may go now."""
        left = self._until - self.clock()
        return dt.timedelta(seconds=left) if left > 0 else None

    def refused(self) -> dt.timedelta:
        """Discord refused a new conversation: pause them all (once per pause, however many were in flight)."""
        left = self.remaining()
        if left is not None:
            return left
        wait = self._next_wait
        self._until = self.clock() + wait.total_seconds()
        self._next_wait = min(wait * 2, self.longest_wait)
        log.warning("Discord says the bot opens direct messages too fast; new ones wait %s", wait)
        return wait

    def opened(self) -> None:
        """A new conversation went through: the next refusal starts from the first wait again."""
        self._next_wait = self.first_wait


class DiscordMessenger:
    """The core's Messenger over a discord.py client (and the Discord side of forgetting a member)."""

    def __init__(self, client: discord.Client, db: Database, announcements_channel_id: int) -> None:
        self.client = client
        self.db = db
        self.announcements_channel_id = announcements_channel_id
        # One private thread per member: parallel sends to the same member must not each make one.
        self._thread_locks: dict[int, asyncio.Lock] = {}
        self.dm_opening = DmOpeningPause()

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        """Send one reminder or notice to its member; returns the Discord message id."""
        recipient = row.key.recipient_id
        member = await self.db.get_member(recipient)
        note = await self._daylight_note(row, occurrence, member)
        if row.key.kind == CLOCKS_KIND:
            # Worked out again now: the member may have signed out, or changed or cleared their zone.
            if note is None:
                raise PermanentDeliveryError("the time change no longer moves this session on the member's clock")
            if not await self.db.is_signed_up(occurrence.id, recipient):
                raise PermanentDeliveryError("the member is no longer signed up for this session")
        content = message_for(row, occurrence, late=late, note=note)
        view = message_buttons(occurrence.id)
        wants_thread = member is not None and (member.reminder_channel == "thread" or member.dm_closed)
        try:
            if not wants_thread:
                try:
                    return await self._send_dm(recipient, content, row.nonce, view, member)
                except discord.Forbidden as error:
                    if error.code == OPENING_DMS_TOO_FAST:
                        raise DeliveryDeferred(self.dm_opening.refused(), "Discord: opening DMs too fast") from error
                    if error.code != CANNOT_DM:
                        raise
                    log.info("a member has closed DMs; using their private thread from now on")
                    await self.db.set_member(recipient, dm_closed=True)
            return await self._send_privately(recipient, content, row.nonce, view)
        finally:
            # Presses are answered by the registered templates, so discord.py need not keep this view.
            view.stop()

    async def _daylight_note(self, row: DeliveryRow, occurrence: OccurrenceRow, member: MemberRow | None) -> str | None:
        """For a reminder or heads-up to a member with a time zone: whether daylight saving moved the session."""
        if not row.key.kind.startswith("reminder:") and row.key.kind != CLOCKS_KIND:
            return None
        return await clock_note(self.db, occurrence, None if member is None else member.timezone)

    async def _send_dm(
        self, user_id: int, content: str, nonce: str, view: discord.ui.View, member: MemberRow | None
    ) -> int:
        known = None if member is None else member.dm_channel_id
        if known is not None:
            channel = self.client.get_partial_messageable(known, type=discord.ChannelType.private)
            try:
                return await self._post(channel, content, nonce, view)
            except discord.NotFound:
                # A DM channel's id never changes; if Discord no longer knows it, open the channel anew.
                await self.db.remember_dm_channel(user_id, None)
        wait = self.dm_opening.remaining()
        if wait is not None:
            raise DeliveryDeferred(wait, "waiting before opening more DMs, as Discord asked")
        user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
        opened = user.dm_channel or await user.create_dm()
        message_id = await self._post(opened, content, nonce, view)
        self.dm_opening.opened()
        await self.db.remember_dm_channel(user_id, opened.id)
        return message_id

    async def _post(self, channel: discord.abc.Messageable, content: str, nonce: str, view: discord.ui.View) -> int:
        message = await channel.send(content, nonce=nonce, view=view, allowed_mentions=discord.AllowedMentions.none())
        return message.id

    async def _send_privately(self, user_id: int, content: str, nonce: str, view: discord.ui.View) -> int:
        mention_only_them = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(user_id)])
        thread = await self.private_thread(user_id)
        try:
            message = await thread.send(
                f"<@{user_id}> {content}", nonce=nonce, view=view, allowed_mentions=mention_only_them
            )
        except discord.NotFound:
            # Someone deleted the thread: make a new one (once) and send there.
            await self.db.set_private_thread(user_id, None)
            thread = await self.private_thread(user_id)
            try:
                message = await thread.send(
                    f"<@{user_id}> {content}", nonce=nonce, view=view, allowed_mentions=mention_only_them
                )
            except discord.NotFound as error:
                raise PermanentDeliveryError("the member's private thread is gone") from error
        return message.id

    async def private_thread(self, user_id: int) -> discord.Thread:
        """The member's own private reminder thread in the announcements channel, made once and remembered."""
        lock = self._thread_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            return await self._find_or_make_thread(user_id)

    async def _find_or_make_thread(self, user_id: int) -> discord.Thread:
        member = await self.db.get_member(user_id)
        known = None if member is None else member.private_thread_id
        if known is not None:
            found = await self._thread(known)
            if found is not None:
                return found
        parent = self.client.get_channel(self.announcements_channel_id) or await self.client.fetch_channel(
            self.announcements_channel_id
        )
        if not isinstance(parent, discord.TextChannel):
            raise PermanentDeliveryError("the announcements channel is not a text channel the bot can see")
        # Private, and not invitable: only the bot adds people, and it adds only this member.
        thread = await parent.create_thread(
            name=texts_privacy.PRIVATE_THREAD_NAME[:THREAD_NAME_CHARS],
            type=discord.ChannelType.private_thread,
            invitable=False,
            auto_archive_duration=10080,
        )
        try:
            await thread.add_user(discord.Object(user_id))
        except discord.NotFound as error:
            raise PermanentDeliveryError("the member is no longer in the server") from error
        await self.db.set_private_thread(user_id, thread.id)
        return thread

    async def _thread(self, thread_id: int) -> discord.Thread | None:
        channel = self.client.get_channel(thread_id)
        if isinstance(channel, discord.Thread):
            return channel
        try:
            fetched = await self.client.fetch_channel(thread_id)
        except discord.NotFound:
            return None
        return fetched if isinstance(fetched, discord.Thread) else None

    async def forget(self, user_id: int, private_thread_id: int | None) -> None:
        """A member asked to be forgotten: the bot's messages leave their private thread, and so do they."""
        if private_thread_id is None:
            return
        thread = await self._thread(private_thread_id)
        if thread is None:
            return
        # Moderators can read private threads; what the bot wrote there for this member goes.
        async for message in thread.history(limit=500):
            if self.client.user is not None and message.author.id == self.client.user.id:
                with contextlib.suppress(discord.NotFound):
                    await message.delete()
        with contextlib.suppress(discord.NotFound):
            await thread.remove_user(discord.Object(user_id))


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
