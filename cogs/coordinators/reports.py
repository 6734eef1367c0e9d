"""`/report popularity|csv|audit|audit-export`: which sessions people value, and who changed what.

Reports are posted for everyone only in the coordinators' channel; elsewhere only the asker sees them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Final

import discord
from discord import app_commands

from bot.adapters.limits import MESSAGE_CHARS
from bot.model import Actor, AuditRow
from bot.schedule.rules import discord_timestamp, utc_to_pacific
from bot.services.popularity import PopularityReport, render_chart, render_table, to_csv
from bot.services.reports import audit_csv
from bot.texts import coordinators as texts
from bot.validation import display_safe, safe_cut
from cogs.base import PracticeCog
from cogs.coordinators.common import Weeks, coordinator, coordinators_group, fitted

MAX_DETAIL: Final = 160
MAX_AUDIT: Final = 50


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
        details=f" — {safe_cut(details, MAX_DETAIL)}" if details else "",
    )


def csv_file(text: str, filename: str) -> discord.File:
    """A CSV attachment, UTF-8 with a byte-order mark so spreadsheet apps show every script correctly."""
    return discord.File(io.BytesIO(text.encode("utf-8-sig")), filename=filename)


class Reports(PracticeCog):
    """The coordinators' reports."""

    report_group = coordinators_group("report", texts.REPORT_GROUP)

    def _private(self, interaction: discord.Interaction) -> bool:
        """Reports are posted for everyone only in the coordinators' channel; elsewhere only the asker sees them."""
        return interaction.channel_id != self.bot.core.config.channels.coordinators

    async def _popularity(self, actor: Actor, weeks: int) -> tuple[PopularityReport, dt.datetime]:
        """The popularity figures of the last `weeks` weeks, and the moment they end."""
        now = self.bot.core.clock()
        return await self.bot.core.reports.popularity(actor, now - dt.timedelta(weeks=weeks), now), now

    @report_group.command(name="popularity", description="Which sessions people sign up for and attend (table, chart)")
    @app_commands.describe(weeks="How many weeks back to look (4 if you leave it out)")
    async def report_popularity(self, interaction: discord.Interaction, weeks: Weeks = 4) -> None:
        """Post the popularity table and a heatmap PNG in the coordinators' channel."""
        actor = coordinator(interaction)
        private = self._private(interaction)
        await interaction.response.defer(ephemeral=private, thinking=True)
        report, now = await self._popularity(actor, weeks)
        # matplotlib takes a moment; the event loop keeps serving everyone else meanwhile.
        chart = await asyncio.to_thread(render_chart, report)
        channel = self.bot.core.config.channels.coordinators
        template = texts.POPULARITY_PRIVATE if private else texts.POPULARITY_POSTED
        heading = template.format(weeks=weeks, channel=channel)
        table = render_table(report)
        room = MESSAGE_CHARS - len(heading) - len("\n```\n\n```")
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
    async def report_csv(self, interaction: discord.Interaction, weeks: Weeks = 4) -> None:
        """Attach the popularity figures as CSV."""
        private = self._private(interaction)
        report, now = await self._popularity(coordinator(interaction), weeks)
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
        rows = await self.bot.core.reports.change_log(coordinator(interaction), limit)
        description = fitted([audit_line(row) for row in rows]) if rows else texts.AUDIT_EMPTY
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.AUDIT_TITLE, description=description), ephemeral=True
        )

    @report_group.command(name="audit-export", description="The whole change log as a spreadsheet (CSV)")
    async def report_audit_export(self, interaction: discord.Interaction) -> None:
        """Attach the whole change log as CSV, privately."""
        rows = await self.bot.core.reports.change_log(coordinator(interaction))
        guild = interaction.guild
        names = {} if guild is None else {member.id: member.display_name for member in guild.members}
        filename = f"change-log-{utc_to_pacific(self.bot.core.clock()):%Y-%m-%d}.csv"
        await interaction.response.send_message(
            texts.AUDIT_EXPORT.format(count=len(rows)), file=csv_file(audit_csv(rows, names), filename), ephemeral=True
        )
