"""Alerts about sessions that still have no teacher: first teachers are asked, then coordinators told.

Each upcoming scheduled session without a teacher has up to two timers:

- `alert:teachers:<occurrence>` at start − [reminders] unclaimed_alert_teachers_hours (48 by
  default): a post in the teachers' channel with a Claim button;
- `alert:coordinators:<occurrence>` at start − unclaimed_alert_coordinators_hours (6 by default):
  a post in the coordinators' channel.

When a timer fires it posts only if the session is still scheduled, still has no teacher and has
not begun. Neither post mentions anyone.

Once per session, ever: each alert is recorded in the audit log (action `alert.teachers` or
`alert.coordinators`, target `occurrence:<id>`, actor None = the bot) in the same transaction that
checks no such row exists, and only then posted. So a restart, a re-armed timer or a second fire
finds the row and stays quiet. (The delivery ledger is not used: its sweep sends every pending row
to a member, and these posts go to a channel.) A crash between the record and the post loses that
one alert: at most once, never twice; `/teach open` still lists the session.

The database is the source of truth: `rebuild` arms every timer at start-up, and alerts that fell
due while the bot was down are posted now if the session has not begun (skipped if it has). While
running, the session service calls `follow` after every change to a session (claimed, released,
added, moved, cancelled), which re-arms or removes its timers. A teachers' alert that is already
due then (a session released, or added, less than 48 hours ahead) is posted at once, because the
session needs a teacher now; an overdue coordinators' alert is not, because such a change was made
by a coordinator or, for a release, already told them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, Literal

from bot.config import Config
from bot.model import OccurrenceRow
from bot.ports import Announcer
from bot.schedule.rules import discord_timestamp, format_pacific, utc_isoformat, when
from bot.storage import Database
from bot.texts import teachers as texts
from bot.timers import Timers
from bot.validation import display_safe

log = logging.getLogger(__name__)

AlertKind = Literal["teachers", "coordinators"]
ALERT_KINDS: Final[tuple[AlertKind, ...]] = ("teachers", "coordinators")
# Alerts already due when a running bot sees a change, posted at once (see the module docstring).
RUNTIME_OVERDUE: Final[tuple[AlertKind, ...]] = ("teachers",)


def alert_job_id(kind: AlertKind, occurrence_id: int) -> str:
    """The timer id of one session's alert."""
    return f"alert:{kind}:{occurrence_id}"


def alert_action(kind: AlertKind) -> str:
    """The audit action that records an alert as posted."""
    return f"alert.{kind}"


@dataclass(frozen=True)
class AlertRebuildReport:
    """What start-up found and armed."""

    sessions: int
    timers: int
    overdue_now: int


