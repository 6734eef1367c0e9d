"""The buttons on every reminder and notice: leave that session, stop reminders. They work from the DM itself.

An interaction in a DM has no guild member: these act on the user id alone, and only on that
person's own sign-up and settings, which anyone may change for themselves (even after leaving
the server, so nobody is stuck receiving messages). Actions only members may take are refused by
the core for an actor who is not in the server (`bot.adapters.interactions.actor_of`).
"""

from __future__ import annotations

from typing import Any

import discord

from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.interactions import core_of
from bot.schedule.rules import when
from bot.texts import members as member_texts
from bot.texts import privacy as texts
from bot.validation import display_safe


class LeaveSessionButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["message-leave"]):
    """Leave the session a reminder or notice is about (`pc:msg-leave:{occurrence}`)."""

    def __init__(self, occurrence: int) -> None:
        super().__init__(self.button(texts.DM_LEAVE_BUTTON, occurrence=occurrence))
        self.occurrence_id = occurrence

    async def run(self, interaction: discord.Interaction) -> None:
        """Take the presser (by user id) off the session; say so privately."""
        sessions = core_of(interaction).sessions
        removed = await sessions.sign_out(interaction.user.id, self.occurrence_id)
        occurrence = await sessions.session(self.occurrence_id)
        template = member_texts.SIGNED_OUT if removed else member_texts.NOT_SIGNED_UP
        await interaction.response.send_message(
            template.format(title=display_safe(occurrence.title), when=when(occurrence.start_utc)), ephemeral=True
        )


class StopRemindersButton(PersistentItem[discord.ui.Button[Any]], custom_id=CUSTOM_IDS["message-stop-reminders"]):
    """No more reminders for the presser (`pc:msg-stop-reminders`); notices of changes still come."""

    def __init__(self) -> None:
        super().__init__(self.button(texts.DM_STOP_REMINDERS_BUTTON))

    async def run(self, interaction: discord.Interaction) -> None:
        """Turn the presser's reminders off."""
        stopped = await core_of(interaction).sessions.stop_reminders(interaction.user.id)
        message = texts.REMINDERS_STOPPED if stopped else texts.REMINDERS_ALREADY_STOPPED
        await interaction.response.send_message(message, ephemeral=True)


def message_buttons(occurrence_id: int) -> discord.ui.View:
    """The two buttons every reminder and notice carries."""
    view = discord.ui.View(timeout=None)
    view.add_item(LeaveSessionButton(occurrence_id))
    view.add_item(StopRemindersButton())
    return view


MESSAGE_ITEMS = (LeaveSessionButton, StopRemindersButton)
