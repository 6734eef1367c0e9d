"""`/series create|edit|pause|resume|end|list`: weekly series, with their rule, next sessions and DST notes.

Ending a series asks first: its buttons (`pc:series-end:{series}`, `pc:series-keep:{series}`) are
persistent, so they answer after a restart too, and the core checks the role again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import discord
from discord import app_commands

from bot import texts as shared_texts
from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.formatting import practice_choices
from bot.adapters.interactions import core_of
from bot.adapters.limits import MESSAGE_CHARS
from bot.errors import ConflictError, ScheduleError
from bot.model import SeriesRow
from bot.schedule.rules import WeeklyRule, format_pacific, rule_for, utc_to_pacific, when
from bot.texts import coordinators as texts
from bot.validation import display_safe
from cogs.base import PracticeCog
from cogs.coordinators.common import (
    Duration,
    SessionChannel,
    Weeks,
    coordinator,
    coordinators_group,
    deferred_coordinator,
    dst_lines,
    fitted,
    practice_part,
    with_series,
)

# How many upcoming sessions a series reply shows, and how far ahead daylight-saving notes look.
PREVIEW_SESSIONS: Final = 5
DST_LOOKAHEAD_SESSIONS: Final = 60


def next_starts(rule: WeeklyRule, now: dt.datetime, count: int) -> list[dt.datetime]:
    """The rule's next `count` session starts after now (fewer if it ends sooner)."""
    from_date = max(rule.starts_on, utc_to_pacific(now).date())
    try:
        starts = rule.first(count + 2, from_date)
    except ScheduleError:  # only an open-ended rule reaching past 2037; the series itself is fine
        return []
    return [start for start in starts if start > now][:count]


def rule_preview(rule: WeeklyRule, now: dt.datetime) -> list[str]:
    """The next sessions under a rule (Discord time and Pacific), then any daylight-saving notes."""
    shown = next_starts(rule, now, PREVIEW_SESSIONS)
    lines = [texts.NEXT_SESSIONS] if shown else [texts.NO_NEXT_SESSIONS]
    lines += [texts.NEXT_SESSION_LINE.format(when=when(start), pacific=format_pacific(start)) for start in shown]
    # A DST change never moves a session to another date, so its Pacific date plus the rule's time
    # is the wall-clock reading the coordinator asked for.
    ahead = next_starts(rule, now, DST_LOOKAHEAD_SESSIONS)
    return lines + dst_lines([dt.datetime.combine(utc_to_pacific(start).date(), rule.at) for start in ahead])


def series_summary(template: str, series: SeriesRow, rule: WeeklyRule, **extra: Any) -> str:
    """A series' title, rule, channel, length and practice in one of the series templates."""
    return template.format(
        title=display_safe(series.title),
        id=series.id,
        rule=rule.describe(),
        channel=series.channel_id,
        minutes=series.duration_minutes,
        practice=practice_part(series.default_practice),
        **extra,
    )


class EndSeriesButton(PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["series-end"]):
    """'Yes, end this series' (`pc:series-end:{series}`): ends it; the core checks the role again."""

    def __init__(self, series: int) -> None:
        super().__init__(self.button(texts.SERIES_END_BUTTON, discord.ButtonStyle.danger, series=series))
        self.series_id = series

    async def run(self, interaction: discord.Interaction) -> None:
        """End the series and replace the question with what was done."""
        actor = coordinator(interaction)
        # Members' notices are sent before end_series() returns, which can outlast Discord's 3 s.
        await interaction.response.defer()
        series, cancelled = await core_of(interaction).sessions.end_series(actor, self.series_id)
        await interaction.edit_original_response(
            content=texts.SERIES_ENDED.format(title=display_safe(series.title), id=series.id, count=cancelled),
            view=None,
        )


class KeepSeriesButton(PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["series-keep"]):
    """'No, keep it' (`pc:series-keep:{series}`): changes nothing and says so."""

    def __init__(self, series: int) -> None:
        super().__init__(self.button(texts.SERIES_KEEP_BUTTON, series=series))
        self.series_id = series

    async def run(self, interaction: discord.Interaction) -> None:
        """Replace the question with 'nothing was changed'."""
        series = await core_of(interaction).sessions.series(self.series_id)
        await interaction.response.edit_message(
            content=texts.SERIES_KEPT.format(title=display_safe(series.title), id=series.id), view=None
        )


