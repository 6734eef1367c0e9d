"""Guidelines, self-care and links: what every member can ask for, at any time."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts
from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config


def guidelines_embed() -> discord.Embed:
    """The community's guidelines, in the bot's words."""
    return discord.Embed(title=texts.GUIDELINES_TITLE, description="\n\n".join(texts.GUIDELINES))


def self_care_embed() -> discord.Embed:
    """Permission to leave without blame, and offline ideas."""
    ideas = "\n".join(f"• {idea}" for idea in texts.SELF_CARE_IDEAS)
    return discord.Embed(
        title=texts.SELF_CARE_TITLE,
        description=f"{texts.SELF_CARE_INTRO}\n{ideas}\n\n{texts.SELF_CARE_CLOSING}",
    )


def links_embed(config: Config) -> discord.Embed:
    """Community, coordinators, donations and sharing, from the configuration."""
    links = config.links
    lines = (
        texts.LINK_COMMUNITY.format(url=links.community),
        texts.LINK_COORDINATORS.format(url=links.coordinators),
        texts.LINK_DONATE.format(url=links.donate),
        texts.LINK_SHARE.format(url=links.share),
    )
    return discord.Embed(title=texts.LINKS_TITLE, description="\n\n".join(lines))


class Care(commands.Cog):
    """Commands anyone may use: guidelines, self-care, links."""

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot

    @app_commands.command(name="guidelines", description="How our practice sessions work")
    async def guidelines(self, interaction: discord.Interaction) -> None:
        """Show the guidelines privately."""
        await interaction.response.send_message(embed=guidelines_embed(), ephemeral=True)

    @app_commands.command(name="selfcare", description="Permission to leave, and kind offline ideas")
    async def selfcare(self, interaction: discord.Interaction) -> None:
        """Show self-care ideas privately."""
        await interaction.response.send_message(embed=self_care_embed(), ephemeral=True)

    @app_commands.command(name="links", description="Community, coordinators, donations and sharing")
    async def links(self, interaction: discord.Interaction) -> None:
        """Show the community links privately."""
        await interaction.response.send_message(embed=links_embed(self.bot.core.config), ephemeral=True)


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Care(bot))
