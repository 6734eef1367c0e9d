"""The one error reply: every failed interaction (command, button, select, form) is answered here."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot import texts
from bot.errors import PracticeCirclesError

log = logging.getLogger(__name__)


async def reply_to_error(interaction: discord.Interaction, error: Exception) -> None:
    """Answer an interaction that failed: the domain message, or an apology with a reference id."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(cause, PracticeCirclesError):
        message = cause.message
    elif isinstance(cause, app_commands.CheckFailure):
        message = texts.NOT_ALLOWED
    elif isinstance(cause, app_commands.TransformerError):
        # A channel, member or role Discord sent that this server's cache lacks (another server's, or
        # one just removed): a choice to make again, not a bug.
        option = next((name for name, value in interaction.namespace if value is cause.value), "?")
        what = texts.OPTION_KINDS.get(cause.type.name, "value")
        message = texts.UNUSABLE_OPTION.format(what=what, option=option)
    else:
        reference = secrets.token_hex(4)
        log.error("unexpected error %s in interaction %s", reference, interaction.id, exc_info=cause)
        message = texts.UNEXPECTED_ERROR.format(reference=reference)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver the error reply for interaction %s", interaction.id)