class Series(PracticeCog):
    """The coordinators' weekly series."""

    series_group = coordinators_group("series", texts.SERIES_GROUP)
    persistent_items = (EndSeriesButton, KeepSeriesButton)

    @series_group.command(name="create", description="Start a weekly series of sessions (times in US Pacific)")
    @app_commands.describe(
        title="The name members see, e.g. Evening practice",
        weekly="Days and US Pacific time, e.g. MON,WED@18:30",
        starts_on="First date, YYYY-MM-DD (US Pacific), e.g. 2026-03-02",
        duration="Length in minutes",
        channel="The voice or Stage channel for the sessions (one of the session channels)",
        interval="Every how many weeks (1 = every week, 2 = every other week)",
        until="Last date, YYYY-MM-DD (leave out to keep going)",
        practice="A practice from the course (start typing)",
    )
    @app_commands.autocomplete(practice=practice_choices)
    async def series_create(
        self,
        interaction: discord.Interaction,
        title: str,
        weekly: str,
        starts_on: str,
        duration: Duration,
        channel: SessionChannel,
        interval: Weeks = 1,
        until: str | None = None,
        practice: str | None = None,
    ) -> None:
        """Create a weekly series and show its rule, next sessions and any daylight-saving notes."""
        actor = await deferred_coordinator(interaction)
        series, added = await self.bot.core.sessions.create_series(
            actor,
            title=title,
            weekly=weekly,
            starts_on=starts_on,
            duration_minutes=duration,
            channel_id=channel.id,
            interval_weeks=interval,
            until=until,
            practice=practice,
        )
        rule = rule_for(series)
        lines = [
            series_summary(texts.SERIES_CREATED, series, rule, added=added, days=self.bot.core.horizon.length.days),
            *rule_preview(rule, self.bot.core.clock()),
        ]
        await interaction.followup.send(fitted(lines, MESSAGE_CHARS), ephemeral=True)

    @series_group.command(name="edit", description="Change a series; its upcoming sessions follow")
    @with_series(
        title="A new name",
        weekly="New days and US Pacific time, e.g. TUE,THU@09:00",
        duration="A new length in minutes",
        channel="A new voice or Stage channel (one of the session channels)",
        practice="A new practice from the course (start typing)",
    )
    @app_commands.autocomplete(practice=practice_choices)
    async def series_edit(
        self,
        interaction: discord.Interaction,
        series: int,
        title: str | None = None,
        weekly: str | None = None,
        duration: Duration | None = None,
        channel: SessionChannel | None = None,
        practice: str | None = None,
    ) -> None:
        """Edit a series; members signed up hear about sessions that really changed."""
        actor = await deferred_coordinator(interaction)
        updated = await self.bot.core.sessions.edit_series(
            actor,
            series,
            title=title,
            weekly=weekly,
            duration_minutes=duration,
            channel_id=None if channel is None else channel.id,
            practice=practice,
        )
        rule = rule_for(updated)
        lines = [series_summary(texts.SERIES_EDITED, updated, rule)]
        if weekly is not None:
            lines += rule_preview(rule, self.bot.core.clock())
        await interaction.followup.send(fitted(lines, MESSAGE_CHARS), ephemeral=True)

    async def _pause_or_resume(self, interaction: discord.Interaction, series_id: int, *, resume: bool) -> None:
        """Pause or resume a series and say how many sessions that cancelled or brought back."""
        actor = await deferred_coordinator(interaction)
        sessions = self.bot.core.sessions
        changed, count = await (sessions.resume_series if resume else sessions.pause_series)(actor, series_id)
        template = texts.SERIES_RESUMED if resume else texts.SERIES_PAUSED
        await interaction.followup.send(
            template.format(title=display_safe(changed.title), id=changed.id, count=count), ephemeral=True
        )

    @series_group.command(name="pause", description="Pause a series: its upcoming sessions are cancelled for now")
    @with_series()
    async def series_pause(self, interaction: discord.Interaction, series: int) -> None:
        """Pause a series; members signed up for its upcoming sessions are told."""
        await self._pause_or_resume(interaction, series, resume=False)

    @series_group.command(name="resume", description="Resume a paused series: its sessions come back")
    @with_series()
    async def series_resume(self, interaction: discord.Interaction, series: int) -> None:
        """Resume a paused series; members signed up for restored sessions are told."""
        await self._pause_or_resume(interaction, series, resume=True)

    @series_group.command(name="end", description="End a series for good (you will be asked to confirm)")
    @with_series()
    async def series_end(self, interaction: discord.Interaction, series: int) -> None:
        """Ask before ending: say how many sessions and sign-ups it touches, with Yes and No buttons."""
        coordinator(interaction)
        sessions = self.bot.core.sessions
        found = await sessions.series(series)
        if found.status == "ended":
            raise ConflictError(shared_texts.SERIES_ENDED.format(title=display_safe(found.title)))
        upcoming, signups = await sessions.series_signups_ahead(found.id)
        view = discord.ui.View(timeout=None)
        view.add_item(EndSeriesButton(found.id))
        view.add_item(KeepSeriesButton(found.id))
        await interaction.response.send_message(
            texts.SERIES_END_CONFIRM.format(
                title=display_safe(found.title), id=found.id, count=len(upcoming), signups=signups
            ),
            view=view,
            ephemeral=True,
        )

    @series_group.command(name="list", description="Every series, with its rule and status")
    async def series_list(self, interaction: discord.Interaction) -> None:
        """List the series, active first."""
        coordinator(interaction)
        found = await self.bot.core.sessions.series_by_status()
        if not found:
            await interaction.response.send_message(texts.SERIES_LIST_EMPTY, ephemeral=True)
            return
        lines = [
            texts.SERIES_LIST_LINE.format(
                id=series.id,
                title=display_safe(series.title),
                rule=rule_for(series).describe(),
                channel=series.channel_id,
                minutes=series.duration_minutes,
                status=shared_texts.SERIES_STATUS[series.status],
            )
            for series in found
        ]
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.SERIES_LIST_TITLE, description=fitted(lines)), ephemeral=True
        )
