"""The listings: `/schedule` and `/mysessions`, a page at a time, with Earlier and Later buttons.

Each session on a page has its Sign up or Leave button (cogs.members.signups); the page buttons
(`pc:schedule:{days}:{page}`, `pc:mine:{page}`) read the listing afresh when pressed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Self

import discord
from discord import app_commands

from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.interactions import core_of
from bot.adapters.limits import BUTTONS_PER_ROW
from bot.model import SeriesRow
from bot.schedule.rules import discord_timestamp, format_pacific, when
from bot.services.sessions import MAX_LISTING_DAYS, SessionSummary
from bot.texts import members as texts
from bot.validation import safe_cut
from cogs.base import PracticeCog
from cogs.members.signups import SignOutButton, SignUpButton

# Sessions per listing page: ten fields and two rows of buttons stay well inside Discord's limits
# (25 fields and 6000 characters per embed; 5 rows of 5 buttons per message).
PAGE_SIZE = 10
# Caps well inside Discord's 256 (field name) and 1024 (field value), so ten fields fit in 6000.
MAX_FIELD_NAME = 120
MAX_FIELD_VALUE = 420
MAX_PRACTICE = 80


def page_bounds(total: int, page: int) -> tuple[int, int, int, int]:
    """Clamp a page number; return it, the page count, and the slice [start, end) it shows."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    start = page * PAGE_SIZE
    return page, pages, start, min(total, start + PAGE_SIZE)


def session_field(summary: SessionSummary, *, yours: bool, note: str | None = None) -> tuple[str, str]:
    """One session as an embed field: when (own zone and US Pacific), teacher, practice, sign-ups."""
    occurrence = summary.occurrence
    name = texts.SESSION_NAME.format(id=occurrence.id, title="")
    name += safe_cut(occurrence.title, MAX_FIELD_NAME - len(name))
    value = texts.SESSION_VALUE.format(
        when=when(occurrence.start_utc),
        relative=discord_timestamp(occurrence.start_utc, "R"),
        pacific=format_pacific(occurrence.start_utc),
        # A mention inside an embed never pings; it shows the teacher's name.
        teacher=texts.NO_TEACHER if summary.teacher_id is None else texts.TEACHER.format(id=summary.teacher_id),
        practice=texts.PRACTICE_OPEN if occurrence.practice is None else safe_cut(occurrence.practice, MAX_PRACTICE),
        channel=occurrence.channel_id,
        signups=texts.SIGNUP_COUNT.format(count=summary.signups),
    )
    if yours:
        value += texts.SESSION_YOURS
    if note:
        # Daylight saving moving the session on the member's clock (they gave a time zone).
        value = value[: MAX_FIELD_VALUE - len(texts.MINE_CLOCK_NOTE.format(note=note))]
        value += texts.MINE_CLOCK_NOTE.format(note=note)
    return name, value[:MAX_FIELD_VALUE]


