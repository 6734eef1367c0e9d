"""Signing up and out: `/signup`, `/signout`, and the one-click Sign up and Leave buttons.

The buttons (`pc:signup:{occurrence}`, `pc:signout:{occurrence}`) sit on `/schedule` and
`/mysessions` listings and keep working on any message after any restart.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.interactions import core_of
from bot.schedule.rules import format_pacific, rule_for, when
from bot.texts import members as texts
from bot.validation import display_safe
from cogs.base import PracticeCog
from cogs.members.common import (
    ChoiceNeeded,
    active_series_choices,
    my_series_choices,
    my_session_choices,
    reminders_sentence,
    upcoming_choices,
)


async def sign_up(interaction: discord.Interaction, occurrence_id: int, *, by_button: bool) -> None:
    """Sign the person up for one session and tell them, kindly, what follows."""
    core = core_of(interaction)
    added = await core.sessions.sign_up(interaction.user.id, occurrence_id, "button" if by_button else "command")
    occurrence = await core.sessions.session(occurrence_id)
    reminders = reminders_sentence(await core.sessions.preferences(interaction.user.id), core.config)
    title = display_safe(occurrence.title)
    start = when(occurrence.start_utc)
    if added:
        first = texts.SIGNED_UP.format(
            title=title, when=start, pacific=format_pacific(occurrence.start_utc), reminders=reminders
        )
    else:
        first = texts.ALREADY_SIGNED_UP.format(title=title, when=start, reminders=reminders)
    await interaction.response.send_message(f"{first}\n{texts.LEAVE_ANY_TIME}", ephemeral=True)


async def sign_out(interaction: discord.Interaction, occurrence_id: int) -> None:
    """Take the person off one session; no questions asked."""
    sessions = core_of(interaction).sessions
    removed = await sessions.sign_out(interaction.user.id, occurrence_id)
    occurrence = await sessions.session(occurrence_id)
    template = texts.SIGNED_OUT if removed else texts.NOT_SIGNED_UP
    await interaction.response.send_message(
        template.format(title=display_safe(occurrence.title), when=when(occurrence.start_utc)), ephemeral=True
    )


async def join_series(interaction: discord.Interaction, series_id: int) -> None:
    """Sign the person up for every session of a series, now and as new ones are scheduled."""
    core = core_of(interaction)
    user_id = interaction.user.id
    added = await core.sessions.sign_up_series(user_id, series_id)
    series, _ = await core.sessions.series_sessions(series_id)
    reminders = reminders_sentence(await core.sessions.preferences(user_id), core.config)
    title = display_safe(series.title)
    if added:
        mine = await core.sessions.my_sessions(user_id)
        count = sum(1 for summary in mine if summary.occurrence.series_id == series_id)
        first = texts.SIGNED_UP_SERIES.format(
            title=title, rule=rule_for(series).describe(), count=count, reminders=reminders
        )
    else:
        first = texts.ALREADY_IN_SERIES.format(title=title, reminders=reminders)
    await interaction.response.send_message(f"{first}\n{texts.LEAVE_ANY_TIME}", ephemeral=True)


async def leave_series(interaction: discord.Interaction, series_id: int) -> None:
    """Take the person off a series and the upcoming sessions it signed them up for."""
    sessions = core_of(interaction).sessions
    removed = await sessions.sign_out_series(interaction.user.id, series_id)
    series, _ = await sessions.series_sessions(series_id)
    template = texts.SIGNED_OUT_SERIES if removed else texts.NOT_IN_SERIES
    await interaction.response.send_message(template.format(title=display_safe(series.title)), ephemeral=True)


async def session_or_series(
    interaction: discord.Interaction,
    session: int | None,
    series: int | None,
    refusal: str,
    *,
    one: Callable[[discord.Interaction, int], Awaitable[None]],
    whole: Callable[[discord.Interaction, int], Awaitable[None]],
) -> None:
    """Act on the one session or the whole series the command names; naming neither or both is refused kindly."""
    if session is not None and series is None:
        await one(interaction, session)
    elif series is not None and session is None:
        await whole(interaction, series)
    else:
        raise ChoiceNeeded(refusal)


class SignUpButton(PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["signup"]):
    """One-click sign-up for one session (`pc:signup:{occurrence}`), on any message, after any restart."""

    def __init__(self, occurrence: int, *, signed_up: bool = False, row: int | None = None) -> None:
        label = (texts.SIGNED_UP_BUTTON if signed_up else texts.SIGN_UP_BUTTON).format(id=occurrence)
        style = discord.ButtonStyle.secondary if signed_up else discord.ButtonStyle.success
        super().__init__(self.button(label, style, occurrence=occurrence), row=row)
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Sign the presser up; pressing again changes nothing."""
        await sign_up(interaction, self.occurrence_id, by_button=True)


class SignOutButton(PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["signout"]):
    """One-click leave for one session (`pc:signout:{occurrence}`)."""

    def __init__(self, occurrence: int, *, row: int | None = None) -> None:
        super().__init__(self.button(texts.SIGN_OUT_BUTTON.format(id=occurrence), occurrence=occurrence), row=row)
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Take the presser off the session."""
        await sign_out(interaction, self.occurrence_id)


class SignUps(PracticeCog):
    """Joining and leaving sessions and series."""

    persistent_items = (SignUpButton, SignOutButton)

    @app_commands.command(name="signup", description="Sign up for a session or a whole series (reminders and news)")
    @app_commands.describe(session="One session (start typing its name or number)", series="Every session of a series")
    @app_commands.autocomplete(session=upcoming_choices, series=active_series_choices)
    @app_commands.guild_only()
    async def signup(
        self, interaction: discord.Interaction, session: int | None = None, series: int | None = None
    ) -> None:
        """Sign up for one session or a series."""
        one = functools.partial(sign_up, by_button=False)
        await session_or_series(interaction, session, series, texts.CHOOSE_SIGNUP, one=one, whole=join_series)

    @app_commands.command(name="signout", description="Leave a session or a whole series; no explanation needed")
    @app_commands.describe(session="One of your sessions", series="One of the series you follow")
    @app_commands.autocomplete(session=my_session_choices, series=my_series_choices)
    @app_commands.guild_only()
    async def signout(
        self, interaction: discord.Interaction, session: int | None = None, series: int | None = None
    ) -> None:
        """Leave one session or a series."""
        await session_or_series(interaction, session, series, texts.CHOOSE_SIGNOUT, one=sign_out, whole=leave_series)
