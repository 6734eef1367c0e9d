"""One server only: what Discord sends from any other guild never reaches the bot, and the bot leaves it.

The bot serves the community's server (`guild.id`). Invited elsewhere, or with its commands left
registered in a server it once served, it would otherwise act on what happens there: a voice join
in another server took the pending unmute meant for the community's server, and a command there
would sign someone up or read the schedule. The gate sits where the gateway's dispatches enter
discord.py (its parser table, filled once per client), so every event and interaction is checked
in this one place, whichever cog listens: anything tagged with another guild's id is dropped
before discord.py reads it. Only the dispatches that tell discord.py which guilds exist pass, so it
can leave them; a person who used a command or button there is told, in one private line, that
this bot serves only its own community.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Final

import discord

from bot import texts

log = logging.getLogger(__name__)

# Dispatches kept from every guild: they only tell discord.py the guild exists or is gone, which it
# needs to leave it, and answer its own member requests (which it waits for at start-up).
_GUILD_BOOKKEEPING: Final = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_MEMBERS_CHUNK"})
# Interaction types answered with a word: application commands, components, modal submissions.
_ANSWERED_INTERACTIONS: Final = frozenset({2, 3, 5})


def confine_to_guild(client: discord.Client, guild_id: int) -> None:
    """Drop every gateway dispatch that belongs to a guild other than `guild_id`, before discord.py parses it."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in _GUILD_BOOKKEEPING:
            parsers[event] = _only_from(client, guild_id, event, parse)


def _only_from(
    client: discord.Client, guild_id: int, event: str, parse: Callable[[Any], None]
) -> Callable[[Any], None]:
    def parse_if_ours(data: Any) -> None:
        other = _guild_id_of(data)
        if other is None or other == guild_id:
            parse(data)
            return
        log.debug("ignored %s from guild %s, which is not the configured one", event, other)
        if event == "INTERACTION_CREATE" and data.get("type") in _ANSWERED_INTERACTIONS:
            interaction: discord.Interaction[Any] = discord.Interaction(data=data, state=client._connection)
            task = asyncio.get_running_loop().create_task(_answer_elsewhere(interaction))
            _answers.add(task)
            task.add_done_callback(_answers.discard)

    return parse_if_ours


# Answers in flight, kept so they are not garbage-collected before they finish.
_answers: set[asyncio.Task[None]] = set()


def _guild_id_of(data: Any) -> int | None:
    """The guild a dispatch is about, if it names one."""
    if not isinstance(data, dict) or data.get("guild_id") is None:
        return None
    try:
        return int(data["guild_id"])
    except (TypeError, ValueError):
        return None


async def _answer_elsewhere(interaction: discord.Interaction[Any]) -> None:
    """Tell the person, privately, that this bot serves one community's server; do nothing else."""
    try:
        await interaction.response.send_message(texts.OTHER_SERVER, ephemeral=True)
    except discord.HTTPException as error:
        log.debug("could not answer an interaction from another server: %s", error)


def guilds_to_leave(client: discord.Client, guild_id: int) -> list[discord.Guild]:
    """Every guild the bot is in but `guild_id`; none while `guild_id` is not among them (saying why).

    A mistyped guild.id must not make the bot walk out of the community's own server: when the
    configured guild is not one the bot is in, it leaves nothing and logs what it found instead.
    """
    others = [guild for guild in client.guilds if guild.id != guild_id]
    if others and client.get_guild(guild_id) is None:
        found = ", ".join(f"{guild.name!r} ({guild.id})" for guild in others)
        log.error(
            "the configured guild.id %d is not a server this bot is in (it is in %s); check guild.id in the "
            "config. The bot leaves no server until it finds its own",
            guild_id,
            found,
        )
        return []
    return others


async def leave_guild(guild: discord.Guild, guild_id: int) -> None:
    """Leave one server the bot was not configured for, and log it."""
    try:
        await guild.leave()
    except discord.HTTPException as error:
        log.error("could not leave the server %r (%d), not the configured one: %s", guild.name, guild.id, error)
        return
    log.warning(
        "left the server %r (%d): this bot serves only the server configured in guild.id (%d)",
        guild.name,
        guild.id,
        guild_id,
    )
