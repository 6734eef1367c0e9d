"""Small helpers every Discord-facing module shares: who is acting, and which bot received it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.model import Actor

if TYPE_CHECKING:
    from bot.adapters.bot import PracticeCirclesBot


def member_actor(member: discord.Member) -> Actor:
    """A member of the server, with the roles they hold."""
    return Actor.of(member.id, [role.id for role in member.roles])


def actor_of(interaction: discord.Interaction) -> Actor:
    """The person interacting, with the roles they hold in the server (none in a DM)."""
    user = interaction.user
    return member_actor(user) if isinstance(user, discord.Member) else Actor.of(user.id)


def bot_of(interaction: discord.Interaction) -> PracticeCirclesBot:
    """The Practice Circles bot an interaction arrived at."""
    from bot.adapters.bot import PracticeCirclesBot

    bot = interaction.client
    if not isinstance(bot, PracticeCirclesBot):
        raise TypeError("this command runs only in the Practice Circles bot")
    return bot