def schedule_page(
    summaries: Sequence[SessionSummary], *, days: int, page: int, mine: set[int]
) -> tuple[discord.Embed, discord.ui.View]:
    """One page of /schedule: a field and a Sign up button per session, and Earlier/Later buttons."""
    page, pages, start, end = page_bounds(len(summaries), page)
    embed = discord.Embed(title=texts.SCHEDULE_TITLE, description=texts.SCHEDULE_INTRO)
    view = discord.ui.View(timeout=None)
    for index, summary in enumerate(summaries[start:end]):
        occurrence_id = summary.occurrence.id
        name, value = session_field(summary, yours=occurrence_id in mine)
        embed.add_field(name=name, value=value, inline=False)
        view.add_item(SignUpButton(occurrence_id, signed_up=occurrence_id in mine, row=index // BUTTONS_PER_ROW))
    footer = texts.SCHEDULE_FOOTER.format(first=start + 1, last=end, total=len(summaries), days=days)
    if page + 1 < pages:
        footer += texts.SCHEDULE_FOOTER_MORE
    embed.set_footer(text=footer)
    add_page_buttons(view, page, pages, lambda to: SchedulePageButton(days, to))
    return embed, view


def mine_page(
    summaries: Sequence[SessionSummary],
    series: Sequence[SeriesRow],
    *,
    page: int,
    notes: Mapping[int, str] | None = None,
) -> tuple[discord.Embed, discord.ui.View]:
    """One page of /mysessions: the member's sessions, each with a Leave button, and the series they follow."""
    page, pages, start, end = page_bounds(len(summaries), page)
    description = ""
    if series:
        names = ", ".join(f"**{safe_cut(row.title, MAX_PRACTICE)}**" for row in series)
        description = texts.MINE_SERIES.format(names=names)
    embed = discord.Embed(title=texts.MINE_TITLE, description=description or None)
    view = discord.ui.View(timeout=None)
    for index, summary in enumerate(summaries[start:end]):
        name, value = session_field(summary, yours=False, note=(notes or {}).get(summary.occurrence.id))
        embed.add_field(name=name, value=value, inline=False)
        view.add_item(SignOutButton(summary.occurrence.id, row=index // BUTTONS_PER_ROW))
    embed.set_footer(text=texts.MINE_FOOTER.format(first=start + 1, last=end, total=len(summaries)))
    add_page_buttons(view, page, pages, MinePageButton)
    return embed, view


def add_page_buttons(
    view: discord.ui.View, page: int, pages: int, make: Callable[[int], SchedulePageButton | MinePageButton]
) -> None:
    """Earlier / Later buttons on the row after the listing's buttons (none when one page holds all)."""
    row = math.ceil(PAGE_SIZE / BUTTONS_PER_ROW)
    if page > 0:
        view.add_item(make(page - 1).with_label(texts.EARLIER_BUTTON, row))
    if page + 1 < pages:
        view.add_item(make(page + 1).with_label(texts.LATER_BUTTON, row))


async def show_listing(
    interaction: discord.Interaction,
    empty: str,
    page: tuple[discord.Embed, discord.ui.View] | None,
    *,
    edit: bool,
) -> None:
    """Send a listing's page (or the words for an empty listing), or put it in place of the page pressed."""
    if page is None:
        if edit:
            await interaction.response.edit_message(content=empty, embed=None, view=None)
        else:
            await interaction.response.send_message(empty, ephemeral=True)
        return
    embed, view = page
    if edit:
        await interaction.response.edit_message(embed=embed, view=view)
    else:
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
    # Every item is a persistent one, answered by its registered pattern: discord.py need not keep the
    # view (it would, for 15 minutes per ephemeral listing, and a busy hour's listings filled the heap).
    view.stop()


async def show_schedule(interaction: discord.Interaction, days: int, page: int, *, edit: bool) -> None:
    """Show (or turn to) a page of the schedule."""
    sessions = core_of(interaction).sessions
    summaries = await sessions.upcoming(days)
    shown = None
    if summaries:
        _, _, start, end = page_bounds(len(summaries), page)
        on_page = [summary.occurrence.id for summary in summaries[start:end]]
        mine = await sessions.signed_up_among(interaction.user.id, on_page)
        shown = schedule_page(summaries, days=days, page=page, mine=mine)
    await show_listing(interaction, texts.SCHEDULE_EMPTY.format(days=days), shown, edit=edit)


async def show_mine(interaction: discord.Interaction, page: int, *, edit: bool) -> None:
    """Show (or turn to) a page of the person's own sessions."""
    sessions = core_of(interaction).sessions
    summaries = await sessions.my_sessions(interaction.user.id)
    series = await sessions.my_series(interaction.user.id)
    shown = None
    if summaries:
        notes = await core_of(interaction).clocks.notes_for(
            interaction.user.id, [summary.occurrence for summary in summaries]
        )
        shown = mine_page(summaries, series, page=page, notes=notes)
    await show_listing(interaction, texts.MINE_EMPTY, shown, edit=edit)


class PageButton:
    """What the Earlier and Later buttons share: a label and row set when the page is drawn."""

    item: discord.ui.Button[discord.ui.View]
    row: int | None

    def with_label(self, label: str, row: int) -> Self:
        """Set the label and row (Earlier / Later)."""
        self.item.label = label
        self.row = row
        return self


class SchedulePageButton(
    PageButton, PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["schedule-page"]
):
    """Turns /schedule to another page (`pc:schedule:{days}:{page}`), read afresh when pressed."""

    def __init__(self, days: int, page: int) -> None:
        super().__init__(self.button(str(page + 1), days=days, page=page))
        self.days = days
        self.page = page

    @classmethod
    async def rebuild(cls, interaction: discord.Interaction, **numbers: int) -> Self:
        """The button for a pressed id, its days kept within what a listing may show."""
        return cls(min(max(numbers["days"], 1), MAX_LISTING_DAYS), numbers["page"])

    async def run(self, interaction: discord.Interaction) -> None:
        """Show that page in place of this one."""
        await show_schedule(interaction, self.days, self.page, edit=True)


class MinePageButton(PageButton, PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["mine-page"]):
    """Turns /mysessions to another page (`pc:mine:{page}`)."""

    def __init__(self, page: int) -> None:
        super().__init__(self.button(str(page + 1), page=page))
        self.page = page

    async def run(self, interaction: discord.Interaction) -> None:
        """Show that page in place of this one."""
        await show_mine(interaction, self.page, edit=True)


class Listings(PracticeCog):
    """The schedule and the member's own sessions."""

    persistent_items = (SchedulePageButton, MinePageButton)

    @app_commands.command(name="schedule", description="Upcoming practice sessions, in your own time, to sign up for")
    @app_commands.describe(days="How many days ahead to look (1-28; 7 if you leave it out)")
    @app_commands.guild_only()
    async def schedule(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, MAX_LISTING_DAYS] = 7
    ) -> None:
        """List upcoming sessions with Sign up buttons."""
        await show_schedule(interaction, days, 0, edit=False)

    @app_commands.command(name="mysessions", description="The sessions you signed up for, each with a Leave button")
    @app_commands.guild_only()
    async def mysessions(self, interaction: discord.Interaction) -> None:
        """List my sessions."""
        await show_mine(interaction, 0, edit=False)
