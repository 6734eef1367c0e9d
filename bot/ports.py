"""The ports: every Protocol the core asks of the outside world, and the small values they exchange.

The Discord layer (`bot.adapters`) implements them; tests implement them with fakes. Nothing here
imports discord, and the core depends only on these shapes, never on an adapter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.model import Actor, DeliveryRow, OccurrenceRow, Recording, Venue


class Announcer(Protocol):
    """Where the core posts to the volunteers (implemented by the Discord layer)."""

    async def to_coordinators(self, text: str) -> None:
        """Post a short message in the coordinators' channel."""
        ...

    async def to_teachers(self, text: str, claim_occurrence_id: int) -> None:
        """Post in the teachers' channel with a Claim button for that session."""
        ...


class BoardPublisher(Protocol):
    """Where the schedule board is shown (implemented by the Discord layer; tests use fakes)."""

    async def publish(self, channel_id: int, sessions: Sequence[Any], message_id: int | None) -> int:
        """Edit the board message in place, or post it when there is none (or it was deleted); return its id."""
        ...


class PrivateRoute(Protocol):
    """What the Discord layer undoes for a member who asked to be forgotten."""

    async def forget(self, user_id: int, private_thread_id: int | None) -> None:
        """Take the member out of their private reminder thread (best effort)."""
        ...


class Messenger(Protocol):
    """Sends the message a ledger row stands for. Implemented by the Discord layer (and by fakes)."""

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        """Send it with `row.nonce`; return the message id. Raise PermanentDeliveryError if retrying can't help."""
        ...


@dataclass(frozen=True)
class PlaybackResult:
    """How a playback ended."""

    finished: bool
    refused: bool = False
    reason: str = ""
    failed: bool = False  # the voice connection broke and did not come back: not the recording's fault
    position_seconds: float = 0.0  # how far into the recording it got


@dataclass(frozen=True)
class RestoreOutcome:
    """What lifting a session's restrictions achieved."""

    left: dict[str, Any] = field(default_factory=dict)  # still in place: retried later
    pending_unmute: tuple[int, ...] = ()  # left voice while muted: lifted when they next connect
    problems: tuple[str, ...] = ()  # one line per restriction left, for the coordinators


VoiceTrouble = Literal["dropped", "back"]
OnVoiceTrouble = Callable[[VoiceTrouble], Awaitable[None]]


class Room(Protocol):
    """The session's channel on Discord: what the runner asks of it."""

    async def venue(self, occurrence: OccurrenceRow) -> Venue:
        """'stage' for a Stage channel, 'voice' for a voice channel."""
        ...

    async def open(self, occurrence: OccurrenceRow, venue: Venue, *, speak: bool) -> None:
        """Start the session's event, open the Stage (the bot its speaker if `speak`), post the card."""
        ...

    async def ensure_stage(self, occurrence: OccurrenceRow) -> None:
        """Open the Stage again if Discord ended it (no speaker for some minutes); nothing for a voice channel."""
        ...

    async def invite_to_speak(self, occurrence: OccurrenceRow, member: Actor) -> None:
        """On a Stage, bring the leading teacher up to speak (the bot is the Stage's moderator)."""
        ...

    async def post(self, occurrence: OccurrenceRow, text: str) -> None:
        """Post in the session's chat (pings nobody)."""
        ...

    async def offer_choice(
        self, occurrence: OccurrenceRow, recordings: Sequence[Recording], silent_minutes: Sequence[int]
    ) -> None:
        """Post the choice: an approved recording, or a silent sit of one of these lengths."""
        ...

    async def present(self, occurrence: OccurrenceRow) -> list[Actor]:
        """Who is in the session's voice or Stage channel now (the bot excluded)."""
        ...

    async def restrict(self, occurrence: OccurrenceRow, venue: Venue, everyone: Sequence[Actor]) -> dict[str, Any]:
        """Keep participants silent and the chat read-only; return what was changed, to restore later."""
        ...

    async def silence(self, occurrence: OccurrenceRow, venue: Venue, member: Actor) -> dict[str, Any]:
        """Keep one more participant silent (joined, or asked to speak); return what was changed."""
        ...

    async def restore(self, occurrence: OccurrenceRow, venue: Venue, restrictions: dict[str, Any]) -> RestoreOutcome:
        """Undo what `restrict`/`silence` changed, each on its own; say what is left and why."""
        ...

    async def play(
        self,
        occurrence: OccurrenceRow,
        recording: Recording,
        *,
        skip_seconds: float = 0.0,
        on_trouble: OnVoiceTrouble | None = None,
    ) -> PlaybackResult:
        """Join voice if needed and play one approved recording to the end (or until stopped)."""
        ...

    async def stop_playback(self, occurrence: OccurrenceRow) -> None:
        """Stop whatever the bot is playing in this session."""
        ...

    async def close(self, occurrence: OccurrenceRow, venue: Venue) -> None:
        """Leave voice and close the Stage."""
        ...


class Alerts(Protocol):
    """Where the runner tells the coordinators something needs them."""

    async def to_coordinators(self, text: str) -> None:
        """Post a short message for the coordinators."""
        ...


EventKind = Literal["stage", "voice", "external"]


EventState = Literal["scheduled", "active", "completed", "cancelled"]


Field = Literal["name", "description", "start", "end", "place"]


@dataclass(frozen=True)
class EventSpec:
    """What a session's event should look like."""

    occurrence_id: int
    name: str
    description: str
    start: dt.datetime
    end: dt.datetime
    channel_id: int
    kind: EventKind


@dataclass(frozen=True)
class LiveEvent:
    """A guild scheduled event as Discord has it now; `ours` when the bot created it."""

    id: int
    name: str
    description: str | None
    start: dt.datetime
    end: dt.datetime | None
    channel_id: int | None
    kind: EventKind
    state: EventState
    ours: bool

    @property
    def live(self) -> bool:
        """Whether the event counts against Discord's limit (scheduled or active)."""
        return self.state in ("scheduled", "active")


class EventGone(Exception):
    """The event no longer exists, or has already finished."""


class EventLimitReached(Exception):
    """Discord refused another event: the guild has its 100 uncompleted ones."""


class EventBoard(Protocol):
    """The guild's scheduled events (implemented by bot.adapters.events; tests use fakes)."""

    def channel_kinds(self, channel_ids: Iterable[int]) -> dict[int, EventKind]:
        """Which of these channels are Stage ('stage') or voice ('voice') channels."""
        ...

    async def live_events(self) -> list[LiveEvent]:
        """Every event the guild has now."""
        ...

    async def create(self, spec: EventSpec) -> int:
        """Create a guild_only event; returns its id (EventLimitReached at Discord's limit)."""
        ...

    async def update(self, event_id: int, spec: EventSpec, fields: frozenset[Field]) -> None:
        """Send the named fields of `spec` (EventGone if the event is no more)."""
        ...

    async def cancel(self, event_id: int) -> None:
        """Scheduled -> canceled (EventGone if it is no more or already finished)."""
        ...

    async def complete(self, event_id: int) -> None:
        """Active -> completed (EventGone if it is no more or already finished)."""
        ...

    async def delete(self, event_id: int) -> None:
        """Delete an event (EventGone if it is no more)."""
        ...


class ChannelNames(Protocol):
    """Names of the server's channels as Discord has them now (the public page names where sessions are)."""

    def __call__(self, channel_id: int) -> str | None:
        """The channel's name, or None if it is not known (deleted, or Discord not connected yet)."""
        ...
