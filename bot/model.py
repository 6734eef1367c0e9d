"""The domain's types: statuses, the frozen records storage returns, who is acting, an approved recording.

Every datetime here is aware (UTC); Discord ids are ints. This module imports nothing else of the bot
but its domain errors.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from bot.errors import ScheduleError

__all__ = [
    "Actor",
    "Recording",
    "ACTIVE_OCCURRENCE_STATUSES",
    "FINISHED_OCCURRENCE_STATUSES",
    "UNSET",
    "WEEKDAY_CODES",
    "check_weekly_rule",
    "AttendanceRow",
    "AuditRow",
    "CancelSource",
    "DeliveryKey",
    "DeliveryRow",
    "DeliveryStatus",
    "FeedbackRow",
    "MemberRow",
    "OccurrenceRow",
    "OccurrenceStatus",
    "ReminderChannel",
    "RunPhase",
    "RunRow",
    "Venue",
    "SeriesRow",
    "SeriesStatus",
    "SignupRow",
    "SignupSource",
    "TeacherClaimRow",
    "Unset",
]

SeriesStatus = Literal["active", "paused", "ended"]
OccurrenceStatus = Literal["scheduled", "cancelled", "open", "teacher_led", "no_teacher", "closed"]
SignupSource = Literal["command", "button", "event", "series"]
ReminderChannel = Literal["dm", "thread"]
DeliveryStatus = Literal["pending", "claimed", "sent", "dropped"]
CancelSource = Literal["session", "series"]
RunPhase = Literal[
    "open", "teacher_led", "welcome", "choosing", "recording", "silent_sit", "resting", "closing", "closed"
]
Venue = Literal["stage", "voice"]

# RFC 5545 BYDAY codes, Monday first (datetime.weekday() order).
WEEKDAY_CODES: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def check_weekly_rule(weekdays: Iterable[int | str], at: time, starts_on: date, until: date | None) -> tuple[int, ...]:
    """The one check of a weekly rule's days, time and dates (rules and stored series alike); its day numbers."""
    days: list[int] = []
    for day in weekdays:
        if isinstance(day, str) and day.upper() in WEEKDAY_CODES:
            days.append(WEEKDAY_CODES.index(day.upper()))
        elif isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
            days.append(day)
        else:
            codes = ", ".join(WEEKDAY_CODES)
            raise ScheduleError(
                f"Weekday {day!r} is not one of the weekdays {codes}, nor a day number from 0 (Monday) to 6 (Sunday)."
            )
    if not days:
        raise ScheduleError(f"Choose at least one weekday (the weekdays are {', '.join(WEEKDAY_CODES)}).")
    if len(set(days)) != len(days):
        raise ScheduleError(f"The weekdays repeat a day: {', '.join(WEEKDAY_CODES[day] for day in days)}.")
    if not isinstance(at, time):
        raise ScheduleError(f"The session time must be a time of day like 18:30, not {at!r}.")
    if at.tzinfo is not None:
        raise ScheduleError("The session time is a Pacific wall-clock time; give it without a time zone.")
    if at.second or at.microsecond:
        raise ScheduleError(f"The session time must be whole minutes, like 18:30; got {at.isoformat()}.")
    if isinstance(starts_on, datetime) or not isinstance(starts_on, date):
        raise ScheduleError(f"The start must be a calendar date like 2026-03-01, not {starts_on!r}.")
    if until is not None:
        if isinstance(until, datetime) or not isinstance(until, date):
            raise ScheduleError(f"The end must be a calendar date like 2026-12-31, not {until!r}.")
        if until < starts_on:
            raise ScheduleError(
                f"The end date {until.isoformat()} is before the start date {starts_on.isoformat()}: a series "
                "cannot end before it starts, so the end must be on or after the start."
            )
    return tuple(sorted(days))


# States after which an occurrence can no longer be changed, signed up for or claimed.
FINISHED_OCCURRENCE_STATUSES: Final[frozenset[str]] = frozenset({"cancelled", "closed"})
ACTIVE_OCCURRENCE_STATUSES: Final[frozenset[str]] = frozenset({"scheduled", "open", "teacher_led", "no_teacher"})


