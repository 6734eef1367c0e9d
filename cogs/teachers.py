"""Teachers: claim, release and prepare sessions; the persistent Claim button.

`/teach claim`, `/teach release`, `/teach mine`, `/teach open` and `/teach practice`. Every command
is refused kindly to anyone without the teacher role (checked here and again in the core, since
server admins can change who sees a command). The Claim button (`pc:claim:{occurrence}`,
bot.adapters.claim) is registered here, so it works on any message that carries it (alerts,
listings) after any restart.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.claim import ClaimButton, claim_session
from bot.adapters.formatting import fit_lines, practice_choices, session_choices
from bot.adapters.interactions import actor_of, member_actor
from bot.adapters.limits import BUTTONS, EMBED_DESCRIPTION_CHARS
from bot.model import Actor
from bot.schedule.rules import discord_timestamp, when
from bot.services.permissions import require_teacher
from bot.services.sessions import MAX_LISTING_DAYS, SessionSummary
from bot.texts import teachers as texts
from bot.validation import display_safe
from cogs.base import PracticeCog, Reason


def session_line(template: str, summary: SessionSummary, **extra: object) -> str:
    """One session in a teacher's listing: number, title, when (own zone) and how soon, and any `extra`."""
    occurrence = summary.occurrence
    return template.format(
        id=occurrence.id,
        title=display_safe(occurrence.title),
        when=when(occurrence.start_utc),
        relative=discord_timestamp(occurrence.start_utc, "R"),
        **extra,
    )


class Teachers(PracticeCog):
    """The teachers' commands."""

    teach = app_commands.Group(
        name="teach",
        description="For teachers: claim, release and prepare the sessions you lead",
        guild_only=True,
    )

    persistent_items = (ClaimButton,)

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Losing the Teacher role releases the member's claims and ends their leading (coordinators told)."""
        config = self.bot.core.config
        if before.guild.id != config.guild.id:
            return
        had = any(role.id == config.roles.teacher for role in before.roles)
        if had and not any(role.id == config.roles.teacher for role in after.roles):
            await self.bot.core.runner.teacher_role_removed(member_actor(after))

    def _teacher(self, interaction: discord.Interaction) -> Actor:
        actor = actor_of(interaction)
        require_teacher(actor, self.bot.core.config.roles)
        return actor

    # --- autocomplete -----------------------------------------------------------------------------

    async def unclaimed_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions that still need a teacher."""
        summaries = await self.bot.core.sessions.unclaimed(MAX_LISTING_DAYS)
        return await session_choices(interaction, [summary.occurrence for summary in summaries], current)

    async def my_claim_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Upcoming sessions the person interacting has claimed."""
        summaries = await self.bot.core.sessions.teacher_sessions(interaction.user.id)
        return await session_choices(interaction, [summary.occurrence for summary in summaries], current)

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
    async def release(self, interaction: discord.Interaction, session: int, reason: Reason) -> None:
        """Release a claimed session with a reason."""
        actor = self._teacher(interaction)
        # Members signed up are told before release() returns, which can outlast Discord's 3 s to answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        occurrence = await self.bot.core.sessions.release(actor, session, reason)
        await interaction.followup.send(
            texts.RELEASED.format(title=display_safe(occurrence.title), when=when(occurrence.start_utc)), ephemeral=True
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
            session_line(
                texts.MINE_LINE,
                summary,
                practice=display_safe(summary.occurrence.practice or texts.NO_PRACTICE_YET),
                signups=summary.signups,
            )
            for summary in summaries
        ]
        description, _ = fit_lines(lines, texts.MORE, limit=EMBED_DESCRIPTION_CHARS)
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
        lines = [session_line(texts.OPEN_LINE, summary) for summary in summaries[:BUTTONS]]
        description, shown = fit_lines(lines, texts.MORE, limit=EMBED_DESCRIPTION_CHARS, total=len(summaries))
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
                title=display_safe(occurrence.title), when=when(occurrence.start_utc), practice=occurrence.practice
            ),
            ephemeral=True,
        )


async def setup(bot: PracticeCirclesBot) -> None:
    """Load the cog."""
    await bot.add_cog(Teachers(bot))
