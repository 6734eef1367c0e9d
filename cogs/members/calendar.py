"""`/calendar`: calendar files, and private calendar links that stay up to date.

- `/calendar file [series]`: an .ics file of the member's own sessions, or of a whole series;
- `/calendar subscribe`: a private link to a feed of the member's sessions (the bot's web server
  serves it; only a hash of the secret is stored), replacing any link given before;
- `/calendar revoke`: that link stops working.
"""

from __future__ import annotations

import io

import discord
from discord import app_commands

from bot.schedule.calendar import series_calendar, sessions_calendar
from bot.texts import members as texts
from bot.validation import display_safe
from cogs.base import PracticeCog
from cogs.members.common import active_series_choices


class Calendar(PracticeCog):
    """Calendars for members' own calendar apps: files, and private links that stay up to date."""

    calendar = app_commands.Group(
        name="calendar", description="Your sessions in your own calendar app", guild_only=True
    )

    @calendar.command(name="file", description="A calendar file (.ics) of your sessions, or of a whole series")
    @app_commands.describe(series="A whole series (leave out for the sessions you signed up for)")
    @app_commands.autocomplete(series=active_series_choices)
    async def file(self, interaction: discord.Interaction, series: int | None = None) -> None:
        """Send an .ics attachment."""
        sessions = self.bot.core.sessions
        now = self.bot.core.clock()
        if series is not None:
            found, rows = await sessions.series_sessions(series)
            data = series_calendar(found, rows, now=now)
            message = texts.CALENDAR_SERIES.format(title=display_safe(found.title))
            filename = texts.CALENDAR_FILE_SERIES.format(id=found.id)
        else:
            mine = [summary.occurrence for summary in await sessions.my_sessions(interaction.user.id)]
            if not mine:
                await interaction.response.send_message(texts.CALENDAR_EMPTY, ephemeral=True)
                return
            data = sessions_calendar(mine, texts.CALENDAR_MINE_NAME, now=now)
            message = texts.CALENDAR_MINE.format(count=len(mine))
            filename = texts.CALENDAR_FILE_MINE
        await interaction.response.send_message(
            message, file=discord.File(io.BytesIO(data), filename=filename), ephemeral=True
        )

    @calendar.command(name="subscribe", description="A private link that keeps your calendar app up to date")
    async def subscribe(self, interaction: discord.Interaction) -> None:
        """Give the member a new private feed link (the old one, if any, stops working)."""
        link = await self.bot.core.calendars.subscribe(interaction.user.id)
        message = texts.CALENDAR_SUBSCRIBED.format(url=link.url)
        if link.replaced:
            message += "\n" + texts.CALENDAR_SUBSCRIBED_REPLACED
        # The link is a secret: no preview, so Discord never fetches it to show one.
        await interaction.response.send_message(message, ephemeral=True, suppress_embeds=True)

    @calendar.command(name="revoke", description="Stop your private calendar link from working")
    async def revoke(self, interaction: discord.Interaction) -> None:
        """End the member's private feed link."""
        revoked = await self.bot.core.calendars.revoke(interaction.user.id)
        await interaction.response.send_message(
            texts.CALENDAR_REVOKED if revoked else texts.CALENDAR_NOTHING_TO_REVOKE, ephemeral=True
        )
