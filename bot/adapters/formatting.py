"""What every command shows the same way: session and series choices, and lines fitted to Discord's limits.

One autocomplete for sessions and one for series, used by members', teachers' and coordinators'
commands alike. What was typed is looked for in the number, the title and the US Pacific time; a
leading `#` means a number is meant, so `#12` finds session 12 and not every session at 12:00.
Each choice is labelled `#id · title · US Pacific time`, with the person's own time beside it when
they have told the bot their time zone. Choice names are plain text (Discord shows no markdown or
mentions there), so titles appear as typed, with their spacing tidied.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

import discord
from discord import app_commands

from bot import texts
from bot.adapters.interactions import core_of
from bot.adapters.limits import CHOICE_NAME_CHARS, CHOICES
from bot.model import WEEKDAY_CODES, OccurrenceRow, SeriesRow
from bot.schedule.rules import WEEKDAY_NAMES, format_pacific
from bot.services.practices import suggest_practices
from bot.validation import plain_cut


def matches(typed: str, number: int, *words: str) -> bool:
    """Whether what was typed names this number or appears in one of these words ('#' first: the number only)."""
    wanted = str(typed).strip().casefold()
    number_only = wanted.startswith("#")
    wanted = wanted.lstrip("#").strip()
    if not wanted or wanted in str(number):
        return True
    return not number_only and any(wanted in word.casefold() for word in words)


def _labelled(template: str, title: str, **parts: object) -> str:
    """A choice label with the title shortened first, so the number and the time always show."""
    tidy = " ".join(title.split())
    room = CHOICE_NAME_CHARS - len(template.format(title="", **parts))
    return plain_cut(template.format(title=plain_cut(tidy, room), **parts), CHOICE_NAME_CHARS)


def session_label(occurrence: OccurrenceRow, zone: str | None) -> str:
    """A session as a choice: number, title, US Pacific time, and the person's own time if their zone is known."""
    moment = format_pacific(occurrence.start_utc)
    if zone is not None:
        local = occurrence.start_utc.astimezone(ZoneInfo(zone))
        moment += " = " + texts.SESSION_CHOICE_LOCAL.format(time=f"{WEEKDAY_NAMES[local.weekday()][:3]} {local:%H:%M}")
    return _labelled(texts.SESSION_CHOICE, occurrence.title, id=occurrence.id, when=moment)


def series_days_and_time(series: SeriesRow) -> str:
    """A series' weekdays and US Pacific time, short: 'Mon, Thu 09:30'."""
    days = ", ".join(WEEKDAY_NAMES[WEEKDAY_CODES.index(code)][:3] for code in series.weekdays)
    return f"{days} {series.local_time:%H:%M}"


def series_label(series: SeriesRow, *, numbered: bool = False) -> str:
    """A series as a choice: title, weekdays, US Pacific time; its number if `numbered`; its status unless active."""
    status = ""
    if series.status != "active":
        status = texts.SERIES_CHOICE_STATUS.format(status=texts.SERIES_STATUS[series.status])
    template = texts.SERIES_CHOICE_NUMBERED if numbered else texts.SERIES_CHOICE
    return _labelled(template, series.title, id=series.id, when=series_days_and_time(series), status=status)


async def own_zone(interaction: discord.Interaction) -> str | None:
    """The time zone the person interacting has told the bot, if any."""
    prefs = await core_of(interaction).sessions.preferences(interaction.user.id)
    return None if prefs is None else prefs.timezone


async def session_choices(
    interaction: discord.Interaction, occurrences: Iterable[OccurrenceRow], typed: str
) -> list[app_commands.Choice[int]]:
    """Autocomplete choices for the sessions that match what was typed, labelled in the person's own time too."""
    picked = [row for row in occurrences if matches(typed, row.id, row.title, format_pacific(row.start_utc))]
    if not picked:
        return []
    zone = await own_zone(interaction)
    return [app_commands.Choice(name=session_label(row, zone), value=row.id) for row in picked[:CHOICES]]


def series_choices(rows: Iterable[SeriesRow], typed: str, *, numbered: bool = False) -> list[app_commands.Choice[int]]:
    """Autocomplete choices for the series that match what was typed."""
    picked = [row for row in rows if matches(typed, row.id, row.title, series_days_and_time(row))]
    return [app_commands.Choice(name=series_label(row, numbered=numbered), value=row.id) for row in picked[:CHOICES]]


def name_choices(names: Iterable[str]) -> list[app_commands.Choice[str]]:
    """Autocomplete choices whose name is their value (practices, time zones)."""
    return [app_commands.Choice(name=name, value=name) for name in names][:CHOICES]


async def practice_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Practices from the course's catalog that match what was typed."""
    return name_choices(suggest_practices(str(current), CHOICES))


def fit_lines(lines: Sequence[str], more: str, *, limit: int, total: int | None = None) -> tuple[str, int]:
    """As many lines as fit in `limit` characters, then `more` ('…and {count} more') for the rest of `total`.

    Returns the text and how many lines it shows. `total` defaults to the lines given; a caller that
    could show only some of its items (one button each) passes how many there are in all.
    """
    total = len(lines) if total is None else total
    kept: list[str] = []
    for line in lines:
        left = total - len(kept) - 1
        tail = "\n" + more.format(count=left) if left else ""
        if len("\n".join([*kept, line]) + tail) > limit:
            break
        kept.append(line)
    shown = len(kept)
    if total > shown:
        kept.append(more.format(count=total - shown))
    return "\n".join(kept), shown
