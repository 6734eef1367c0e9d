"""The buttons and selects of a session's room: the participants' choice and the self-care button.

All are persistent (`DynamicItem` with stable custom ids), so they keep working across restarts.
Errors go through the bot's one error handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from bot import texts
from bot.adapters.error_reply import reply_to_error
from bot.adapters.interactions import actor_of
from bot.model import Recording
from bot.validation import display_safe

if TYPE_CHECKING:
    from bot.adapters.bot import PracticeCirclesBot


async def _answer(interaction: discord.Interaction[PracticeCirclesBot], action: Any) -> None:
    try:
        message = await action
    except Exception as error:
        await reply_to_error(interaction, error)
        return
    await interaction.response.send_message(message, ephemeral=True)


class SilentSitButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pc:sit:(?P<occurrence>\d+):(?P<minutes>\d+)"
):
    """Choose a silent sit of N minutes."""

    def __init__(self, occurrence_id: int, minutes: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.SILENT_SIT_BUTTON.format(minutes=minutes),
                style=discord.ButtonStyle.secondary,
                custom_id=f"pc:sit:{occurrence_id}:{minutes}",
            )
        )
        self.occurrence_id = occurrence_id
        self.minutes = minutes

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> SilentSitButton:
        """Rebuild from the custom id."""
        return cls(int(match["occurrence"]), int(match["minutes"]))

    async def callback(self, interaction: discord.Interaction[PracticeCirclesBot]) -> None:  # type: ignore[override]
        """Ask the runner for a silent sit."""
        runner = interaction.client.core.runner
        await _answer(
            interaction,
            _chosen(runner.choose(self.occurrence_id, actor_of(interaction), f"silent:{self.minutes}")),
        )


class RecordingSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"pc:play:(?P<occurrence>\d+)"):
    """Choose one approved recording."""

    def __init__(self, occurrence_id: int, recordings: Sequence[Recording] = ()) -> None:
        options = [
            discord.SelectOption(label=recording.title[:100], value=recording.id, description=recording.source[:100])
            for recording in recordings[:25]
        ] or [discord.SelectOption(label=texts.NO_RECORDINGS, value="none")]
        super().__init__(
            discord.ui.Select(
                placeholder=texts.RECORDING_PLACEHOLDER,
                options=options,
                custom_id=f"pc:play:{occurrence_id}",
                disabled=not recordings,
            )
        )
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> RecordingSelect:
        """Rebuild from the custom id (the options travel with the interaction)."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction[PracticeCirclesBot]) -> None:  # type: ignore[override]
        """Ask the runner to play the chosen approved recording."""
        select = self.item
        choice = f"recording:{select.values[0]}" if select.values else "recording:"
        runner = interaction.client.core.runner
        await _answer(interaction, _chosen(runner.choose(self.occurrence_id, actor_of(interaction), choice)))


async def _chosen(choice: Any) -> str:
    label = await choice
    return texts.CHOICE_THANKS.format(choice=display_safe(label))


class SelfCareButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"pc:care:(?P<occurrence>\d+)"):
    """Permission to leave and offline self-care ideas, privately."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=texts.SELF_CARE_BUTTON, style=discord.ButtonStyle.success, custom_id=f"pc:care:{occurrence_id}"
            )
        )
        self.occurrence_id = occurrence_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> SelfCareButton:
        """Rebuild from the custom id."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction[PracticeCirclesBot]) -> None:  # type: ignore[override]
        """Show the self-care words privately."""
        ideas = "\n".join(f"• {idea}" for idea in texts.SELF_CARE_IDEAS)
        await interaction.response.send_message(
            f"{texts.SELF_CARE_INTRO}\n{ideas}\n\n{texts.SELF_CARE_CLOSING}", ephemeral=True
        )


def choice_view(occurrence_id: int, recordings: Sequence[Recording], silent_minutes: Sequence[int]) -> discord.ui.View:
    """The participants' choice: a select of approved recordings and a button per silent-sit length."""
    view = discord.ui.View(timeout=None)
    view.add_item(RecordingSelect(occurrence_id, recordings))
    for minutes in silent_minutes:
        view.add_item(SilentSitButton(occurrence_id, minutes))
    view.add_item(SelfCareButton(occurrence_id))
    return view


def card_view(occurrence_id: int) -> discord.ui.View:
    """The session card's button."""
    view = discord.ui.View(timeout=None)
    view.add_item(SelfCareButton(occurrence_id))
    return view


ROOM_ITEMS = (SilentSitButton, RecordingSelect, SelfCareButton)
