"""Members: the schedule, signing up and out, reminder and time-zone settings, calendars, feedback.

Commands: `/schedule`, `/signup`, `/signout`, `/mysessions`, `/settings reminders`,
`/settings timezone`, `/calendar`, `/feedback`. Every reply is private (ephemeral) and every
error goes to the bot's one error handler. Buttons and selects are DynamicItems with stable
custom ids, registered at start-up, so they keep working on any message after any restart:

- `pc:signup:<occurrence>` and `pc:signout:<occurrence>`: one click to join or leave a session;
- `pc:schedule:<days>:<page>` and `pc:mine:<page>`: turn the pages of a listing;
- `pc:reminders:offsets`, `pc:reminders:channel`, `pc:reminders:default`: reminder settings.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.error_reply import reply_to_error
from bot.adapters.interactions import core_of
from bot.config import Config
from bot.errors import PracticeCirclesError
from bot.model import UNSET, WEEKDAY_CODES, MemberRow, OccurrenceRow, ReminderChannel, SeriesRow, Unset
from bot.schedule.calendar import series_calendar, sessions_calendar
from bot.schedule.rules import WEEKDAY_NAMES, discord_timestamp, format_pacific, rule_for
from bot.schedule.timezones import suggest_timezones
from bot.services.sessions import MAX_FEEDBACK, MAX_LISTING_DAYS, SessionSummary
from bot.texts import members as texts
from bot.validation import display_safe

# Sessions per listing page: ten fields and two rows of buttons stay well inside Discord's limits
# (25 fields and 6000 characters per embed; 5 rows of 5 buttons per message).
PAGE_SIZE = 10
BUTTONS_PER_ROW = 5
# Caps well inside Discord's 256 (field name) and 1024 (field value), so ten fields fit in 6000.
MAX_FIELD_NAME = 120
MAX_FIELD_VALUE = 420
MAX_PRACTICE = 80
# Discord: 25 autocomplete choices or select options, each label at most 100 characters.
MAX_CHOICES = 25
MAX_LABEL = 100

SIGNUP_TEMPLATE = r"pc:signup:(?P<occurrence>[0-9]+)"
SIGNOUT_TEMPLATE = r"pc:signout:(?P<occurrence>[0-9]+)"
SCHEDULE_PAGE_TEMPLATE = r"pc:schedule:(?P<days>[0-9]+):(?P<page>[0-9]+)"
MINE_PAGE_TEMPLATE = r"pc:mine:(?P<page>[0-9]+)"
OFFSETS_ID = "pc:reminders:offsets"
CHANNEL_ID = "pc:reminders:channel"
DEFAULT_ID = "pc:reminders:default"


class ChoiceNeeded(PracticeCirclesError):
    """The options given to a command don't say what to act on."""


# --- words ------------------------------------------------------------------------------------


def safe_cut(raw: str, limit: int) -> str:
    """Typed text made inert (display_safe) and cut to `limit` characters without splitting an escape."""
    safe = display_safe(raw)
    if len(safe) <= limit:
        return safe
    keep = min(len(raw), limit)
    while keep > 0 and len(display_safe(raw[:keep])) > limit - 1:
        keep -= 1
    return display_safe(raw[:keep]) + "…"


def plain_cut(text: str, limit: int) -> str:
    """Plain text (choice names, option labels) cut to `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def when(occurrence: OccurrenceRow) -> str:
    """A session's start as every reader sees it in their own time zone."""
    return discord_timestamp(occurrence.start_utc, "F")


