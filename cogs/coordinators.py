"""Coordinators: weekly series, single sessions, the approved recordings and reports.

`/series create|edit|pause|resume|end|list`, `/session add|cancel|move|channel|assign|unassign`,
`/recordings list|verify|reload` and `/report popularity|csv|audit|audit-export`. Discord shows
these commands only to people who may manage the server (a convenience a server admin can change);
what protects the schedule is the coordinator-role check, here first for a quick kind answer and
again in the core. Ending a series asks first: its buttons (`pc:series-end:<id>`,
`pc:series-keep:<id>`) are DynamicItems, so they answer after a restart too, and their errors go to
the bot's one error handler.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any, Final

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts as shared_texts
from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.error_reply import reply_to_error
from bot.adapters.interactions import actor_of, core_of, member_actor
from bot.errors import ConflictError, RecordingError, ScheduleError
from bot.media.recordings import ADD_COMMAND, RecordingCatalog
from bot.model import Actor, AuditRow, OccurrenceRow, Recording, SeriesRow
from bot.schedule.rules import (
    WeeklyRule,
    discord_timestamp,
    dst_note,
    format_pacific,
    parse_pacific_wall,
    rule_for,
    utc_to_pacific,
)
from bot.services.permissions import require_coordinator
from bot.services.popularity import popularity_report, render_chart, render_table, to_csv
from bot.services.practices import suggest_practices
from bot.services.reports import audit_csv
from bot.services.sessions import MAX_DURATION, MAX_REASON, MIN_DURATION, UPCOMING_STATUSES
from bot.texts import coordinators as texts
from bot.validation import display_safe

# Discord's limits: 25 autocomplete choices of up to 100 characters, 2000 characters in a message,
# 4096 in an embed description.
MAX_CHOICES: Final = 25
MAX_CHOICE_NAME: Final = 100
MAX_MESSAGE: Final = 2000
MAX_DESCRIPTION: Final = 4096
# How many upcoming sessions a series reply shows, and how far ahead daylight-saving notes look.
PREVIEW_SESSIONS: Final = 5
DST_LOOKAHEAD_SESSIONS: Final = 60
DST_NOTES_SHOWN: Final = 3
MAX_DETAIL: Final = 160
MAX_PROBLEM: Final = 300
MAX_WEEKS: Final = 52
MAX_AUDIT: Final = 50
STATUS_ORDER: Final = {"active": 0, "paused": 1, "ended": 2}

SERIES_END_PATTERN: Final = r"pc:series-end:(?P<series>[0-9]+)"
SERIES_KEEP_PATTERN: Final = r"pc:series-keep:(?P<series>[0-9]+)"

# Who may see these commands in Discord's picker, unless a server admin changes it. A convenience only.
MANAGE_SERVER: Final = discord.Permissions(manage_guild=True)

SessionChannel = discord.VoiceChannel | discord.StageChannel


# --- small helpers ---------------------------------------------------------------------------------


def coordinator(interaction: discord.Interaction) -> Actor:
    """The person interacting, if they hold the coordinator role (the core checks again)."""
    actor = actor_of(interaction)
    require_coordinator(actor, core_of(interaction).config.roles)
    return actor


def when(instant: dt.datetime) -> str:
    """An instant as every reader sees it in their own time zone."""
    return discord_timestamp(instant, "F")


def practice_part(practice: str | None) -> str:
    """' · Practice: X' when a practice is set."""
    return texts.PRACTICE_PART.format(practice=display_safe(practice)) if practice else ""


def cut(text: str, limit: int) -> str:
    """Text shortened to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_lines(lines: Sequence[str], limit: int = MAX_DESCRIPTION) -> str:
    """As many lines as fit in `limit` characters, then "…and N more"."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        left = len(lines) - index - 1
        tail = "\n" + texts.MORE_LINES.format(count=left) if left else ""
        if len("\n".join([*kept, line]) + tail) > limit:
            kept.append(texts.MORE_LINES.format(count=len(lines) - index))
            break
        kept.append(line)
    return "\n".join(kept)


def choice_name(text: str) -> str:
    """An autocomplete choice's label, cut to Discord's 100 characters."""
    return cut(" ".join(text.split()), MAX_CHOICE_NAME)


def next_starts(rule: WeeklyRule, now: dt.datetime, count: int) -> list[dt.datetime]:
    """The rule's next `count` session starts after now (fewer if it ends sooner)."""
    from_date = max(rule.starts_on, utc_to_pacific(now).date())
    try:
        starts = rule.first(count + 2, from_date)
    except ScheduleError:  # only an open-ended rule reaching past 2037; the series itself is fine
        return []
    return [start for start in starts if start > now][:count]


