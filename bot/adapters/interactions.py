"""Small helpers every Discord-facing module shares: who is acting, and the core an interaction reaches."""

from __future__ import annotations

import discord

from bot.core import Core
from bot.model import Actor


def member_actor(member: discord.Member) -> Actor:
    """A member of the server, with the roles they hold."""
    return Actor.of(member.id, [role.id for role in member.roles])


def actor_of(interaction: discord.Interaction) -> Actor:
    """The person interacting, with the roles they hold in the server (none in a DM)."""
    user = interaction.user
    return member_actor(user) if isinstance(user, discord.Member) else Actor.of(user.id)


def core_of(interaction: discord.Interaction) -> Core:
    """The core of the Practice Circles bot an interaction arrived at."""
    core = getattr(interaction.client, "core", None)
    if not isinstance(core, Core):
        raise TypeError("this command runs only in the Practice Circles bot")
    return core
