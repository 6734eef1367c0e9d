"""The buttons and selects of a session's room: the participants' choice and the self-care button.

All are persistent (`PersistentItem`, custom ids from `CUSTOM_IDS`), so they keep working across
restarts, and their errors get the bot's one error reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from bot import texts
from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.interactions import actor_of, core_of
from bot.adapters.limits import CHOICE_NAME_CHARS, CHOICES, SELECT_OPTION_DESCRIPTION_CHARS
from bot.model import Recording
from bot.texts import privacy as privacy_texts
from bot.validation import display_safe, plain_cut


async def _choose(interaction: discord.Interaction, occurrence_id: int, choice: str) -> None:
    """Ask the runner for the participant's choice and thank them privately."""
    label = await core_of(interaction).runner.choose(occurrence_id, actor_of(interaction), choice)
    await interaction.response.send_message(texts.CHOICE_THANKS.format(choice=display_safe(label)), ephemeral=True)


class SilentSitButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["silent-sit"]):
    """Choose a silent sit of N minutes (`pc:sit:{occurrence}:{minutes}`)."""

    def __init__(self, occurrence: int, minutes: int) -> None:
        super().__init__(
            self.button(texts.SILENT_SIT_BUTTON.format(minutes=minutes), occurrence=occurrence, minutes=minutes)
        )
        self.occurrence_id = occurrence
        self.minutes = minutes

    async def run(self, interaction: discord.Interaction) -> None:
        """Ask the runner for a silent sit."""
        await _choose(interaction, self.occurrence_id, f"silent:{self.minutes}")


class RecordingSelect(PersistentItem[discord.ui.Select[Any]], custom_id=CUSTOM_IDS["play"]):
    """Choose one approved recording (`pc:play:{occurrence}`); the options travel with the interaction."""

    def __init__(self, occurrence: int, recordings: Sequence[Recording] = ()) -> None:
        options = [
            discord.SelectOption(
                label=plain_cut(recording.title, CHOICE_NAME_CHARS),
                value=recording.id,
                description=plain_cut(recording.source, SELECT_OPTION_DESCRIPTION_CHARS),
            )
            for recording in recordings[:CHOICES]
        ] or [discord.SelectOption(label=texts.NO_RECORDINGS, value="none")]
        super().__init__(
            discord.ui.Select(
                placeholder=texts.RECORDING_PLACEHOLDER,
                options=options,
                custom_id=self.custom_id_template.make(occurrence=occurrence),
                disabled=not recordings,
            )
        )
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Ask the runner to play the chosen approved recording."""
        select = self.item
        choice = f"recording:{select.values[0]}" if select.values else "recording:"
        await _choose(interaction, self.occurrence_id, choice)


class SelfCareButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["self-care"]):
    """Permission to leave and offline self-care ideas, privately (`pc:care:{occurrence}`)."""

    def __init__(self, occurrence: int) -> None:
        super().__init__(self.button(texts.SELF_CARE_BUTTON, discord.ButtonStyle.success, occurrence=occurrence))
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Show the self-care words privately."""
        ideas = "\n".join(f"• {idea}" for idea in texts.SELF_CARE_IDEAS)
        await interaction.response.send_message(
            f"{texts.SELF_CARE_INTRO}\n{ideas}\n\n{texts.SELF_CARE_CLOSING}", ephemeral=True
        )


class CountMeInButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["count-me-in"]):
    """On the session card: agree to be counted in the attendance (`pc:count-me:{occurrence}`)."""

    def __init__(self, occurrence: int) -> None:
        super().__init__(self.button(privacy_texts.COUNT_ME_BUTTON, occurrence=occurrence))
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Sign the presser up (their agreement), counting them if they are already in the room."""
        core = core_of(interaction)
        counted = await core.count_me_in(interaction.user.id, self.occurrence_id)
        occurrence = await core.sessions.session(self.occurrence_id)
        template = privacy_texts.COUNTED if counted else privacy_texts.SIGNED_UP_TO_BE_COUNTED
        await interaction.response.send_message(template.format(title=display_safe(occurrence.title)), ephemeral=True)


def choice_view(occurrence_id: int, recordings: Sequence[Recording], silent_minutes: Sequence[int]) -> discord.ui.View:
    """The participants' choice: a select of approved recordings and a button per silent-sit length."""
    view = discord.ui.View(timeout=None)
    view.add_item(RecordingSelect(occurrence_id, recordings))
    for minutes in silent_minutes:
        view.add_item(SilentSitButton(occurrence_id, minutes))
    view.add_item(SelfCareButton(occurrence_id))
    return view


def card_view(occurrence_id: int) -> discord.ui.View:
    """The session card's buttons: self-care, and agreeing to be counted."""
    view = discord.ui.View(timeout=None)
    view.add_item(SelfCareButton(occurrence_id))
    view.add_item(CountMeInButton(occurrence_id))
    return view


ROOM_ITEMS = (SilentSitButton, RecordingSelect, SelfCareButton, CountMeInButton)
