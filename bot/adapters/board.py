"""The schedule board on Discord: one embed in the announcements channel with a Sign up button per session.

The buttons carry the existing `pc:signup:{occurrence}` ids, answered by the registered Sign up
button (cogs.members.signups), so a press gives the presser a private reply and nobody else sees
who signed up. Editing a message that was deleted (Discord's 404) posts the board afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import discord

from bot.adapters.buttons import CUSTOM_IDS
from bot.adapters.limits import BUTTONS_PER_ROW, EMBED_FIELD_NAME_CHARS
from bot.schedule.rules import discord_timestamp, format_pacific, when
from bot.services.sessions import SessionSummary
from bot.texts import members as member_texts
from bot.texts import privacy as texts
from bot.validation import safe_cut

# Twenty sessions keep the embed well inside 6000 characters and leave the fifth button row free.
BOARD_SESSIONS: Final = 20


def board_message(sessions: Sequence[SessionSummary]) -> tuple[discord.Embed, discord.ui.View]:
    """The board's embed and its Sign up buttons (the first BOARD_SESSIONS sessions)."""
    shown = list(sessions[:BOARD_SESSIONS])
    description = texts.BOARD_INTRO if shown else texts.BOARD_EMPTY
    if len(sessions) > len(shown):
        description += "\n\n" + texts.BOARD_MORE.format(count=len(sessions) - len(shown))
    embed = discord.Embed(title=texts.BOARD_TITLE, description=description)
    view = discord.ui.View(timeout=None)
    for index, summary in enumerate(shown):
        occurrence = summary.occurrence
        name = member_texts.SESSION_NAME.format(id=occurrence.id, title="")
        name += safe_cut(occurrence.title, EMBED_FIELD_NAME_CHARS // 2 - len(name))
        teacher = (
            texts.BOARD_NO_TEACHER if summary.teacher_id is None else texts.BOARD_TEACHER.format(id=summary.teacher_id)
        )
        embed.add_field(
            name=name,
            value=texts.BOARD_SESSION_VALUE.format(
                when=when(occurrence.start_utc),
                relative=discord_timestamp(occurrence.start_utc, "R"),
                pacific=format_pacific(occurrence.start_utc),
                channel=occurrence.channel_id,
                teacher=teacher,
            ),
            inline=False,
        )
        view.add_item(
            discord.ui.Button(
                label=member_texts.SIGN_UP_BUTTON.format(id=occurrence.id),
                style=discord.ButtonStyle.success,
                custom_id=CUSTOM_IDS["signup"].make(occurrence=occurrence.id),
                row=index // BUTTONS_PER_ROW,
            )
        )
    embed.set_footer(text=texts.BOARD_FOOTER)
    return embed, view


class DiscordBoard:
    """The core's BoardPublisher over a discord.py client."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def publish(self, channel_id: int, sessions: Sequence[Any], message_id: int | None) -> int:
        """Edit the board in place, or post it (first time, or after someone deleted it); return its id."""
        channel = self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise RuntimeError(f"the announcements channel {channel_id} is not a text channel the bot can see")
        embed, view = board_message(sessions)
        try:
            if message_id is not None:
                try:
                    await channel.get_partial_message(message_id).edit(embed=embed, view=view)
                    return message_id
                except discord.NotFound:
                    pass  # deleted: post it again below
            message = await channel.send(embed=embed, view=view, allowed_mentions=discord.AllowedMentions.none())
            return message.id
        finally:
            # Presses are answered by the registered Sign up template.
            view.stop()
