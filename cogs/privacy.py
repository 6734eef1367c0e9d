"""Privacy: `/privacy` (what is kept and why), `/forget-me` (after a confirmation button), and the
Discord events privacy follows: members leaving and coming back, and the schedule board being deleted.

Also registers the buttons every reminder and notice carries (leave that session, stop reminders),
which work from a DM (bot.adapters.dm_buttons).
"""

from __future__ import annotations

from typing import Any, Self

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.dm_buttons import MESSAGE_ITEMS
from bot.adapters.interactions import core_of
from bot.texts import privacy as texts
from cogs.base import PracticeCog


class ForgetMeButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["forget-me"]):
    """Confirms `/forget-me` for the member who asked (`pc:forget-me:{user}`); anyone else is refused."""

    def __init__(self, user: int) -> None:
        super().__init__(self.button(texts.FORGET_BUTTON, discord.ButtonStyle.danger, user=user))
        self.user_id = user

    @classmethod
    async def rebuild(cls, interaction: discord.Interaction, **numbers: int) -> Self:
        """The button for a pressed id."""
        return cls(numbers["user"])

    async def run(self, interaction: discord.Interaction) -> None:
        """Forget the presser, if the request was theirs."""
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(texts.FORGET_NOT_YOURS, ephemeral=True)
            return
        # Tidying the private thread can take a few requests: answer within Discord's 3 seconds first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await core_of(interaction).privacy.forget(interaction.user.id)
        await interaction.followup.send(texts.FORGET_DONE, ephemeral=True)


def privacy_embed(days: int) -> discord.Embed:
    """What the bot keeps, why, and for how long."""
    lines = [f"• {line}" for line in texts.PRIVACY_LINES]
    lines += ["", texts.PRIVACY_NOT_KEPT, "", texts.PRIVACY_RETENTION.format(days=days)]
    return discord.Embed(title=texts.PRIVACY_TITLE, description="\n".join(lines))


class Privacy(PracticeCog):
    """What the bot keeps about members, and forgetting it."""

    persistent_items = (*MESSAGE_ITEMS, ForgetMeButton)

    @app_commands.command(name="privacy", description="What the bot keeps about you, and why")
    @app_commands.guild_only()
    async def privacy(self, interaction: discord.Interaction) -> None:
        """Say plainly what is kept."""
        days = self.bot.core.config.privacy.forget_departed_after_days
        await interaction.response.send_message(embed=privacy_embed(days), ephemeral=True)

    @app_commands.command(name="forget-me", description="Delete what the bot keeps about you (asks first)")
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction) -> None:
        """Ask for confirmation with a button only this member's request answers to."""
        await self.bot.core.privacy.check_can_forget(interaction.user.id)
        view = discord.ui.View(timeout=None)
        view.add_item(ForgetMeButton(interaction.user.id))
        await interaction.response.send_message(texts.FORGET_CONFIRM, view=view, ephemeral=True)
        view.stop()

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """A member left: the retention period starts."""
        if payload.guild_id == self.bot.core.config.guild.id:
            await self.bot.core.privacy.member_left(payload.user.id)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """A member came back before being forgotten."""
        if member.guild.id == self.bot.core.config.guild.id:
            await self.bot.core.privacy.member_returned(member.id)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """If the deleted message was the schedule board, post it again."""
        board = self.bot.core.board
        if board is not None:
            await board.message_deleted(payload.channel_id, payload.message_id)


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the privacy cog."""
    await bot.add_cog(Privacy(bot))
