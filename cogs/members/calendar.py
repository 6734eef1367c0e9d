"""`/calendar`: an .ics file of the member's own sessions, or of a whole series."""

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
    """Calendar files for members' own calendar apps."""

    @app_commands.command(name="calendar", description="A calendar file (.ics) of your sessions, or of a whole series")
    @app_commands.describe(series="A whole series (leave out for the sessions you signed up for)")
    @app_commands.autocomplete(series=active_series_choices)
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction, series: int | None = None) -> None:
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
