"""The Claim button of one session (`pc:claim:{occurrence}`), and what claiming answers.

It is sent on alerts in the teachers' channel (bot.adapters.delivery) and on `/teach open`
(cogs.teachers, which registers it at start-up), so it works on any message after any restart.
"""

from __future__ import annotations

import discord

from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.interactions import actor_of, core_of
from bot.schedule.rules import format_pacific, when
from bot.texts import teachers as texts
from bot.validation import display_safe


async def claim_session(interaction: discord.Interaction, occurrence_id: int) -> None:
    """Claim a session for the person interacting and thank them privately."""
    sessions = core_of(interaction).sessions
    occurrence = await sessions.claim(actor_of(interaction), occurrence_id)
    await interaction.response.send_message(
        texts.CLAIMED.format(
            title=display_safe(occurrence.title),
            when=when(occurrence.start_utc),
            pacific=format_pacific(occurrence.start_utc),
            signups=await sessions.signup_count(occurrence.id),
        ),
        ephemeral=True,
    )


class ClaimButton(PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["claim"]):
    """The persistent Claim button of one session (`pc:claim:{occurrence}`)."""

    def __init__(self, occurrence: int, label: str = texts.CLAIM_BUTTON) -> None:
        super().__init__(self.button(label, discord.ButtonStyle.success, occurrence=occurrence))
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Claim the session; a race lost or a refusal becomes a kind private reply."""
        await claim_session(interaction, self.occurrence_id)
