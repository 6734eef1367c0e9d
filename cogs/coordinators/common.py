"""What the coordinators' cogs share: the role check, who sees the commands, replies fitted to Discord."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import discord
from discord import app_commands

from bot.adapters.formatting import fit_lines, series_choices, session_choices
from bot.adapters.interactions import actor_of, core_of
from bot.adapters.limits import EMBED_DESCRIPTION_CHARS
from bot.model import Actor
from bot.schedule.rules import dst_note
from bot.services.permissions import require_coordinator
from bot.services.sessions import MAX_DURATION, MIN_DURATION
from bot.texts import coordinators as texts
from bot.validation import display_safe

# Who may see these commands in Discord's picker, unless a server admin changes it. A convenience only.
MANAGE_SERVER: Final = discord.Permissions(manage_guild=True)
# How many weeks a series may skip between sessions, and a report may look back.
MAX_WEEKS: Final = 52
DST_NOTES_SHOWN: Final = 3

CommandT = TypeVar("CommandT")

SessionChannel = discord.VoiceChannel | discord.StageChannel
Duration = app_commands.Range[int, MIN_DURATION, MAX_DURATION]
Weeks = app_commands.Range[int, 1, MAX_WEEKS]


def coordinators_group(name: str, description: str) -> app_commands.Group:
    """A command group for coordinators, in the server only, shown to those who may manage it."""
    return app_commands.Group(name=name, description=description, guild_only=True, default_permissions=MANAGE_SERVER)


def coordinator(interaction: discord.Interaction) -> Actor:
    """The person interacting, if they hold the coordinator role (the core checks again)."""
    actor = actor_of(interaction)
    require_coordinator(actor, core_of(interaction).config.roles)
    return actor


async def deferred_coordinator(interaction: discord.Interaction) -> Actor:
    """The coordinator, with Discord told a private answer is coming: what follows can outlast its 3 s."""
    actor = coordinator(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    return actor


def practice_part(practice: str | None) -> str:
    """' · Practice: X' when a practice is set."""
    return texts.PRACTICE_PART.format(practice=display_safe(practice)) if practice else ""


def fitted(lines: Sequence[str], limit: int = EMBED_DESCRIPTION_CHARS) -> str:
    """As many lines as fit in `limit` characters, then "…and N more"."""
    return fit_lines(lines, texts.MORE_LINES, limit=limit)[0]


def dst_lines(walls: Sequence[dt.datetime]) -> list[str]:
    """Notes for Pacific wall-clock times that fall in a daylight-saving gap or overlap."""
    notes = list(dict.fromkeys(note for note in map(dst_note, walls) if note is not None))
    if not notes:
        return []
    lines = [texts.DST_HEADING, *(texts.DST_LINE.format(note=note) for note in notes[:DST_NOTES_SHOWN])]
    if len(notes) > DST_NOTES_SHOWN:
        lines.append(texts.DST_MORE.format(count=len(notes) - DST_NOTES_SHOWN))
    return lines


# --- what coordinators choose from (autocomplete) ----------------------------------------------


def with_series(**others: str) -> Callable[[CommandT], CommandT]:
    """The `series` option, found by typing (any series), with the command's other options described."""
    describe = app_commands.describe(series="The series (start typing its name)", **others)
    choices = app_commands.autocomplete(series=any_series_choices)
    return lambda command: describe(choices(command))


def with_session(**others: str) -> Callable[[CommandT], CommandT]:
    """The `session` option, found by typing (sessions not yet over), with the command's other options described."""
    describe = app_commands.describe(session="The session (start typing its name or date)", **others)
    choices = app_commands.autocomplete(session=changeable_session_choices)
    return lambda command: describe(choices(command))


async def any_series_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Every series that matches what was typed, numbered; active ones first."""
    return series_choices(await core_of(interaction).sessions.series_by_status(), current, numbered=True)


async def changeable_session_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Sessions not yet over (one under way included) that match what was typed."""
    return await session_choices(interaction, await core_of(interaction).sessions.changeable_sessions(), current)
