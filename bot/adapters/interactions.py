"""Small helpers every Discord-facing module shares: who is acting, and the core an interaction reaches."""

from __future__ import annotations

import discord

from bot.core import Core
from bot.model import Actor


def member_actor(member: discord.Member) -> Actor:
    """A member of the server, with the roles they hold."""
    return Actor.of(member.id, [role.id for role in member.roles])


def actor_of(interaction: discord.Interaction) -> Actor:
    """The person interacting, with the roles they hold in the community's server.

    An interaction in a DM carries a user, not a member: the roles are looked up by user id in the
    configured guild, and someone not in it has none, so the core refuses what needs a role.
    """
    user = interaction.user
    if isinstance(user, discord.Member):
        return member_actor(user)
    guild = interaction.client.get_guild(core_of(interaction).config.guild.id)
    member = None if guild is None else guild.get_member(user.id)
    return member_actor(member) if member is not None else Actor.of(user.id)


def core_of(interaction: discord.Interaction) -> Core:
    """The core of the Practice Circles bot an interaction arrived at."""
    core = getattr(interaction.client, "core", None)
    if not isinstance(core, Core):
        raise TypeError("this command runs only in the Practice Circles bot")
    return core