class Unset(enum.Enum):
    """Marker type for "leave this field as it is" in partial updates (None is a real value)."""

    UNSET = enum.auto()


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """A weekly rule at a Pacific wall-clock time, expanded into occurrences elsewhere."""

    id: int
    title: str
    weekdays: tuple[str, ...]
    local_time: time
    interval_weeks: int
    starts_on: date
    until: date | None
    duration_minutes: int
    channel_id: int
    default_practice: str | None
    status: SeriesStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    """One session: from a series (with its rule-given recurrence id) or a one-off."""

    id: int
    series_id: int | None
    recurrence_id: datetime
    start_utc: datetime
    duration_minutes: int
    channel_id: int
    title: str
    practice: str | None
    status: OccurrenceStatus
    change_version: int
    created_at: datetime
    updated_at: datetime
    # 'session' when cancelled on its own, 'series' when its series was paused or ended.
    cancelled_by: CancelSource | None = None

    @property
    def end_utc(self) -> datetime:
        """Return the planned end of the session."""
        return self.start_utc + timedelta(minutes=self.duration_minutes)

    @property
    def is_moved(self) -> bool:
        """Return whether the session starts at a different time than its rule gave it."""
        return self.start_utc != self.recurrence_id


@dataclass(frozen=True, slots=True)
class SignupRow:
    """One person signed up for one occurrence, and how."""

    occurrence_id: int
    user_id: int
    created_at: datetime
    source: SignupSource


@dataclass(frozen=True, slots=True)
class TeacherClaimRow:
    """The teacher currently holding an occurrence."""

    occurrence_id: int
    teacher_id: int
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member's preferences; `reminder_offsets` None means "use the community default"."""

    user_id: int
    timezone: str | None
    reminder_offsets: tuple[int, ...] | None
    reminder_channel: ReminderChannel
    dm_closed: bool
    updated_at: datetime
    # The member's own private reminder thread, once the bot has made one.
    private_thread_id: int | None = None
    # The DM channel a direct message last reached them in (None: never, or forgotten).
    dm_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """Identifies one message to one recipient about one version of one occurrence."""

    occurrence_id: int
    recipient_id: int
    kind: str
    change_version: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A ledger row: what is to be sent, when, and how far it got."""

    key: DeliveryKey
    due_at: datetime
    status: DeliveryStatus
    nonce: str
    claimed_at: datetime | None
    sent_at: datetime | None
    late: bool
    message_id: int | None
    attempts: int
    last_error: str | None
    # What a notice announces, fixed when the change was made (e.g. {"old_start": "...Z"}).
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    """One stay of one person in a session's voice channel."""

    id: int
    occurrence_id: int
    user_id: int
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """A piece of feedback, optionally about one session; `user_id` None when anonymous (or forgotten)."""

    id: int
    user_id: int | None
    occurrence_id: int | None
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    """Who did what to which thing, when; `details` is the decoded JSON object."""

    id: int
    actor_id: int | None
    action: str
    target: str
    details: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    """Where a running session is: its phase, until when, what was chosen, what the bot changed."""

    occurrence_id: int
    venue: Venue
    phase: RunPhase
    phase_started_at: datetime
    phase_ends_at: datetime | None
    choice: str | None
    chosen_by: int | None
    restrictions: Mapping[str, Any] = field(default_factory=dict)
    text_guided: bool = False  # led in words only: the voice is busy in another session, or kept failing
    restore_attempts: int = 0  # failed attempts at lifting what is left in `restrictions`
    restore_alerted: bool = False  # the coordinators were told what to undo by hand


@dataclass(frozen=True)
class Actor:
    """The person asking: their id and the ids of the roles they hold in the community's server."""

    user_id: int
    role_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, user_id: int, role_ids: Iterable[int] = ()) -> Actor:
        """Build an actor from an id and any iterable of role ids."""
        return cls(user_id, frozenset(role_ids))


@dataclass(frozen=True)
class Recording:
    """An approved recording: its entry checked against the file on disk."""

    id: str
    title: str
    source: str
    kind: str
    language: str
    duration_seconds: float
    file: str
    sha256: str
    source_url: str | None
    path: Path
    base_dir: Path


@dataclass(frozen=True)
class SetupFinding:
    """One thing about the Discord server that keeps the bot from its work, with the way to fix it."""

    # The same problem has the same key at every start, so it is reported to the coordinators once.
    key: str
    # Plain words and the click path, as `check --live` prints it and the logs show it.
    text: str
    # The same words naming channels and roles so that Discord shows them as links.
    discord_text: str