def session_label(occurrence: OccurrenceRow, zone: str | None) -> str:
    """Plain text naming a session: number, title, US Pacific time, and the member's own time if known."""
    moment = format_pacific(occurrence.start_utc)
    if zone is not None:
        local = occurrence.start_utc.astimezone(ZoneInfo(zone))
        moment += " = " + texts.SESSION_CHOICE_LOCAL.format(time=f"{WEEKDAY_NAMES[local.weekday()][:3]} {local:%H:%M}")
    bare = texts.SESSION_CHOICE.format(id=occurrence.id, title="", when=moment)
    title = plain_cut(" ".join(occurrence.title.split()), MAX_LABEL - len(bare))
    return plain_cut(texts.SESSION_CHOICE.format(id=occurrence.id, title=title, when=moment), MAX_LABEL)


def series_label(series: SeriesRow) -> str:
    """Plain text naming a series: title, weekdays and US Pacific time."""
    days = ", ".join(WEEKDAY_NAMES[WEEKDAY_CODES.index(code)][:3] for code in series.weekdays)
    bare = texts.SERIES_CHOICE.format(title="", days=days, time=f"{series.local_time:%H:%M}")
    title = plain_cut(" ".join(series.title.split()), MAX_LABEL - len(bare))
    return plain_cut(texts.SERIES_CHOICE.format(title=title, days=days, time=f"{series.local_time:%H:%M}"), MAX_LABEL)


def matches(typed: str, number: int, title: str) -> bool:
    """Whether what was typed in an autocomplete names this number or appears in this title."""
    wanted = str(typed).strip().lstrip("#").casefold()
    return not wanted or wanted in str(number) or wanted in title.casefold()


