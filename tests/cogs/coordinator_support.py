"""Shared steps for the coordinators' tests: ask as someone, set up a series, snapshot the schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.adapters.bot import PracticeCirclesBot
from bot.model import Actor, AuditRow, OccurrenceRow, SeriesRow, SignupRow, TeacherClaimRow
from bot.schedule.rules import utc_to_pacific
from bot.storage import Database
from loopback import Sandbox
from loopback.people import Reply, SimulatedPerson

COMMANDS = ("series", "session", "recordings", "report")
FAR = dt.timedelta(days=800)


async def ask(
    person: SimulatedPerson, command: str, options: Mapping[str, Any] | None = None, *, channel: str | None = None
) -> Reply:
    """Run '/group sub' as `person` and wait for the reply they see."""
    group, _, sub = command.partition(" ")
    handle = await person.run_command(group, options, subcommand=sub or None, channel=channel)
    return await handle.response()


def actor(bot: PracticeCirclesBot, person: SimulatedPerson) -> Actor:
    """The person as the core sees them: their id and the roles the sandbox says they hold."""
    return Actor.of(person.id, person.member.roles)


def pacific_day(days_ahead: int) -> str:
    """A Pacific calendar date `days_ahead` from today, as YYYY-MM-DD."""
    return (utc_to_pacific(dt.datetime.now(dt.UTC)).date() + dt.timedelta(days=days_ahead)).isoformat()


async def weekly_series(
    bot: PracticeCirclesBot,
    coordinator: SimulatedPerson,
    *,
    title: str = "Evening practice",
    weekly: str = "MON,THU@18:30",
) -> tuple[SeriesRow, list[OccurrenceRow]]:
    """A series made through the core, with its upcoming sessions.

    It starts in three days, so no session is near enough for the unclaimed-session alerts (48 hours
    ahead at most) to add audit rows while a test compares snapshots.
    """
    series, _ = await bot.core.sessions.create_series(
        actor(bot, coordinator), title=title, weekly=weekly, starts_on=pacific_day(3), duration_minutes=45
    )
    return series, await bot.core.sessions.upcoming_in_series(series.id)


@dataclass(frozen=True)
class Snapshot:
    """Everything a coordinator command can change, as stored."""

    series: list[SeriesRow]
    occurrences: list[OccurrenceRow]
    claims: list[TeacherClaimRow | None]
    signups: list[list[SignupRow]]
    audit: list[AuditRow]
    deliveries: int


async def snapshot(db: Database) -> Snapshot:
    """The series, sessions, teacher claims, sign-ups, audit rows and ledger size, now."""
    now = dt.datetime.now(dt.UTC)
    occurrences = await db.list_occurrences(now - FAR, now + FAR)
    return Snapshot(
        series=await db.list_series(),
        occurrences=occurrences,
        claims=[await db.get_teacher_claim(o.id) for o in occurrences],
        signups=[await db.list_signups(o.id) for o in occurrences],
        audit=await db.list_audit(limit=None),
        deliveries=await db.count_deliveries(),
    )


async def wait_for_dms(sandbox: Sandbox, person: SimulatedPerson, count: int) -> None:
    """Wait until the bot has sent `person` at least `count` direct messages."""
    await sandbox.wait_until(lambda: len(person.dms()) >= count, what=f"{count} DM(s) to {person.name}")
