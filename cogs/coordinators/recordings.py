"""`/recordings list|verify|reload`: the approved recordings, and any refused with why."""

from __future__ import annotations

from typing import Final

import discord

from bot.adapters.limits import MESSAGE_CHARS
from bot.errors import RecordingError
from bot.media.recordings import ADD_COMMAND, RecordingCatalog
from bot.model import Recording
from bot.texts import coordinators as texts
from bot.validation import display_safe, safe_cut
from cogs.base import PracticeCog
from cogs.coordinators.common import coordinator, coordinators_group, deferred_coordinator, fitted

MAX_PROBLEM: Final = 300


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
        detail=safe_cut(result.problem, MAX_PROBLEM),
    )


class Recordings(PracticeCog):
    """The coordinators' view of the approved recordings."""

    recordings_group = coordinators_group("recordings", texts.RECORDINGS_GROUP)

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
                texts.REFUSED_LINE.format(entry=display_safe(error.entry), problem=safe_cut(error.problem, MAX_PROBLEM))
                for error in catalog.refused
            ]
        if not lines:
            lines.append(texts.RECORDINGS_NONE.format(command=ADD_COMMAND))
        await interaction.response.send_message(
            embed=discord.Embed(title=texts.RECORDINGS_TITLE, description=fitted(lines)), ephemeral=True
        )

    @recordings_group.command(name="verify", description="Check every recording file again now (nothing changes)")
    async def recordings_verify(self, interaction: discord.Interaction) -> None:
        """Re-hash every file now and report; the list in use stays as it is."""
        actor = await deferred_coordinator(interaction)
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
        await interaction.followup.send(fitted(lines, MESSAGE_CHARS), ephemeral=True)

    @recordings_group.command(name="reload", description="Put the recordings list into use without a restart")
    async def recordings_reload(self, interaction: discord.Interaction) -> None:
        """Reload recordings.yaml; the previous list stays in use if the new one cannot be read."""
        actor = await deferred_coordinator(interaction)
        catalog = await self.bot.core.reload_recordings(actor)
        lines = [
            texts.RECORDINGS_RELOADED.format(ok=len(catalog.recordings), refused=len(catalog.refused)),
            *(verify_line(error) for error in catalog.refused),
        ]
        await interaction.followup.send(fitted(lines, MESSAGE_CHARS), ephemeral=True)