def page_bounds(total: int, page: int) -> tuple[int, int, int, int]:
    """Clamp a page number; return it, the page count, and the slice [start, end) it shows."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    start = page * PAGE_SIZE
    return page, pages, start, min(total, start + PAGE_SIZE)


# --- listings ----------------------------------------------------------------------------------


def session_field(summary: SessionSummary, *, yours: bool) -> tuple[str, str]:
    """One session as an embed field: when (own zone and US Pacific), teacher, practice, sign-ups."""
    occurrence = summary.occurrence
    name = texts.SESSION_NAME.format(id=occurrence.id, title="")
    name += safe_cut(occurrence.title, MAX_FIELD_NAME - len(name))
    value = texts.SESSION_VALUE.format(
        when=when(occurrence),
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
    summaries: Sequence[SessionSummary], series: Sequence[SeriesRow], *, page: int
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
        name, value = session_field(summary, yours=False)
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


def settings_embed(prefs: MemberRow | None, config: Config) -> discord.Embed:
    """What a member has chosen: reminder times, how they arrive, time zone."""
    offsets = chosen_offsets(prefs, config)
    if offsets:
        chosen = texts.SETTINGS_OFFSETS.format(offsets=offsets_words(offsets))
        if prefs is None or prefs.reminder_offsets is None:
            chosen += texts.SETTINGS_COMMUNITY_DEFAULT
    else:
        chosen = texts.SETTINGS_NO_REMINDERS
    zone = prefs.timezone if prefs is not None else None
    lines = [
        texts.SETTINGS_REMINDERS.format(offsets=chosen),
        texts.SETTINGS_ROUTE.format(route=route_words(prefs, config)),
        texts.SETTINGS_TIMEZONE.format(zone=texts.SETTINGS_NO_TIMEZONE if zone is None else zone),
        "",
        texts.SETTINGS_HOW,
    ]
    return discord.Embed(title=texts.SETTINGS_TITLE, description="\n".join(lines))


def settings_view(prefs: MemberRow | None, config: Config) -> discord.ui.View:
    """Selects for reminder times and channel, and a button back to the community default."""
    view = discord.ui.View(timeout=None)
    view.add_item(ReminderOffsetsSelect(config.reminders.allowed_offsets_minutes, chosen_offsets(prefs, config)))
    current: ReminderChannel | None = "dm" if prefs is None else prefs.reminder_channel
    if prefs is not None and prefs.dm_closed:
        current = None  # nothing preselected, so choosing "By direct message" again reaches the bot
    view.add_item(ReminderChannelSelect(current))
    view.add_item(ReminderDefaultButton())
    return view


# --- what a click or a command does ---------------------------------------------------------------


async def sign_up(interaction: discord.Interaction, occurrence_id: int, *, by_button: bool) -> None:
    """Sign the person up for one session and tell them, kindly, what follows."""
    core = core_of(interaction)
    added = await core.sessions.sign_up(interaction.user.id, occurrence_id, "button" if by_button else "command")
    occurrence = await core.sessions.session(occurrence_id)
    reminders = reminders_sentence(await core.sessions.preferences(interaction.user.id), core.config)
    title = display_safe(occurrence.title)
    if added:
        first = texts.SIGNED_UP.format(
            title=title, when=when(occurrence), pacific=format_pacific(occurrence.start_utc), reminders=reminders
        )
    else:
        first = texts.ALREADY_SIGNED_UP.format(title=title, when=when(occurrence), reminders=reminders)
    await interaction.response.send_message(f"{first}\n{texts.LEAVE_ANY_TIME}", ephemeral=True)


async def sign_out(interaction: discord.Interaction, occurrence_id: int) -> None:
    """Take the person off one session; no questions asked."""
    core = core_of(interaction)
    removed = await core.sessions.sign_out(interaction.user.id, occurrence_id)
    occurrence = await core.sessions.session(occurrence_id)
    template = texts.SIGNED_OUT if removed else texts.NOT_SIGNED_UP
    await interaction.response.send_message(
        template.format(title=display_safe(occurrence.title), when=when(occurrence)), ephemeral=True
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


async def show_schedule(interaction: discord.Interaction, days: int, page: int, *, edit: bool) -> None:
    """Show (or turn to) a page of the schedule."""
    sessions = core_of(interaction).sessions
    summaries = await sessions.upcoming(days)
    if not summaries:
        message = texts.SCHEDULE_EMPTY.format(days=days)
        if edit:
            await interaction.response.edit_message(content=message, embed=None, view=None)
        else:
            await interaction.response.send_message(message, ephemeral=True)
        return
    mine = {summary.occurrence.id for summary in await sessions.my_sessions(interaction.user.id)}
    embed, view = schedule_page(summaries, days=days, page=page, mine=mine)
    if edit:
        await interaction.response.edit_message(embed=embed, view=view)
    else:
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


async def show_mine(interaction: discord.Interaction, page: int, *, edit: bool) -> None:
    """Show (or turn to) a page of the person's own sessions."""
    sessions = core_of(interaction).sessions
    summaries = await sessions.my_sessions(interaction.user.id)
    series = await sessions.my_series(interaction.user.id)
    if not summaries:
        message = texts.MINE_EMPTY
        if edit:
            await interaction.response.edit_message(content=message, embed=None, view=None)
        else:
            await interaction.response.send_message(message, ephemeral=True)
        return
    embed, view = mine_page(summaries, series, page=page)
    if edit:
        await interaction.response.edit_message(embed=embed, view=view)
    else:
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


async def save_reminders(
    interaction: discord.Interaction,
    *,
    offsets: Sequence[int] | None | Unset = UNSET,
    channel: ReminderChannel | Unset = UNSET,
) -> None:
    """Change one reminder setting (the other stays as it is), then show the settings again."""
    core = core_of(interaction)
    user_id = interaction.user.id
    prefs = await core.sessions.preferences(user_id)
    if isinstance(offsets, Unset):
        offsets = None if prefs is None else prefs.reminder_offsets
    retry_dms = channel == "dm"
    if isinstance(channel, Unset):
        channel = "dm" if prefs is None else prefs.reminder_channel
    await core.sessions.set_reminders(user_id, offsets, channel, retry_dms=retry_dms)
    prefs = await core.sessions.preferences(user_id)
    await interaction.response.edit_message(
        content=texts.SETTINGS_SAVED, embed=settings_embed(prefs, core.config), view=settings_view(prefs, core.config)
    )


