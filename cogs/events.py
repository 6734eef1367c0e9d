"""Events: slash commands and buttons (being built)."""

from __future__ import annotations

from discord.ext import commands

from bot.app import PracticeCirclesBot


class Events(commands.Cog):
    """(being built)"""

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Events(bot))
