"""Who may use the coordinators' commands: only holders of the coordinator role, however Discord is set up.

Discord shows these commands only to people who may manage the server, but a server admin can
change that, so the tests also open them up: to members and teachers given Manage Server (but not
the coordinator role), to everyone (as if an admin cleared the default), and by calling the core
directly. Each refusal is kind and private and leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot import texts
from bot.adapters.bot import PracticeCirclesBot
from bot.errors import PermissionDeniedError
from bot.model import Actor, OccurrenceRow, SeriesRow
from loopback import Sandbox
from loopback.people import CommandUnavailable, SimulatedPerson
from loopback.world import Permission
from tests.cogs.coordinator_support import COMMANDS, actor, ask, pacific_day, snapshot, weekly_series


@dataclass
class Scene:
    """A schedule worth protecting: an active and a paused series, a sign-up and a teacher's claim."""

    active: SeriesRow
    paused: SeriesRow
    signed_up: OccurrenceRow
    claimed: OccurrenceRow


async def set_scene(sandbox: Sandbox, bot: PracticeCirclesBot) -> Scene:
    """Laila's two series, Sam signed up for one session, Kofi leading another."""
    laila, sam, kofi = sandbox.person("laila"), sandbox.person("sam"), sandbox.person("kofi")
    active, sessions = await weekly_series(bot, laila)
    paused, _ = await weekly_series(bot, laila, title="Morning kindness", weekly="TUE@07:00")
    await bot.core.sessions.pause_series(actor(bot, laila), paused.id)
    await bot.core.sessions.sign_up(sam.id, sessions[0].id)
    await bot.core.sessions.claim(actor(bot, kofi), sessions[1].id)
    return Scene(active, paused, sessions[0], sessions[1])


def state_changing(sandbox: Sandbox, scene: Scene) -> list[tuple[str, dict[str, Any]]]:
    """Every coordinator command that changes something, with options that would work for a coordinator."""
    stage, quiet = sandbox.world.find_channel("Practice Circle"), sandbox.world.find_channel("Quiet Sitting")
    weekly = {"title": "New series", "weekly": "FRI@08:00", "starts_on": pacific_day(3), "duration": 30}
    return [
        ("series create", {**weekly, "channel": stage.id}),
        ("series edit", {"series": scene.active.id, "title": "Renamed"}),
        ("session add", {"start": f"{pacific_day(4)} 09:00", "duration": 30, "title": "Extra sit"}),
        ("session move", {"session": scene.signed_up.id, "start": f"{pacific_day(4)} 10:00"}),
        ("session channel", {"session": scene.signed_up.id, "channel": quiet.id}),
        ("session assign", {"session": scene.signed_up.id, "teacher": sandbox.person("ana")}),
        ("session unassign", {"session": scene.claimed.id, "reason": "Kofi is away"}),
        ("session cancel", {"session": scene.signed_up.id, "reason": "Not needed"}),
        ("series pause", {"series": scene.active.id}),
        ("series resume", {"series": scene.paused.id}),
        ("series end", {"series": scene.active.id}),
        ("recordings reload", {}),
    ]


READ_ONLY: list[tuple[str, dict[str, Any]]] = [
    ("series list", {}),
    ("recordings list", {}),
    ("recordings verify", {}),
    ("report popularity", {}),
    ("report csv", {}),
    ("report audit", {}),
    ("report audit-export", {}),
]


def grant_manage_server(sandbox: Sandbox, *people: SimulatedPerson) -> None:
    """Give people a role with Manage Server, but not the coordinator role."""
    role = sandbox.world.add_role("Moderator", Permission.MANAGE_GUILD, position=1)
    for person in people:
        person.member.roles.append(role.id)


@pytest.mark.parametrize("who", ["sam", "ana"])
async def test_members_and_teachers_given_manage_server_are_refused_kindly_and_nothing_changes(
    sandbox: Sandbox, practice: PracticeCirclesBot, who: str
) -> None:
    scene = await set_scene(sandbox, practice)
    person = sandbox.person(who)
    grant_manage_server(sandbox, person)
    problems = []
    for command, options in [*state_changing(sandbox, scene), *READ_ONLY]:
        before = await snapshot(practice.core.db)
        reply = await ask(person, command, options)
        if not reply.ephemeral or reply.content != texts.NEEDS_COORDINATOR or reply.message is None:
            problems.append(f"/{command}: {reply.kind} {reply.content!r}")
        elif reply.message.attachments or reply.components:
            problems.append(f"/{command}: the refusal carries attachments or buttons")
        if await snapshot(practice.core.db) != before:
            problems.append(f"/{command} changed the database")
    assert problems == []
    assert sandbox.channel_messages("coordinators") == [], "nothing was posted for anyone"