class Answered:
    """A component whose errors become replies through the bot's one error handler."""

    # discord.py only logs what a DynamicItem's callback raises, so each callback runs through `answer`.

    async def answer(self, interaction: discord.Interaction, work: Awaitable[None]) -> None:
        """Run a click's work; any error goes to `on_error`."""
        try:
            await work
        except Exception as error:
            await self.on_error(interaction, error)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Errors go to the bot's one error handler."""
        await reply_to_error(interaction, error)


# --- persistent buttons and selects ---------------------------------------------------------------


class SignUpButton(Answered, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SIGNUP_TEMPLATE):
    """One-click sign-up for one session (`pc:signup:<occurrence>`), on any message, after any restart."""

    def __init__(self, occurrence_id: int, *, signed_up: bool = False, row: int | None = None) -> None:
        label = (texts.SIGNED_UP_BUTTON if signed_up else texts.SIGN_UP_BUTTON).format(id=occurrence_id)
        style = discord.ButtonStyle.secondary if signed_up else discord.ButtonStyle.success
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"pc:signup:{occurrence_id}"), row=row)
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SignUpButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Sign the presser up; pressing again changes nothing."""
        await self.answer(interaction, sign_up(interaction, self.occurrence_id, by_button=True))


class SignOutButton(Answered, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SIGNOUT_TEMPLATE):
    """One-click leave for one session (`pc:signout:<occurrence>`)."""

    def __init__(self, occurrence_id: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.SIGN_OUT_BUTTON.format(id=occurrence_id),
                style=discord.ButtonStyle.secondary,
                custom_id=f"pc:signout:{occurrence_id}",
            ),
            row=row,
        )
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SignOutButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Take the presser off the session."""
        await self.answer(interaction, sign_out(interaction, self.occurrence_id))


class SchedulePageButton(
    Answered, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SCHEDULE_PAGE_TEMPLATE
):
    """Turns /schedule to another page (`pc:schedule:<days>:<page>`), read afresh when pressed."""

    def __init__(self, days: int, page: int) -> None:
        super().__init__(discord.ui.Button(label=str(page + 1), custom_id=f"pc:schedule:{days}:{page}"))
        self.days = days
        self.page = page

    def with_label(self, label: str, row: int) -> SchedulePageButton:
        """Set the label and row (Earlier / Later)."""
        self.item.label = label
        self.row = row
        return self

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SchedulePageButton:
        """Rebuild the button from a pressed custom id."""
        return cls(min(max(int(match["days"]), 1), MAX_LISTING_DAYS), int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show that page in place of this one."""
        await self.answer(interaction, show_schedule(interaction, self.days, self.page, edit=True))


class MinePageButton(Answered, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=MINE_PAGE_TEMPLATE):
    """Turns /mysessions to another page (`pc:mine:<page>`)."""

    def __init__(self, page: int) -> None:
        super().__init__(discord.ui.Button(label=str(page + 1), custom_id=f"pc:mine:{page}"))
        self.page = page

    def with_label(self, label: str, row: int) -> MinePageButton:
        """Set the label and row (Earlier / Later)."""
        self.item.label = label
        self.row = row
        return self

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MinePageButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["page"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show that page in place of this one."""
        await self.answer(interaction, show_mine(interaction, self.page, edit=True))


class ReminderOffsetsSelect(Answered, discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=OFFSETS_ID):
    """Choose any of the allowed reminder times, or none (`pc:reminders:offsets`)."""

    def __init__(self, allowed: Sequence[int] = (), chosen: Sequence[int] = ()) -> None:
        options = [
            discord.SelectOption(
                label=texts.OFFSET_OPTION.format(text=duration_words(offset)),
                value=str(offset),
                default=offset in chosen,
            )
            for offset in sorted(allowed, reverse=True)
        ]
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=OFFSETS_ID,
            placeholder=texts.OFFSETS_PLACEHOLDER,
            min_values=0,
            max_values=max(1, len(options)),
            options=options or [discord.SelectOption(label="-", value="0")],
        )
        super().__init__(select, row=0)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReminderOffsetsSelect:
        """Rebuild the select from a used custom id (the chosen values arrive with the interaction)."""
        return cls(core_of(interaction).config.reminders.allowed_offsets_minutes)

    async def callback(self, interaction: discord.Interaction) -> None:
        """Save the chosen reminder times (none chosen: no reminders)."""
        offsets = [int(value) for value in self.item.values]
        await self.answer(interaction, save_reminders(interaction, offsets=offsets))


