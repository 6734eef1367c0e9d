"""What the members' screens share: the words for reminders, and the sessions and series they choose from."""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord import app_commands

from bot.adapters.formatting import series_choices, session_choices
from bot.adapters.interactions import core_of
from bot.config import Config
from bot.errors import PracticeCirclesError
from bot.model import MemberRow
from bot.services.sessions import MAX_LISTING_DAYS
from bot.texts import members as texts


class ChoiceNeeded(PracticeCirclesError):
    """The options given to a command don't say what to act on."""


# --- words ------------------------------------------------------------------------------------


def duration_words(minutes: int) -> str:
    """Minutes in words, largest units first: 1440 -> '1 day', 90 -> '1 hour 30 minutes'."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [
        unit[amount != 1].format(n=amount)
        for amount, unit in ((days, texts.DAYS), (hours, texts.HOURS), (mins, texts.MINUTES))
        if amount
    ]
    return " ".join(parts)


def offsets_words(offsets: Sequence[int]) -> str:
    """Reminder times in words, earliest reminder first: '1 day, 1 hour and 15 minutes'."""
    words = [duration_words(offset) for offset in sorted(offsets, reverse=True)]
    return texts.AND.join([", ".join(words[:-1]), words[-1]]) if len(words) > 1 else "".join(words)


def chosen_offsets(prefs: MemberRow | None, config: Config) -> tuple[int, ...]:
    """The reminder times that apply to a member: their own choice, or the community default."""
    if prefs is None or prefs.reminder_offsets is None:
        return tuple(config.reminders.default_offsets_minutes)
    return prefs.reminder_offsets


def route_words(prefs: MemberRow | None, config: Config) -> str:
    """How reminders reach a member: by DM, or in the session's thread (chosen, or DMs closed)."""
    channel = config.channels.announcements
    if prefs is not None and prefs.dm_closed:
        return texts.ROUTE_DMS_CLOSED.format(channel=channel)
    if prefs is not None and prefs.reminder_channel == "thread":
        return texts.ROUTE_THREAD.format(channel=channel)
    return texts.ROUTE_DM


def reminders_sentence(prefs: MemberRow | None, config: Config) -> str:
    """One sentence on the reminders a member will get for a session they join."""
    offsets = chosen_offsets(prefs, config)
    if not offsets:
        return texts.REMINDERS_NONE
    return texts.REMINDERS_WILL.format(offsets=offsets_words(offsets), route=route_words(prefs, config))


# --- what members choose from (autocomplete) ----------------------------------------------------


async def upcoming_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Upcoming sessions that match what was typed."""
    summaries = await core_of(interaction).sessions.upcoming(MAX_LISTING_DAYS)
    return await session_choices(interaction, [summary.occurrence for summary in summaries], current)


async def my_session_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """The sessions the person is signed up for."""
    summaries = await core_of(interaction).sessions.my_sessions(interaction.user.id)
    return await session_choices(interaction, [summary.occurrence for summary in summaries], current)


async def active_series_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """Active series that match what was typed."""
    return series_choices(await core_of(interaction).sessions.active_series(), current)


async def my_series_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """The series the person follows."""
    return series_choices(await core_of(interaction).sessions.my_series(interaction.user.id), current)
