"""Fakes for the core's Discord-facing protocols, for tests of the core without Discord."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.model import Actor, OccurrenceRow, Recording, Venue
from bot.ports import OnVoiceTrouble, PlaybackResult, RestoreOutcome


@dataclass
class FakeRoom:
    """Records what the runner asked of Discord."""

    people: list[Actor] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    hold_playback: asyncio.Event | None = None
    practice_started: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: int = 0
    opened: int = 0
    closed: int = 0
    choices_offered: int = 0
    invited: list[int] = field(default_factory=list)

    async def venue(self, occurrence: OccurrenceRow) -> Venue:
        return "voice"

    async def open(self, occurrence: OccurrenceRow, venue: Venue, *, speak: bool) -> None:
        self.opened += 1

    async def ensure_stage(self, occurrence: OccurrenceRow) -> None:
        return None

    async def invite_to_speak(self, occurrence: OccurrenceRow, member: Actor) -> None:
        self.invited.append(member.user_id)

    async def post(self, occurrence: OccurrenceRow, text: str) -> None:
        self.posts.append(text)

    async def offer_choice(
        self, occurrence: OccurrenceRow, recordings: Sequence[Recording], silent: Sequence[int]
    ) -> None:
        self.choices_offered += 1

    async def present(self, occurrence: OccurrenceRow) -> list[Actor]:
        return list(self.people)

    async def restrict(self, occurrence: OccurrenceRow, venue: Venue, everyone: Sequence[Actor]) -> dict[str, Any]:
        return {"muted": [p.user_id for p in everyone], "chat": {"previous": None}}

    async def silence(self, occurrence: OccurrenceRow, venue: Venue, member: Actor) -> dict[str, Any]:
        return {"muted": [member.user_id]}

    async def restore(self, occurrence: OccurrenceRow, venue: Venue, restrictions: dict[str, Any]) -> RestoreOutcome:
        self.restored.append(restrictions)
        return RestoreOutcome()

    async def play(
        self,
        occurrence: OccurrenceRow,
        recording: Recording,
        *,
        skip_seconds: float = 0.0,
        on_trouble: OnVoiceTrouble | None = None,
    ) -> PlaybackResult:
        if recording.id in self.refuse:
            return PlaybackResult(finished=False, refused=True, reason="its sha256 does not match the approved list")
        self.played.append(recording.id)
        if self.hold_playback is not None and recording.kind == "practice":
            self.practice_started.set()
            await self.hold_playback.wait()
            return PlaybackResult(finished=False)
        return PlaybackResult(finished=True)

    async def stop_playback(self, occurrence: OccurrenceRow) -> None:
        self.stopped += 1
        if self.hold_playback is not None:
            self.hold_playback.set()

    async def close(self, occurrence: OccurrenceRow, venue: Venue) -> None:
        self.closed += 1