class ReminderChannelSelect(Answered, discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]], template=CHANNEL_ID):
    """Choose direct messages or the session's reminder thread (`pc:reminders:channel`)."""

    def __init__(self, current: ReminderChannel | None = None) -> None:
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=CHANNEL_ID,
            placeholder=texts.CHANNEL_PLACEHOLDER,
            options=[
                discord.SelectOption(label=texts.CHANNEL_DM, value="dm", default=current == "dm"),
                discord.SelectOption(label=texts.CHANNEL_THREAD, value="thread", default=current == "thread"),
            ],
        )
        super().__init__(select, row=1)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReminderChannelSelect:
        """Rebuild the select from a used custom id."""
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        """Save how reminders should arrive."""
        channel: ReminderChannel = "thread" if self.item.values == ["thread"] else "dm"
        await self.answer(interaction, save_reminders(interaction, channel=channel))


class ReminderDefaultButton(Answered, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=DEFAULT_ID):
    """Go back to the community's default reminder times (`pc:reminders:default`)."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.USE_DEFAULT_BUTTON, style=discord.ButtonStyle.secondary, custom_id=DEFAULT_ID
            ),
            row=2,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReminderDefaultButton:
        """Rebuild the button from a pressed custom id."""
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        """Forget the member's own reminder times."""
        await self.answer(interaction, save_reminders(interaction, offsets=None))


DYNAMIC_ITEMS = (
    SignUpButton,
    SignOutButton,
    SchedulePageButton,
    MinePageButton,
    ReminderOffsetsSelect,
    ReminderChannelSelect,
    ReminderDefaultButton,
)


# --- feedback -------------------------------------------------------------------------------------


class FeedbackModal(discord.ui.Modal):
    """Free text for the coordinators, optionally about one recent session."""

    def __init__(self, custom_id: str, recent: Sequence[OccurrenceRow], zone: str | None) -> None:
        super().__init__(title=texts.FEEDBACK_TITLE, custom_id=custom_id, timeout=30 * 60)
        self.text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            custom_id="text",
            placeholder=texts.FEEDBACK_PLACEHOLDER,
            min_length=1,
            max_length=MAX_FEEDBACK,
        )
        self.add_item(
            discord.ui.Label(text=texts.FEEDBACK_LABEL, description=texts.FEEDBACK_DESCRIPTION, component=self.text)
        )
        self.session: discord.ui.Select[FeedbackModal] | None = None
        if recent:
            self.session = discord.ui.Select(
                custom_id="session",
                placeholder=texts.FEEDBACK_SESSION_PLACEHOLDER,
                min_values=0,
                max_values=1,
                required=False,
                options=[
                    discord.SelectOption(label=session_label(row, zone), value=str(row.id))
                    for row in recent[:MAX_CHOICES]
                ],
            )
            self.add_item(discord.ui.Label(text=texts.FEEDBACK_SESSION_LABEL, component=self.session))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the feedback (the core passes it to the coordinators) and thank the member."""
        chosen = self.session.values if self.session is not None else []
        # Posting to the coordinators' channel can outlast the 3 s Discord allows for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await core_of(interaction).sessions.add_feedback(
            interaction.user.id, self.text.value, int(chosen[0]) if chosen else None
        )
        await interaction.followup.send(texts.FEEDBACK_THANKS, ephemeral=True)

    # discord.py types Modal.on_error with BaseView's extra `item` argument, which a modal never gets.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        """Errors go to the bot's one error handler."""
        await reply_to_error(interaction, error)