def dst_lines(walls: Sequence[dt.datetime]) -> list[str]:
    """Notes for Pacific wall-clock times that fall in a daylight-saving gap or overlap."""
    notes = list(dict.fromkeys(note for note in map(dst_note, walls) if note is not None))
    if not notes:
        return []
    lines = [texts.DST_HEADING, *(texts.DST_LINE.format(note=note) for note in notes[:DST_NOTES_SHOWN])]
    if len(notes) > DST_NOTES_SHOWN:
        lines.append(texts.DST_MORE.format(count=len(notes) - DST_NOTES_SHOWN))
    return lines


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


def audit_target(target: str) -> str:
    """'occurrence:12' -> 'session #12', 'series:3' -> 'series #3'; anything else as stored."""
    kind, _, number = target.partition(":")
    if kind == "occurrence" and number.isdigit():
        return texts.AUDIT_TARGET_SESSION.format(id=number)
    if kind == "series" and number.isdigit():
        return texts.AUDIT_TARGET_SERIES.format(id=number)
    return display_safe(target)


def audit_line(row: AuditRow) -> str:
    """One change-log entry: when (Discord time), who, what, to which thing, and the details."""
    details = ", ".join(f"{key}: {value}" for key, value in sorted(row.details.items()))
    return texts.AUDIT_LINE.format(
        when=discord_timestamp(row.at, "f"),
        who=texts.AUDIT_BOT if row.actor_id is None else f"<@{row.actor_id}>",
        action=texts.AUDIT_ACTIONS.get(row.action, display_safe(row.action)),
        target=audit_target(row.target),
        details=f" — {display_safe(cut(details, MAX_DETAIL))}" if details else "",
    )


def minutes_text(seconds: float) -> str:
    """312.4 -> '5:12'."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def recording_line(recording: Recording) -> str:
    """One approved recording for the listing."""
    return texts.RECORDING_LINE.format(
        title=display_safe(recording.title),
        id=recording.id,
        kind=recording.kind,
        language=recording.language,
        minutes=minutes_text(recording.duration_seconds),
        source=display_safe(recording.source),
    )


def verify_line(result: Recording | RecordingError) -> str:
    """One entry of a fresh check: OK with its details, or refused with the reason."""
    if isinstance(result, Recording):
        detail = f"({result.kind}, {minutes_text(result.duration_seconds)}, {display_safe(result.file)})"
        return texts.VERIFY_LINE.format(mark=texts.RECORDING_OK_MARK, entry=result.id, detail=detail)
    return texts.VERIFY_LINE.format(
        mark=texts.RECORDING_REFUSED_MARK,
        entry=display_safe(result.entry),
        detail=display_safe(cut(result.problem, MAX_PROBLEM)),
    )


def csv_file(text: str, filename: str) -> discord.File:
    """A CSV attachment, UTF-8 with a byte-order mark so spreadsheet apps show every script correctly."""
    return discord.File(io.BytesIO(text.encode("utf-8-sig")), filename=filename)


# --- the confirmation buttons of /series end --------------------------------------------------------


class EndSeriesButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SERIES_END_PATTERN):
    """'Yes, end this series' (`pc:series-end:<series>`): ends it; the core checks the role again."""

    def __init__(self, series_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.SERIES_END_BUTTON,
                style=discord.ButtonStyle.danger,
                custom_id=f"pc:series-end:{series_id}",
            )
        )
        self.series_id = series_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EndSeriesButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["series"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """End the series and replace the question with what was done."""
        try:
            actor = coordinator(interaction)
            # Members' notices are sent before end_series() returns, which can outlast Discord's 3 s.
            await interaction.response.defer()
            series, cancelled = await core_of(interaction).sessions.end_series(actor, self.series_id)
            await interaction.edit_original_response(
                content=texts.SERIES_ENDED.format(title=display_safe(series.title), id=series.id, count=cancelled),
                view=None,
            )
        except Exception as error:
            await self.on_error(interaction, error)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Errors go to the bot's one error handler (discord.py only logs a DynamicItem's errors)."""
        await reply_to_error(interaction, error)


class KeepSeriesButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SERIES_KEEP_PATTERN):
    """'No, keep it' (`pc:series-keep:<series>`): changes nothing and says so."""

    def __init__(self, series_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.SERIES_KEEP_BUTTON,
                style=discord.ButtonStyle.secondary,
                custom_id=f"pc:series-keep:{series_id}",
            )
        )
        self.series_id = series_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> KeepSeriesButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["series"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Replace the question with 'nothing was changed'."""
        try:
            series = await core_of(interaction).sessions.series(self.series_id)
            await interaction.response.edit_message(
                content=texts.SERIES_KEPT.format(title=display_safe(series.title), id=series.id), view=None
            )
        except Exception as error:
            await self.on_error(interaction, error)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Errors go to the bot's one error handler."""
        await reply_to_error(interaction, error)


# --- the cog ----------------------------------------------------------------------------------------


class Coordinators(commands.Cog):
    """The coordinators' commands."""

    series_group = app_commands.Group(
        name="series", description=texts.SERIES_GROUP, guild_only=True, default_permissions=MANAGE_SERVER
    )
    session_group = app_commands.Group(
        name="session", description=texts.SESSION_GROUP, guild_only=True, default_permissions=MANAGE_SERVER
    )
    recordings_group = app_commands.Group(
        name="recordings", description=texts.RECORDINGS_GROUP, guild_only=True, default_permissions=MANAGE_SERVER
    )
    report_group = app_commands.Group(
        name="report", description=texts.REPORT_GROUP, guild_only=True, default_permissions=MANAGE_SERVER
    )

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Answer the confirmation buttons on any message, including those sent before a restart."""
        self.bot.add_dynamic_items(EndSeriesButton, KeepSeriesButton)

    async def cog_unload(self) -> None:
        """Stop answering the confirmation buttons."""
        self.bot.remove_dynamic_items(EndSeriesButton, KeepSeriesButton)

    def _now(self) -> dt.datetime:
        return self.bot.core.clock()

    async def _upcoming_sessions(self) -> list[OccurrenceRow]:
        now = self._now()
        # From the longest a session can last, so one under way can still be changed.
        rows = await self.bot.core.db.list_occurrences(
            now - dt.timedelta(minutes=MAX_DURATION), now + self.bot.core.horizon.length, statuses=UPCOMING_STATUSES
        )
        return [row for row in rows if row.end_utc > now]

    # --- autocomplete -------------------------------------------------------------------------

    async def series_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Series whose number or title contains what was typed; active ones first."""
        wanted = str(current).strip().lstrip("#").casefold()
        found = sorted(
            await self.bot.core.db.list_series(), key=lambda series: (STATUS_ORDER[series.status], series.id)
        )
        choices = []
        for series in found:
            if wanted and wanted not in str(series.id) and wanted not in series.title.casefold():
                continue
            name = texts.SERIES_CHOICE.format(
                id=series.id,
                title=series.title,
                rule=f"{','.join(series.weekdays)}@{series.local_time:%H:%M}",
                status=texts.SERIES_STATUS[series.status],
            )
            choices.append(app_commands.Choice(name=choice_name(name), value=series.id))
        return choices[:MAX_CHOICES]

    async def session_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions whose number, title or Pacific time contains what was typed."""
        wanted = str(current).strip().lstrip("#").casefold()
        choices = []
        for occurrence in await self._upcoming_sessions():
            pacific = format_pacific(occurrence.start_utc)
            haystack = f"{occurrence.id} {occurrence.title} {pacific}".casefold()
            if wanted and wanted not in haystack:
                continue
            name = texts.SESSION_CHOICE.format(id=occurrence.id, title=occurrence.title, pacific=pacific)
            choices.append(app_commands.Choice(name=choice_name(name), value=occurrence.id))
            if len(choices) == MAX_CHOICES:
                break
        return choices

    async def practice_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Practices from the course's catalog."""
        return [app_commands.Choice(name=name, value=name) for name in suggest_practices(str(current), MAX_CHOICES)]

    # --- /series --------------------------------------------------------------------------------

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
        duration: app_commands.Range[int, MIN_DURATION, MAX_DURATION],
        channel: SessionChannel,
        interval: app_commands.Range[int, 1, MAX_WEEKS] = 1,
        until: str | None = None,
        practice: str | None = None,
    ) -> None:
        """Create a weekly series and show its rule, next sessions and any daylight-saving notes."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
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
            *rule_preview(rule, self._now()),
        ]
        await interaction.followup.send(fit_lines(lines, MAX_MESSAGE), ephemeral=True)

    @series_group.command(name="edit", description="Change a series; its upcoming sessions follow")
    @app_commands.describe(
        series="The series (start typing its name)",
        title="A new name",
        weekly="New days and US Pacific time, e.g. TUE,THU@09:00",
        duration="A new length in minutes",
        channel="A new voice or Stage channel (one of the session channels)",
        practice="A new practice from the course (start typing)",
    )
    @app_commands.autocomplete(series=series_choices)
    @app_commands.autocomplete(practice=practice_choices)
    async def series_edit(
        self,
        interaction: discord.Interaction,
        series: int,
        title: str | None = None,
        weekly: str | None = None,
        duration: app_commands.Range[int, MIN_DURATION, MAX_DURATION] | None = None,
        channel: SessionChannel | None = None,
        practice: str | None = None,
    ) -> None:
        """Edit a series; members signed up hear about sessions that really changed."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
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
            lines += rule_preview(rule, self._now())
        await interaction.followup.send(fit_lines(lines, MAX_MESSAGE), ephemeral=True)

    @series_group.command(name="pause", description="Pause a series: its upcoming sessions are cancelled for now")
    @app_commands.describe(series="The series (start typing its name)")
    @app_commands.autocomplete(series=series_choices)
    async def series_pause(self, interaction: discord.Interaction, series: int) -> None:
        """Pause a series; members signed up for its upcoming sessions are told."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        paused, cancelled = await self.bot.core.sessions.pause_series(actor, series)
        await interaction.followup.send(
            texts.SERIES_PAUSED.format(title=display_safe(paused.title), id=paused.id, count=cancelled), ephemeral=True
        )

    @series_group.command(name="resume", description="Resume a paused series: its sessions come back")
    @app_commands.describe(series="The series (start typing its name)")
    @app_commands.autocomplete(series=series_choices)
    async def series_resume(self, interaction: discord.Interaction, series: int) -> None:
        """Resume a paused series; members signed up for restored sessions are told."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        resumed, count = await self.bot.core.sessions.resume_series(actor, series)
        await interaction.followup.send(
            texts.SERIES_RESUMED.format(title=display_safe(resumed.title), id=resumed.id, count=count), ephemeral=True
        )

    @series_group.command(name="end", description="End a series for good (you will be asked to confirm)")
    @app_commands.describe(series="The series (start typing its name)")
    @app_commands.autocomplete(series=series_choices)
    async def series_end(self, interaction: discord.Interaction, series: int) -> None:
        """Ask before ending: say how many sessions and sign-ups it touches, with Yes and No buttons."""
        coordinator(interaction)
        found = await self.bot.core.sessions.series(series)
        if found.status == "ended":
            raise ConflictError(shared_texts.SERIES_ENDED.format(title=display_safe(found.title)))
        upcoming = await self.bot.core.sessions.upcoming_in_series(found.id)
        signups = sum([await self.bot.core.db.count_signups(occurrence.id) for occurrence in upcoming])
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
        found = sorted(
            await self.bot.core.db.list_series(), key=lambda series: (STATUS_ORDER[series.status], series.id)
        )
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
                status=texts.SERIES_STATUS[series.status],
            )
            for series in found
        ]
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.SERIES_LIST_TITLE, description=fit_lines(lines)), ephemeral=True
        )

    # --- /session -------------------------------------------------------------------------------

    @session_group.command(name="add", description="Add a one-off session (time in US Pacific)")
    @app_commands.describe(
        start="Date and US Pacific time, YYYY-MM-DD HH:MM, e.g. 2026-03-08 18:30",
        duration="Length in minutes",
        title="The name members see",
        channel="The voice or Stage channel (leave out for the usual one)",
        practice="A practice from the course (start typing)",
    )
    @app_commands.autocomplete(practice=practice_choices)
    async def session_add(
        self,
        interaction: discord.Interaction,
        start: str,
        duration: app_commands.Range[int, MIN_DURATION, MAX_DURATION],
        title: str,
        channel: SessionChannel | None = None,
        practice: str | None = None,
    ) -> None:
        """Add a one-off session and show when it is, with a daylight-saving note if one applies."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        occurrence = await self.bot.core.sessions.add_session(
            actor,
            start=start,
            duration_minutes=duration,
            title=title,
            channel_id=None if channel is None else channel.id,
            practice=practice,
        )
        lines = [
            texts.SESSION_ADDED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                channel=occurrence.channel_id,
                minutes=occurrence.duration_minutes,
                practice=practice_part(occurrence.practice),
            ),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="cancel", description="Cancel one session; members who signed up are told")
    @app_commands.describe(session="The session (start typing its name or date)", reason="A few words for members")
    @app_commands.autocomplete(session=session_choices)
    async def session_cancel(
        self, interaction: discord.Interaction, session: int, reason: app_commands.Range[str, 1, MAX_REASON]
    ) -> None:
        """Cancel a session with a reason."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        occurrence = await self.bot.core.sessions.cancel_session(actor, session, reason)
        await interaction.followup.send(
            texts.SESSION_CANCELLED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                signups=await self.bot.core.db.count_signups(occurrence.id),
            ),
            ephemeral=True,
        )

    @session_group.command(name="move", description="Move one session to another time (US Pacific)")
    @app_commands.describe(
        session="The session (start typing its name or date)",
        start="New date and US Pacific time, YYYY-MM-DD HH:MM",
    )
    @app_commands.autocomplete(session=session_choices)
    async def session_move(self, interaction: discord.Interaction, session: int, start: str) -> None:
        """Move a session; members signed up see the old and new time."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        before = await self.bot.core.sessions.session(session)
        occurrence = await self.bot.core.sessions.move_session(actor, session, start)
        lines = [
            texts.SESSION_MOVED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                old_when=when(before.start_utc),
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
                signups=await self.bot.core.db.count_signups(occurrence.id),
            ),
            *dst_lines([parse_pacific_wall(start)]),
        ]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @session_group.command(name="channel", description="Hold one session in another session channel")
    @app_commands.describe(
        session="The session (start typing its name or date)",
        channel="The voice or Stage channel (one of the session channels)",
    )
    @app_commands.autocomplete(session=session_choices)
    async def session_channel(self, interaction: discord.Interaction, session: int, channel: SessionChannel) -> None:
        """Change a session's channel; members signed up are told."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        before = await self.bot.core.sessions.session(session)
        occurrence = await self.bot.core.sessions.set_session_channel(actor, session, channel.id)
        await interaction.followup.send(
            texts.SESSION_CHANNEL.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                channel=occurrence.channel_id,
                old_channel=before.channel_id,
                signups=await self.bot.core.db.count_signups(occurrence.id),
            ),
            ephemeral=True,
        )

    @session_group.command(name="assign", description="Give a session to a teacher")
    @app_commands.describe(session="The session (start typing its name or date)", teacher="The teacher")
    @app_commands.autocomplete(session=session_choices)
    async def session_assign(self, interaction: discord.Interaction, session: int, teacher: discord.Member) -> None:
        """Assign a teacher (replacing any other); members hear of a change of teacher."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        previous = await self.bot.core.db.get_teacher_claim(session)
        occurrence = await self.bot.core.sessions.assign_teacher(actor, session, member_actor(teacher))
        unchanged = previous is not None and previous.teacher_id == teacher.id
        template = texts.ASSIGN_ALREADY if unchanged else texts.SESSION_ASSIGNED
        await interaction.followup.send(
            template.format(
                teacher=teacher.id,
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
            ),
            ephemeral=True,
        )

    @session_group.command(name="unassign", description="Take a session's teacher off it; teachers can claim it")
    @app_commands.describe(session="The session (start typing its name or date)", reason="A few words for the log")
    @app_commands.autocomplete(session=session_choices)
    async def session_unassign(
        self, interaction: discord.Interaction, session: int, reason: app_commands.Range[str, 1, MAX_REASON]
    ) -> None:
        """Release a session's teacher as a coordinator."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        previous = await self.bot.core.db.get_teacher_claim(session)
        occurrence = await self.bot.core.sessions.release(actor, session, reason)
        await interaction.followup.send(
            texts.SESSION_UNASSIGNED.format(
                title=display_safe(occurrence.title),
                id=occurrence.id,
                when=when(occurrence.start_utc),
                teacher=previous.teacher_id if previous is not None else 0,
            ),
            ephemeral=True,
        )

    # --- /recordings ----------------------------------------------------------------------------

    @recordings_group.command(name="list", description="The approved recordings, and any refused with why")
    async def recordings_list(self, interaction: discord.Interaction) -> None:
        """List approved and refused recordings from the list in use."""
        coordinator(interaction)
        catalog: RecordingCatalog = self.bot.core.recordings
        lines: list[str] = []
        if catalog.recordings:
            lines.append(texts.RECORDINGS_APPROVED_HEADING.format(count=len(catalog.recordings)))
            lines += [recording_line(recording) for recording in catalog.recordings]
        if catalog.refused:
            lines.append(texts.RECORDINGS_REFUSED_HEADING.format(count=len(catalog.refused)))
            lines += [
                texts.REFUSED_LINE.format(
                    entry=display_safe(error.entry), problem=display_safe(cut(error.problem, MAX_PROBLEM))
                )
                for error in catalog.refused
            ]
        if not lines:
            lines.append(texts.RECORDINGS_NONE.format(command=ADD_COMMAND))
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.RECORDINGS_TITLE, description=fit_lines(lines)), ephemeral=True
        )

    @recordings_group.command(name="verify", description="Check every recording file again now (nothing changes)")
    async def recordings_verify(self, interaction: discord.Interaction) -> None:
        """Re-hash every file now and report; the list in use stays as it is."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        fresh = await self.bot.core.verify_recordings(actor)
        in_use: RecordingCatalog = self.bot.core.recordings
        lines = [
            texts.RECORDINGS_VERIFIED.format(ok=len(fresh.recordings), refused=len(fresh.refused)),
            *(verify_line(result) for result in fresh.results),
        ]
        if {r.sha256 for r in fresh.recordings} != {r.sha256 for r in in_use.recordings}:
            lines.append(texts.RECORDINGS_VERIFY_DIFFERS)
        elif not fresh.refused:
            lines.append(texts.RECORDINGS_VERIFY_ALL_OK)
        await interaction.followup.send(fit_lines(lines, MAX_MESSAGE), ephemeral=True)

    @recordings_group.command(name="reload", description="Put the recordings list into use without a restart")
    async def recordings_reload(self, interaction: discord.Interaction) -> None:
        """Reload recordings.yaml; the previous list stays in use if the new one cannot be read."""
        actor = coordinator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        catalog = await self.bot.core.reload_recordings(actor)
        lines = [
            texts.RECORDINGS_RELOADED.format(ok=len(catalog.recordings), refused=len(catalog.refused)),
            *(verify_line(error) for error in catalog.refused),
        ]
        await interaction.followup.send(fit_lines(lines, MAX_MESSAGE), ephemeral=True)

    # --- /report --------------------------------------------------------------------------------

    def _private(self, interaction: discord.Interaction) -> bool:
        """Reports are posted for everyone only in the coordinators' channel; elsewhere only the asker sees them."""
        return interaction.channel_id != self.bot.core.config.channels.coordinators

    @report_group.command(name="popularity", description="Which sessions people sign up for and attend (table, chart)")
    @app_commands.describe(weeks="How many weeks back to look (4 if you leave it out)")
    async def report_popularity(
        self, interaction: discord.Interaction, weeks: app_commands.Range[int, 1, MAX_WEEKS] = 4
    ) -> None:
        """Post the popularity table and a heatmap PNG in the coordinators' channel."""
        coordinator(interaction)
        private = self._private(interaction)
        await interaction.response.defer(ephemeral=private, thinking=True)
        now = self._now()
        report = await popularity_report(self.bot.core.db, now - dt.timedelta(weeks=weeks), now)
        # matplotlib takes a moment; the event loop keeps serving everyone else meanwhile.
        chart = await asyncio.to_thread(render_chart, report)
        channel = self.bot.core.config.channels.coordinators
        template = texts.POPULARITY_PRIVATE if private else texts.POPULARITY_POSTED
        heading = template.format(weeks=weeks, channel=channel)
        table = render_table(report)
        room = MAX_MESSAGE - len(heading) - len("\n```\n\n```")
        if len(table) > room:  # only with a long private heading: drop whole lines, never half of one
            table = table[:room].rpartition("\n")[0]
        content = f"{heading}\n```\n{table}\n```"
        filename = f"popularity-{utc_to_pacific(now):%Y-%m-%d}.png"
        await interaction.followup.send(
            content,
            file=discord.File(io.BytesIO(chart), filename=filename, description=texts.CHART_ALT),
            ephemeral=private,
        )

    @report_group.command(name="csv", description="The popularity figures as a spreadsheet (CSV)")
    @app_commands.describe(weeks="How many weeks back to look (4 if you leave it out)")
    async def report_csv(
        self, interaction: discord.Interaction, weeks: app_commands.Range[int, 1, MAX_WEEKS] = 4
    ) -> None:
        """Attach the popularity figures as CSV."""
        coordinator(interaction)
        private = self._private(interaction)
        now = self._now()
        report = await popularity_report(self.bot.core.db, now - dt.timedelta(weeks=weeks), now)
        channel = self.bot.core.config.channels.coordinators
        template = texts.POPULARITY_CSV_PRIVATE if private else texts.POPULARITY_CSV
        await interaction.response.send_message(
            template.format(weeks=weeks, channel=channel),
            file=csv_file(to_csv(report), f"popularity-{utc_to_pacific(now):%Y-%m-%d}.csv"),
            ephemeral=private,
        )

    @report_group.command(name="audit", description="Who changed what, and when (newest first)")
    @app_commands.describe(limit="How many changes to show (20 if you leave it out)")
    async def report_audit(
        self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, MAX_AUDIT] = 20
    ) -> None:
        """Show the latest changes privately, with Discord timestamps."""
        coordinator(interaction)
        rows = await self.bot.core.db.list_audit(limit=limit)
        description = fit_lines([audit_line(row) for row in rows]) if rows else texts.AUDIT_EMPTY
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.AUDIT_TITLE, description=description), ephemeral=True
        )

    @report_group.command(name="audit-export", description="The whole change log as a spreadsheet (CSV)")
    async def report_audit_export(self, interaction: discord.Interaction) -> None:
        """Attach the whole change log as CSV, privately."""
        coordinator(interaction)
        rows = await self.bot.core.db.list_audit(limit=None)
        guild = interaction.guild
        names = {} if guild is None else {member.id: member.display_name for member in guild.members}
        await interaction.response.send_message(
            texts.AUDIT_EXPORT.format(count=len(rows)),
            file=csv_file(audit_csv(rows, names), f"change-log-{utc_to_pacific(self._now()):%Y-%m-%d}.csv"),
            ephemeral=True,
        )


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Coordinators(bot))
