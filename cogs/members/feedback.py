"""`/feedback`: a form whose words go to the volunteer coordinators, optionally about one recent session."""

from __future__ import annotations

from collections.abc import Sequence

import discord
from discord import app_commands

from bot.adapters.buttons import CUSTOM_IDS
from bot.adapters.error_reply import reply_to_error
from bot.adapters.formatting import own_zone, session_label
from bot.adapters.interactions import core_of
from bot.adapters.limits import CHOICES
from bot.model import OccurrenceRow
from bot.services.sessions import MAX_FEEDBACK
from bot.texts import members as texts
from cogs.base import PracticeCog


class FeedbackModal(discord.ui.Modal):
    """Free text for the coordinators, optionally about one recent session, with the member's name or anonymously."""

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
                    discord.SelectOption(label=session_label(row, zone), value=str(row.id)) for row in recent[:CHOICES]
                ],
            )
            self.add_item(discord.ui.Label(text=texts.FEEDBACK_SESSION_LABEL, component=self.session))
        self.name: discord.ui.Select[FeedbackModal] = discord.ui.Select(
            custom_id="name",
            placeholder=texts.FEEDBACK_NAME_PLACEHOLDER,
            min_values=0,
            max_values=1,
            required=False,
            options=[
                discord.SelectOption(label=texts.FEEDBACK_WITH_NAME, value="named"),
                discord.SelectOption(label=texts.FEEDBACK_ANONYMOUS, value="anonymous"),
            ],
        )
        self.add_item(discord.ui.Label(text=texts.FEEDBACK_NAME_LABEL, component=self.name))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the feedback (the core passes it to the coordinators) and thank the member."""
        chosen = self.session.values if self.session is not None else []
        # Posting to the coordinators' channel can outlast the 3 s Discord allows for an answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        await core_of(interaction).sessions.add_feedback(
            interaction.user.id,
            self.text.value,
            int(chosen[0]) if chosen else None,
            anonymous=self.name.values == ["anonymous"],
        )
        await interaction.followup.send(texts.FEEDBACK_THANKS, ephemeral=True)

    # discord.py types Modal.on_error with BaseView's extra `item` argument, which a modal never gets.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        """Errors go to the bot's one error handler."""
        await reply_to_error(interaction, error)


class Feedback(PracticeCog):
    """Members' words for the coordinators."""

    @app_commands.command(name="feedback", description="Share feedback with our volunteer coordinators")
    @app_commands.guild_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        """Open the feedback form."""
        recent = await self.bot.core.sessions.recent_sessions()
        custom_id = CUSTOM_IDS["feedback"].make(interaction=interaction.id)
        await interaction.response.send_modal(FeedbackModal(custom_id, recent, await own_zone(interaction)))