# --- the cog --------------------------------------------------------------------------------------


class Members(commands.Cog):
    """Commands for everyone in the community."""

    settings = app_commands.Group(name="settings", description="Your reminders and time zone", guild_only=True)

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Answer sign-up, leave, page and settings components on any message, also after a restart."""
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        """Stop answering them."""
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    async def _zone(self, user_id: int) -> str | None:
        prefs = await self.bot.core.sessions.preferences(user_id)
        return None if prefs is None else prefs.timezone

    # --- autocomplete -----------------------------------------------------------------------------

    async def upcoming_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions whose number or title matches what was typed."""
        summaries = await self.bot.core.sessions.upcoming(MAX_LISTING_DAYS)
        return await self._session_choices(interaction, [s.occurrence for s in summaries], current)

    async def my_session_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """The sessions the person is signed up for."""
        summaries = await self.bot.core.sessions.my_sessions(interaction.user.id)
        return await self._session_choices(interaction, [s.occurrence for s in summaries], current)

    async def _session_choices(
        self, interaction: discord.Interaction, occurrences: Sequence[OccurrenceRow], current: str
    ) -> list[app_commands.Choice[int]]:
        zone = await self._zone(interaction.user.id)
        picked = [row for row in occurrences if matches(current, row.id, row.title)][:MAX_CHOICES]
        return [app_commands.Choice(name=session_label(row, zone), value=row.id) for row in picked]

    async def active_series_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        """Active series whose number or title matches what was typed."""
        return series_choices(await self.bot.core.sessions.active_series(), current)

    async def my_series_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """The series the person follows."""
        return series_choices(await self.bot.core.sessions.my_series(interaction.user.id), current)

    async def timezone_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Time-zone names (IANA), found by place or city."""
        return [app_commands.Choice(name=name, value=name) for name in suggest_timezones(str(current), MAX_CHOICES)]

    # --- commands ---------------------------------------------------------------------------------

    @app_commands.command(name="schedule", description="Upcoming practice sessions, in your own time, to sign up for")
    @app_commands.describe(days="How many days ahead to look (1-28; 7 if you leave it out)")
    @app_commands.guild_only()
    async def schedule(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, MAX_LISTING_DAYS] = 7
    ) -> None:
        """List upcoming sessions with Sign up buttons."""
        await show_schedule(interaction, days, 0, edit=False)

    @app_commands.command(name="signup", description="Sign up for a session or a whole series (reminders and news)")
    @app_commands.describe(session="One session (start typing its name or number)", series="Every session of a series")
    @app_commands.autocomplete(session=upcoming_choices, series=active_series_choices)
    @app_commands.guild_only()
    async def signup(
        self, interaction: discord.Interaction, session: int | None = None, series: int | None = None
    ) -> None:
        """Sign up for one session or a series."""
        if session is not None and series is None:
            await sign_up(interaction, session, by_button=False)
        elif series is not None and session is None:
            await join_series(interaction, series)
        else:
            raise ChoiceNeeded(texts.CHOOSE_SIGNUP)

    @app_commands.command(name="signout", description="Leave a session or a whole series; no explanation needed")
    @app_commands.describe(session="One of your sessions", series="One of the series you follow")
    @app_commands.autocomplete(session=my_session_choices, series=my_series_choices)
    @app_commands.guild_only()
    async def signout(
        self, interaction: discord.Interaction, session: int | None = None, series: int | None = None
    ) -> None:
        """Leave one session or a series."""
        if session is not None and series is None:
            await sign_out(interaction, session)
        elif series is not None and session is None:
            await leave_series(interaction, series)
        else:
            raise ChoiceNeeded(texts.CHOOSE_SIGNOUT)

    @app_commands.command(name="mysessions", description="The sessions you signed up for, each with a Leave button")
    @app_commands.guild_only()
    async def mysessions(self, interaction: discord.Interaction) -> None:
        """List my sessions."""
        await show_mine(interaction, 0, edit=False)

    @settings.command(name="reminders", description="When and how you get reminders")
    async def reminders(self, interaction: discord.Interaction) -> None:
        """Show the member's settings with selects to change the reminders."""
        config = self.bot.core.config
        prefs = await self.bot.core.sessions.preferences(interaction.user.id)
        await interaction.response.send_message(
            embed=settings_embed(prefs, config), view=settings_view(prefs, config), ephemeral=True
        )

    @settings.command(name="timezone", description="Your time zone, for notes when daylight saving moves a session")
    @app_commands.describe(name="A place such as Europe/Berlin (start typing a city)", clear="Forget your time zone")
    @app_commands.autocomplete(name=timezone_choices)
    async def timezone(self, interaction: discord.Interaction, name: str | None = None, clear: bool = False) -> None:
        """Set, clear or show the member's time zone."""
        if name is not None and clear:
            raise ChoiceNeeded(texts.TIMEZONE_BOTH)
        sessions = self.bot.core.sessions
        if clear or name is not None:
            await sessions.set_timezone(interaction.user.id, None if clear else name)
        prefs = await sessions.preferences(interaction.user.id)
        zone = None if prefs is None else prefs.timezone
        message = None
        if clear:
            message = texts.TIMEZONE_CLEARED
        elif name is not None and zone is not None:
            local = self.bot.core.clock().astimezone(ZoneInfo(zone))
            message = texts.TIMEZONE_SET.format(zone=zone, local=f"{local:%H:%M}")
        await interaction.response.send_message(
            message, embed=settings_embed(prefs, self.bot.core.config), ephemeral=True
        )

    @app_commands.command(name="calendar", description="A calendar file (.ics) of your sessions, or of a whole series")
    @app_commands.describe(series="A whole series (leave out for the sessions you signed up for)")
    @app_commands.autocomplete(series=active_series_choices)
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction, series: int | None = None) -> None:
        """Send an .ics attachment."""
        sessions = self.bot.core.sessions
        now = self.bot.core.clock()
        if series is not None:
            found, rows = await sessions.series_sessions(series)
            data = series_calendar(found, rows, now=now)
            message = texts.CALENDAR_SERIES.format(title=display_safe(found.title))
            filename = texts.CALENDAR_FILE_SERIES.format(id=found.id)
        else:
            mine = [summary.occurrence for summary in await sessions.my_sessions(interaction.user.id)]
            if not mine:
                await interaction.response.send_message(texts.CALENDAR_EMPTY, ephemeral=True)
                return
            data = sessions_calendar(mine, texts.CALENDAR_MINE_NAME, now=now)
            message = texts.CALENDAR_MINE.format(count=len(mine))
            filename = texts.CALENDAR_FILE_MINE
        await interaction.response.send_message(
            message, file=discord.File(io.BytesIO(data), filename=filename), ephemeral=True
        )

    @app_commands.command(name="feedback", description="Share feedback with our volunteer coordinators")
    @app_commands.guild_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        """Open the feedback form."""
        recent = await self.bot.core.sessions.recent_sessions()
        zone = await self._zone(interaction.user.id)
        await interaction.response.send_modal(FeedbackModal(f"pc:feedback:{interaction.id}", recent, zone))


def series_choices(rows: Sequence[SeriesRow], typed: str) -> list[app_commands.Choice[int]]:
    """Autocomplete choices for series whose number or title contains what was typed."""
    picked = [row for row in rows if matches(typed, row.id, row.title)][:MAX_CHOICES]
    return [app_commands.Choice(name=series_label(row), value=row.id) for row in picked]


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Members(bot))