class UnclaimedAlerts:
    """Keeps the alert timers of sessions without a teacher, and posts each alert at most once."""

    def __init__(
        self,
        db: Database,
        config: Config,
        timers: Timers,
        announcer: Announcer,
        *,
        horizon: dt.timedelta,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.db = db
        self.timers = timers
        self.announcer = announcer
        self.horizon = horizon
        self.clock = clock
        self.teachers_channel_id = config.channels.teachers
        self.lead: dict[AlertKind, dt.timedelta] = {
            "teachers": dt.timedelta(hours=config.reminders.unclaimed_alert_teachers_hours),
            "coordinators": dt.timedelta(hours=config.reminders.unclaimed_alert_coordinators_hours),
        }

    def due_at(self, occurrence: OccurrenceRow, kind: AlertKind) -> dt.datetime:
        """When this alert is due for this session."""
        return occurrence.start_utc - self.lead[kind]

    async def arm(self, occurrence: OccurrenceRow, *, post_overdue: Collection[AlertKind] = ()) -> int:
        """(Re)arm a session's alert timers; overdue ones (only of the kinds given) fire at once. Returns how many."""
        self.disarm(occurrence.id)
        if occurrence.status != "scheduled" or occurrence.start_utc <= self.clock():
            return 0
        if await self.db.get_teacher_claim(occurrence.id) is not None:
            return 0
        posted = {kind for kind in ALERT_KINDS if await self.posted(occurrence.id, kind)}
        return self._arm_unclaimed(occurrence, posted, post_overdue)

    def _arm_unclaimed(
        self, occurrence: OccurrenceRow, posted: Collection[AlertKind], post_overdue: Collection[AlertKind]
    ) -> int:
        """Arm the alerts not yet posted of a scheduled, unclaimed session that has not begun."""
        now = self.clock()
        armed = 0
        for kind in ALERT_KINDS:
            due = self.due_at(occurrence, kind)
            if (due <= now and kind not in post_overdue) or kind in posted:
                continue
            self.timers.schedule_at(alert_job_id(kind, occurrence.id), max(due, now), self.fire, occurrence.id, kind)
            armed += 1
        return armed

    def disarm(self, occurrence_id: int) -> int:
        """Remove a session's alert timers; returns how many there were."""
        return sum(self.timers.cancel(alert_job_id(kind, occurrence_id)) for kind in ALERT_KINDS)

    async def follow(self, occurrence: OccurrenceRow) -> None:
        """After a change to a session (a SessionService listener): re-arm or remove its alerts."""
        await self.arm(occurrence, post_overdue=RUNTIME_OVERDUE)

    async def posted(self, occurrence_id: int, kind: AlertKind) -> bool:
        """True if this alert was already posted for this session."""
        return bool(await self.db.list_audit(action=alert_action(kind), target=f"occurrence:{occurrence_id}", limit=1))

    async def fire(self, occurrence_id: int, kind: AlertKind) -> bool:
        """Post the alert if the session still needs a teacher and it was never posted; True if posted."""
        occurrence = await self.db.get_occurrence(occurrence_id)
        if occurrence is None or occurrence.status != "scheduled":
            return False
        if self.clock() >= occurrence.start_utc:
            log.info("alert %s not posted: the session has begun", alert_job_id(kind, occurrence_id))
            return False
        if await self.db.get_teacher_claim(occurrence_id) is not None:
            return False
        if not await self._record(occurrence, kind):
            return False
        if kind == "teachers":
            await self.announcer.to_teachers(self._teachers_text(occurrence), occurrence.id)
        else:
            await self.announcer.to_coordinators(self._coordinators_text(occurrence))
        log.info("alert %s posted", alert_job_id(kind, occurrence_id))
        return True

    async def rebuild(self) -> AlertRebuildReport:
        """At start-up: arm the alerts of every upcoming session; those that fell due while down fire now."""
        now = self.clock()
        for kind in ALERT_KINDS:
            self.timers.cancel_matching(f"alert:{kind}:")
        # One query: the unclaimed sessions of the horizon, with the alerts already posted for each.
        unclaimed = await self.db.unclaimed_with_audit(now, now + self.horizon, [alert_action(k) for k in ALERT_KINDS])
        armed = overdue = 0
        for occurrence, actions in unclaimed:
            if occurrence.start_utc <= now:
                continue
            posted = [kind for kind in ALERT_KINDS if alert_action(kind) in actions]
            armed += self._arm_unclaimed(occurrence, posted, ALERT_KINDS)
            overdue += sum(1 for kind in ALERT_KINDS if kind not in posted and self.due_at(occurrence, kind) <= now)
        report = AlertRebuildReport(sessions=len(unclaimed), timers=armed, overdue_now=overdue)
        log.info("unclaimed-session alerts rebuilt from the database: %s", report)
        return report

    async def _record(self, occurrence: OccurrenceRow, kind: AlertKind) -> bool:
        """Write the alert's audit row unless one exists (check and write in one transaction)."""
        action, target = alert_action(kind), f"occurrence:{occurrence.id}"
        async with self.db.transaction():
            if await self.db.list_audit(action=action, target=target, limit=1):
                return False
            due = self.due_at(occurrence, kind)
            details = {"start": utc_isoformat(occurrence.start_utc), "due": utc_isoformat(due)}
            await self.db.add_audit(None, action, target, details)
        return True

    def _teachers_text(self, occurrence: OccurrenceRow) -> str:
        return texts.ALERT_TEACHERS.format(
            title=display_safe(occurrence.title),
            when=when(occurrence.start_utc),
            relative=discord_timestamp(occurrence.start_utc, "R"),
            pacific=format_pacific(occurrence.start_utc),
        )

    def _coordinators_text(self, occurrence: OccurrenceRow) -> str:
        return texts.ALERT_COORDINATORS.format(
            title=display_safe(occurrence.title),
            when=when(occurrence.start_utc),
            relative=discord_timestamp(occurrence.start_utc, "R"),
            teachers=self.teachers_channel_id,
        )
