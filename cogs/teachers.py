"""Teachers: claim, release and prepare sessions; the persistent Claim button.

`/teach claim`, `/teach release`, `/teach mine`, `/teach open` and `/teach practice`. Every command
is refused kindly to anyone without the teacher role (checked here and again in the core, since
server admins can change who sees a command). The Claim button (`pc:claim:<occurrence>`) is a
DynamicItem, so it works on any message that carries it (alerts, listings) after any restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.delivery import CLAIM_CUSTOM_ID_PATTERN, claim_button
from bot.adapters.error_reply import reply_to_error
from bot.adapters.interactions import actor_of, core_of
from bot.model import Actor, OccurrenceRow
from bot.schedule.rules import discord_timestamp, format_pacific
from bot.services.permissions import require_teacher
from bot.services.practices import suggest_practices
from bot.services.sessions import MAX_LISTING_DAYS, MAX_REASON, SessionSummary
from bot.texts import teachers as texts
from bot.validation import display_safe

# Discord's limits: 25 autocomplete choices of up to 100 characters, 25 buttons, 4096 in a description.
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_BUTTONS = 25
MAX_DESCRIPTION = 4096


def when(occurrence: OccurrenceRow) -> str:
    """A session's start as every reader sees it in their own time zone."""
    return discord_timestamp(occurrence.start_utc, "F")


def session_choices(summaries: Sequence[SessionSummary], typed: str) -> list[app_commands.Choice[int]]:
    """Autocomplete choices for sessions whose number or title contains what was typed."""
    wanted = str(typed).strip().lstrip("#").casefold()
    choices = []
    for summary in summaries:
        occurrence = summary.occurrence
        if wanted and wanted not in str(occurrence.id) and wanted not in occurrence.title.casefold():
            continue
        # Choice names are plain text (no markdown, no mentions), so the title is shown as typed.
        name = texts.SESSION_CHOICE.format(
            id=occurrence.id, title=occurrence.title, pacific=format_pacific(occurrence.start_utc)
        )
        if len(name) > MAX_CHOICE_NAME:
            name = name[: MAX_CHOICE_NAME - 1] + "…"
        choices.append(app_commands.Choice(name=name, value=occurrence.id))
        if len(choices) == MAX_CHOICES:
            break
    return choices


async def claim_session(interaction: discord.Interaction, occurrence_id: int) -> None:
    """Claim a session for the person interacting and thank them privately."""
    core = core_of(interaction)
    occurrence = await core.sessions.claim(actor_of(interaction), occurrence_id)
    signups = await core.db.count_signups(occurrence.id)
    await interaction.response.send_message(
        texts.CLAIMED.format(
            title=display_safe(occurrence.title),
            when=when(occurrence),
            pacific=format_pacific(occurrence.start_utc),
            signups=signups,
        ),
        ephemeral=True,
    )


class ClaimButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=CLAIM_CUSTOM_ID_PATTERN):
    """The persistent Claim button of one session (`pc:claim:<occurrence>`)."""

    def __init__(self, occurrence_id: int, label: str | None = None) -> None:
        super().__init__(claim_button(occurrence_id, label or texts.CLAIM_BUTTON))
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ClaimButton:
        """Rebuild the button from a pressed custom id."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Claim the session; a race lost or a refusal becomes a kind private reply."""
        try:
            await claim_session(interaction, self.occurrence_id)
        except Exception as error:
            await self.on_error(interaction, error)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Errors go to the bot's one error handler (discord.py only logs a DynamicItem's errors)."""
        await reply_to_error(interaction, error)


class Teachers(commands.Cog):
    """The teachers' commands."""

    teach = app_commands.Group(
        name="teach",
        description="For teachers: claim, release and prepare the sessions you lead",
        guild_only=True,
    )

    def __init__(self, bot: PracticeCirclesBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Answer Claim buttons on any message, including those sent before a restart."""
        self.bot.add_dynamic_items(ClaimButton)

    async def cog_unload(self) -> None:
        """Stop answering Claim buttons."""
        self.bot.remove_dynamic_items(ClaimButton)

    def _teacher(self, interaction: discord.Interaction) -> Actor:
        actor = actor_of(interaction)
        require_teacher(actor, self.bot.core.config.roles)
        return actor

    # --- autocomplete -----------------------------------------------------------------------------

    async def unclaimed_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions that still need a teacher."""
        return session_choices(await self.bot.core.sessions.unclaimed(MAX_LISTING_DAYS), current)

    async def my_claim_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions the person interacting has claimed."""
        return session_choices(await self.bot.core.sessions.teacher_sessions(interaction.user.id), current)

    async def practice_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Practices from the course's catalog."""
        return [app_commands.Choice(name=name, value=name) for name in suggest_practices(str(current), MAX_CHOICES)]

    # --- commands ---------------------------------------------------------------------------------

    @teach.command(name="claim", description="Lead a session that still needs a teacher")
    @app_commands.describe(session="The session (start typing its name or number)")
    @app_commands.autocomplete(session=unclaimed_choices)
    async def claim(self, interaction: discord.Interaction, session: int) -> None:
        """Claim a session."""
        self._teacher(interaction)
        await claim_session(interaction, session)

    @teach.command(name="release", description="Give back a session you can't lead; coordinators are told at once")
    @app_commands.describe(session="One of your sessions", reason="A few words for the coordinators")
    @app_commands.autocomplete(session=my_claim_choices)
    async def release(
        self, interaction: discord.Interaction, session: int, reason: app_commands.Range[str, 1, MAX_REASON]
    ) -> None:
        """Release a claimed session with a reason."""
        actor = self._teacher(interaction)
        # Members signed up are told before release() returns, which can outlast Discord's 3 s to answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        occurrence = await self.bot.core.sessions.release(actor, session, reason)
        await interaction.followup.send(
            texts.RELEASED.format(title=display_safe(occurrence.title), when=when(occurrence)), ephemeral=True
        )

    @teach.command(name="mine", description="The sessions you are leading")
    async def mine(self, interaction: discord.Interaction) -> None:
        """List my upcoming sessions."""
        actor = self._teacher(interaction)
        summaries = await self.bot.core.sessions.teacher_sessions(actor.user_id)
        if not summaries:
            await interaction.response.send_message(texts.MINE_EMPTY, ephemeral=True)
            return
        lines = [
            texts.MINE_LINE.format(
                id=summary.occurrence.id,
                title=display_safe(summary.occurrence.title),
                when=when(summary.occurrence),
                relative=discord_timestamp(summary.occurrence.start_utc, "R"),
                practice=display_safe(summary.occurrence.practice or texts.NO_PRACTICE_YET),
                signups=summary.signups,
            )
            for summary in summaries
        ]
        description, _ = fit_lines(lines, len(lines))
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.MINE_TITLE, description=description), ephemeral=True
        )

    @teach.command(name="open", description="Sessions that still need a teacher, each with a Claim button")
    @app_commands.describe(days="How many days ahead to look (1-28; 14 if you leave it out)")
    async def open_sessions(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, MAX_LISTING_DAYS] = 14
    ) -> None:
        """List unclaimed sessions with Claim buttons."""
        self._teacher(interaction)
        summaries = await self.bot.core.sessions.unclaimed(days)
        if not summaries:
            await interaction.response.send_message(texts.OPEN_EMPTY.format(days=days), ephemeral=True)
            return
        lines = [
            texts.OPEN_LINE.format(
                id=summary.occurrence.id,
                title=display_safe(summary.occurrence.title),
                when=when(summary.occurrence),
                relative=discord_timestamp(summary.occurrence.start_utc, "R"),
            )
            for summary in summaries[:MAX_BUTTONS]
        ]
        description, shown = fit_lines(lines, len(summaries))
        view = discord.ui.View(timeout=None)
        for summary in summaries[:shown]:
            view.add_item(
                ClaimButton(summary.occurrence.id, texts.CLAIM_BUTTON_NUMBERED.format(id=summary.occurrence.id))
            )
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.OPEN_TITLE, description=description), view=view, ephemeral=True
        )

    @teach.command(name="practice", description="Choose the practice for a session you lead")
    @app_commands.describe(session="One of your sessions", practice="A practice from the course (start typing)")
    @app_commands.autocomplete(session=my_claim_choices)
    @app_commands.autocomplete(practice=practice_choices)
    async def practice(self, interaction: discord.Interaction, session: int, practice: str) -> None:
        """Choose a session's practice from the course's catalog."""
        occurrence = await self.bot.core.sessions.choose_practice(self._teacher(interaction), session, practice)
        await interaction.response.send_message(
            texts.PRACTICE_CHOSEN.format(
                title=display_safe(occurrence.title), when=when(occurrence), practice=occurrence.practice
            ),
            ephemeral=True,
        )


def fit_lines(lines: Sequence[str], total: int) -> tuple[str, int]:
    """As many of `total` lines as fit in an embed description, then "…and N more"; returns it and how many."""
    kept: list[str] = []
    for line in lines:
        left = total - len(kept) - 1
        tail = "\n" + texts.MORE.format(count=left) if left else ""
        if len("\n".join([*kept, line]) + tail) > MAX_DESCRIPTION:
            break
        kept.append(line)
    shown = len(kept)
    if total > shown:
        kept.append(texts.MORE.format(count=total - shown))
    return "\n".join(kept), shown


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Teachers(bot))
