"""One session and one series autocomplete for members, teachers and coordinators, on the real bot.

The same rule everywhere: what was typed is looked for in the number, the title and the US Pacific
time, and a leading '#' means the number only; each choice reads '#id · title · Pacific time',
with the person's own time beside it once they have told the bot their zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.adapters.bot import PracticeCirclesBot
from bot.model import Actor, OccurrenceRow
from bot.schedule.rules import format_pacific, utc_to_pacific
from loopback import Sandbox

COMMANDS = ("signup", "teach", "session", "series")


def coordinator(sandbox: Sandbox) -> Actor:
    world = sandbox.world
    return Actor.of(world.find_member("laila").id, [world.find_role("Coordinator").id])


async def add_session(practice: PracticeCirclesBot, sandbox: Sandbox, hours: float, title: str) -> OccurrenceRow:
    """A one-off session some whole minutes ahead, added by Laila through the core."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)
    return await practice.core.sessions.add_session(
        coordinator(sandbox), start=utc_to_pacific(start).strftime("%Y-%m-%d %H:%M"), duration_minutes=45, title=title
    )


async def test_members_teachers_and_coordinators_find_a_session_the_same_way(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    first = await add_session(practice, sandbox, 30, "Morning calm")
    second = await add_session(practice, sandbox, 80, "Evening rest")
    sam, ana, laila = sandbox.person("sam"), sandbox.person("ana"), sandbox.person("laila")
    pacific_day = format_pacific(second.start_utc).split(",")[0]  # e.g. "Thu 5 Mar 2026"

    for ask in (
        lambda typed: sam.autocomplete("signup", "session", typed),
        lambda typed: ana.autocomplete("teach", "session", typed, subcommand="claim"),
        lambda typed: laila.autocomplete("session", "session", typed, subcommand="cancel"),
    ):
        assert [c["value"] for c in await ask("EVEN")] == [second.id], "by title, whatever the case"
        assert [c["value"] for c in await ask(f"#{first.id}")] == [first.id], "'#' and a number: that session"
        assert second.id in [c["value"] for c in await ask(pacific_day)], "by its US Pacific date"
        named = {c["value"]: c["name"] for c in await ask("")}
        assert named[first.id] == f"#{first.id} · Morning calm · {format_pacific(first.start_utc)}"


async def test_the_choices_show_the_persons_own_time_once_they_have_given_their_zone(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    session = await add_session(practice, sandbox, 30, "Morning calm")
    ana = sandbox.person("ana")
    await practice.core.sessions.set_timezone(ana.id, "Asia/Tokyo")
    local = session.start_utc.astimezone(ZoneInfo("Asia/Tokyo"))

    choices = await ana.autocomplete("teach", "session", "", subcommand="claim")

    expected = f"#{session.id} · Morning calm · {format_pacific(session.start_utc)} = {local:%a %H:%M} your time"
    assert [c["name"] for c in choices] == [expected]


async def test_a_long_title_is_shortened_so_the_number_and_time_still_show(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    session = await add_session(practice, sandbox, 30, "A very long title " * 5 + "end")

    (choice,) = await sandbox.person("laila").autocomplete("session", "session", "", subcommand="move")

    assert len(choice["name"]) <= 100
    assert choice["name"].startswith(f"#{session.id} · A very long title")
    assert choice["name"].endswith(f"… · {format_pacific(session.start_utc)}")


async def test_coordinators_see_every_series_numbered_active_first_and_members_only_active_ones(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    today = utc_to_pacific(dt.datetime.now(dt.UTC)).date() + dt.timedelta(days=3)
    sessions = practice.core.sessions
    paused, _ = await sessions.create_series(
        coordinator(sandbox), title="Weekly circle", weekly="TUE@07:00", starts_on=today, duration_minutes=45
    )
    active, _ = await sessions.create_series(
        coordinator(sandbox), title="Evening circle", weekly="MON,THU@18:30", starts_on=today, duration_minutes=45
    )
    await sessions.pause_series(coordinator(sandbox), paused.id)

    for_coordinators = await sandbox.person("laila").autocomplete("series", "series", "circle", subcommand="edit")
    assert for_coordinators == [
        {"name": f"#{active.id} · Evening circle · Mon, Thu 18:30 US Pacific", "value": active.id},
        {"name": f"#{paused.id} · Weekly circle · Tue 07:00 US Pacific (paused)", "value": paused.id},
    ]
    assert [
        c["value"] for c in await sandbox.person("laila").autocomplete("series", "series", "thu", subcommand="end")
    ] == [active.id]
    for_members = await sandbox.person("sam").autocomplete("signup", "series", "circle")
    assert for_members == [{"name": "Evening circle · Mon, Thu 18:30 US Pacific", "value": active.id}]