async def test_without_manage_server_discord_does_not_offer_the_commands_to_members_or_teachers(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    for who in ("sam", "ana"):
        for name in COMMANDS:
            with pytest.raises(CommandUnavailable):
                await sandbox.person(who).run_command(name, subcommand="list" if name != "report" else "audit")


async def test_commands_opened_to_everyone_by_a_server_admin_still_refuse_a_plain_member(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    scene = await set_scene(sandbox, practice)
    for name in COMMANDS:
        sandbox.world.find_command(name).data["default_member_permissions"] = None
    jonas = sandbox.person("jonas")
    for command, options in state_changing(sandbox, scene)[:5]:
        before = await snapshot(practice.core.db)
        reply = await ask(jonas, command, options)
        assert reply.ephemeral and reply.content == texts.NEEDS_COORDINATOR, command
        assert await snapshot(practice.core.db) == before, command


async def test_the_core_refuses_non_coordinators_whatever_the_discord_layer_let_through(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    scene = await set_scene(sandbox, practice)
    core, sessions = practice.core, practice.core.sessions
    grant_manage_server(sandbox, sandbox.person("jonas"))
    quiet = sandbox.world.find_channel("Quiet Sitting")
    ana = actor(practice, sandbox.person("ana"))

    def attempts(who: Actor) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
        return [
            (
                "create_series",
                lambda: sessions.create_series(
                    who, title="x", weekly="FRI@08:00", starts_on=pacific_day(3), duration_minutes=30
                ),
            ),
            ("edit_series", lambda: sessions.edit_series(who, scene.active.id, title="Renamed")),
            ("pause_series", lambda: sessions.pause_series(who, scene.active.id)),
            ("resume_series", lambda: sessions.resume_series(who, scene.paused.id)),
            ("end_series", lambda: sessions.end_series(who, scene.active.id)),
            (
                "add_session",
                lambda: sessions.add_session(who, start=f"{pacific_day(4)} 09:00", duration_minutes=30, title="Extra"),
            ),
            ("cancel_session", lambda: sessions.cancel_session(who, scene.signed_up.id, "x")),
            ("move_session", lambda: sessions.move_session(who, scene.signed_up.id, f"{pacific_day(4)} 10:00")),
            ("set_session_channel", lambda: sessions.set_session_channel(who, scene.signed_up.id, quiet.id)),
            ("assign_teacher", lambda: sessions.assign_teacher(who, scene.signed_up.id, ana)),
            ("release", lambda: sessions.release(who, scene.claimed.id, "x")),
            ("reload_recordings", lambda: core.reload_recordings(who)),
            ("verify_recordings", lambda: core.verify_recordings(who)),
        ]

    for who in ("sam", "ana", "jonas"):
        person = actor(practice, sandbox.person(who))
        for name, attempt in attempts(person):
            before = await snapshot(core.db)
            with pytest.raises(PermissionDeniedError):
                await attempt()
            assert await snapshot(core.db) == before, f"{name} by {who}"
    assert core.recordings.ids() == ["bell", "welcome-reading-en"], "as prepared at start-up"


async def test_the_end_button_refuses_someone_who_lost_the_coordinator_role_meanwhile(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    scene = await set_scene(sandbox, practice)
    laila = sandbox.person("laila")
    question = await ask(laila, "series end", {"series": scene.active.id})
    assert question.message is not None
    laila.member.roles.remove(practice.core.config.roles.coordinator)
    grant_manage_server(sandbox, laila)
    before = await snapshot(practice.core.db)
    reply = await (await laila.press_button(question.message, f"pc:series-end:{scene.active.id}")).response()
    assert reply.ephemeral and reply.content == texts.NEEDS_COORDINATOR
    assert await snapshot(practice.core.db) == before
    assert (await practice.core.sessions.series(scene.active.id)).status == "active"


async def test_a_coordinator_can_do_every_one_of_them(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    scene = await set_scene(sandbox, practice)
    laila = sandbox.person("laila")
    for command, options in state_changing(sandbox, scene):
        before = await snapshot(practice.core.db)
        reply = await ask(laila, command, options)
        assert reply.ephemeral, command
        assert reply.content != texts.NEEDS_COORDINATOR and "Something went wrong" not in reply.content, command
        if command == "series end":
            assert reply.message is not None
            handle = await laila.press_button(reply.message, f"pc:series-end:{scene.active.id}")
            reply = await handle.response()
            assert "Ended the series" in reply.content
        assert await snapshot(practice.core.db) != before, f"/{command} changed nothing"
    for command, options in READ_ONLY:
        reply = await ask(laila, command, options)
        assert reply.content != texts.NEEDS_COORDINATOR and "Something went wrong" not in reply.content, command
