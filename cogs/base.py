"""What every cog of the bot shares: the bot it serves, and the persistent components it answers."""

from __future__ import annotations

from typing import Any, ClassVar

from discord import app_commands
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.buttons import PersistentItem
from bot.services.sessions import MAX_REASON

# A few words of why (a cancellation, a release), as long as the core accepts.
Reason = app_commands.Range[str, 1, MAX_REASON]


class PracticeCog(commands.Cog):
    """A cog of the Practice Circles bot; its `persistent_items` answer on any message, also after a restart."""

    persistent_items: ClassVar[tuple[type[PersistentItem[Any]], ...]] = ()

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Answer this cog's buttons and selects on any message, including those sent before a restart."""
        self.bot.add_dynamic_items(*self.persistent_items)

    async def cog_unload(self) -> None:
        """Stop answering them."""
        self.bot.remove_dynamic_items(*self.persistent_items)
