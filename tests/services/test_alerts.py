"""Alerts about sessions without a teacher: armed at the configured hours, rebuilt at start-up, posted once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Config
from bot.core import Core
from bot.media.recordings import RecordingCatalog
from bot.model import Actor, DeliveryRow, OccurrenceRow
from bot.schedule.rules import utc_to_pacific
from bot.services.alerts import ALERT_KINDS, alert_job_id
from bot.storage import Database
from bot.timers import Timers
from loopback import World
from loopback.harness import config_for_world
from tests.fakes import FakeRoom

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)  # Sunday 1 March 2026, 04:00 PST
HOUR = dt.timedelta(hours=1)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class FakeDiscord:
    """Records what would be posted in the teachers' and coordinators' channels."""

    teachers: list[tuple[str, int]] = field(default_factory=list)
    coordinators: list[str] = field(default_factory=list)

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        return None

    async def to_coordinators(self, text: str) -> None:
        self.coordinators.append(text)

    async def to_teachers(self, text: str, claim_occurrence_id: int) -> None:
        self.teachers.append((text, claim_occurrence_id))


@dataclass
class Running:
    """One running core over a database, with its fake Discord and clock."""

    core: Core
    fake: FakeDiscord
    clock: Clock
    coordinator: Actor
    teacher: Actor
    other_teacher: Actor

    async def session(self, ahead: dt.timedelta, title: str = "Evening practice") -> OccurrenceRow:
        """A coordinator adds a one-off session starting `ahead` from now (whole minutes)."""
        start = utc_to_pacific(self.clock.now + ahead).strftime("%Y-%m-%d %H:%M")
        return await self.core.sessions.add_session(self.coordinator, start=start, duration_minutes=45, title=title)

    def alerts_pending(self) -> dict[str, dt.datetime]:
        return {job: at for job, at in self.core.timers.pending().items() if job.startswith("alert:")}


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    marker = request.node.get_closest_marker("practice_config")
    return config_for_world(World.default(), tmp_path, sections=dict(marker.kwargs) if marker else {})


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Database, Clock]]:
    clock = Clock()
    database = await Database.open(tmp_path / "alerts.sqlite3", clock=clock)
    yield database, clock
    await database.close()


def running(config: Config, db: Database, clock: Clock, tmp_path: Path) -> Running:
    """A core as the bot assembles it (a restart is a second one over the same database)."""
    fake = FakeDiscord()
    core = Core.assemble(
        config,
        db,
        RecordingCatalog(path=tmp_path / "r.yaml"),
        messenger=fake,
        announcer=fake,
        room=FakeRoom(),
        clock=clock,
        timers=Timers(clock),
    )
    roles = config.roles
    return Running(
        core, fake, clock, Actor.of(1, [roles.coordinator]), Actor.of(2, [roles.teacher]), Actor.of(3, [roles.teacher])
    )


@pytest.fixture
def world(config: Config, db: tuple[Database, Clock], tmp_path: Path) -> Running:
    return running(config, db[0], db[1], tmp_path)


async def test_a_new_session_arms_a_teachers_alert_48_hours_and_a_coordinators_alert_6_hours_before(
    world: Running,
) -> None:
    session = await world.session(dt.timedelta(days=5))
    assert world.alerts_pending() == {
        alert_job_id("teachers", session.id): session.start_utc - 48 * HOUR,
        alert_job_id("coordinators", session.id): session.start_utc - 6 * HOUR,
    }


@pytest.mark.practice_config(reminders={"unclaimed_alert_teachers_hours": 72, "unclaimed_alert_coordinators_hours": 12})
async def test_the_alert_hours_come_from_the_configuration(world: Running) -> None:
    session = await world.session(dt.timedelta(days=5))
    assert world.alerts_pending() == {
        f"alert:teachers:{session.id}": session.start_utc - 72 * HOUR,
        f"alert:coordinators:{session.id}": session.start_utc - 12 * HOUR,
    }


async def test_claiming_removes_the_alerts_and_releasing_arms_them_again(world: Running) -> None:
    session = await world.session(dt.timedelta(days=5))
    await world.core.sessions.claim(world.teacher, session.id)
    assert world.alerts_pending() == {}
    await world.core.sessions.release(world.teacher, session.id, "family matters")
    assert set(world.alerts_pending()) == {f"alert:teachers:{session.id}", f"alert:coordinators:{session.id}"}


async def test_a_coordinator_assigning_a_teacher_removes_the_alerts(world: Running) -> None:
    session = await world.session(dt.timedelta(days=5))
    await world.core.sessions.assign_teacher(world.coordinator, session.id, world.teacher)
    assert world.alerts_pending() == {}


async def test_cancelling_removes_the_alerts_and_moving_moves_them(world: Running) -> None:
    kept = await world.session(dt.timedelta(days=5))
    gone = await world.session(dt.timedelta(days=6))
    await world.core.sessions.cancel_session(world.coordinator, gone.id, "the teacher team is on retreat")
    moved = await world.core.sessions.move_session(
        world.coordinator, kept.id, utc_to_pacific(kept.start_utc + 24 * HOUR).strftime("%Y-%m-%d %H:%M")
    )
    assert world.alerts_pending() == {
        f"alert:teachers:{kept.id}": moved.start_utc - 48 * HOUR,
        f"alert:coordinators:{kept.id}": moved.start_utc - 6 * HOUR,
    }


async def test_a_release_inside_the_window_asks_teachers_at_once_but_does_not_repeat_it_to_coordinators(
    world: Running,
) -> None:
    session = await world.session(4 * HOUR)
    await world.core.sessions.claim(world.teacher, session.id)
    await world.core.sessions.release(world.teacher, session.id, "I am unwell")
    # The release itself told the coordinators; teachers are asked now, since the session needs someone.
    assert world.alerts_pending() == {f"alert:teachers:{session.id}": NOW}
    assert len(world.fake.coordinators) == 1


async def test_start_up_posts_overdue_alerts_now_and_skips_sessions_that_have_begun(
    config: Config, db: tuple[Database, Clock], tmp_path: Path
) -> None:
    before = running(config, db[0], db[1], tmp_path)
    soon = await before.session(8 * HOUR)
    later = await before.session(30 * HOUR)
    far = await before.session(dt.timedelta(days=5))
    begun = await before.session(2 * HOUR)
    before.core.stop()

    db[1].now = NOW + 3 * HOUR  # the bot was down for three hours
    after = running(config, db[0], db[1], tmp_path)
    report = await after.core.alerts.rebuild()
    now = db[1].now
    assert after.alerts_pending() == {
        f"alert:teachers:{soon.id}": now,
        f"alert:coordinators:{soon.id}": now,
        f"alert:teachers:{later.id}": now,
        f"alert:coordinators:{later.id}": later.start_utc - 6 * HOUR,
        f"alert:teachers:{far.id}": far.start_utc - 48 * HOUR,
        f"alert:coordinators:{far.id}": far.start_utc - 6 * HOUR,
    }
    assert not any(str(begun.id) == job.rsplit(":", 1)[1] for job in after.alerts_pending())
    assert (report.sessions, report.timers, report.overdue_now) == (3, 6, 3)


async def test_each_alert_is_posted_once_even_if_fired_twice_at_once_or_after_a_restart(
    config: Config, db: tuple[Database, Clock], tmp_path: Path
) -> None:
    first = running(config, db[0], db[1], tmp_path)
    session = await first.session(5 * HOUR)
    posted = await asyncio.gather(*(first.core.alerts.fire(session.id, "teachers") for _ in range(2)))
    assert sorted(posted) == [False, True]
    assert await first.core.alerts.fire(session.id, "coordinators")
    first.core.stop()

    again = running(config, db[0], db[1], tmp_path)
    await again.core.alerts.rebuild()
    assert again.alerts_pending() == {}, "both alerts are recorded, so a restart arms neither"
    assert not await again.core.alerts.fire(session.id, "teachers")
    assert [claim_id for _, claim_id in first.fake.teachers + again.fake.teachers] == [session.id]
    assert len(first.fake.coordinators + again.fake.coordinators) == 1
    recorded = await db[0].list_audit(target=f"occurrence:{session.id}", limit=None)
    assert sorted(row.action for row in recorded if row.action.startswith("alert.")) == [
        "alert.coordinators",
        "alert.teachers",
    ]
    assert all(row.actor_id is None for row in recorded if row.action.startswith("alert."))


async def test_no_alert_for_a_session_claimed_cancelled_or_begun_by_the_time_it_fires(world: Running) -> None:
    claimed = await world.session(10 * HOUR)
    cancelled = await world.session(11 * HOUR)
    begun = await world.session(12 * HOUR)
    await world.core.sessions.claim(world.teacher, claimed.id)
    await world.core.sessions.cancel_session(world.coordinator, cancelled.id, "a holiday")
    world.clock.now = begun.start_utc + dt.timedelta(minutes=1)
    for session in (claimed, cancelled, begun):
        for kind in ALERT_KINDS:
            assert not await world.core.alerts.fire(session.id, kind)
    assert world.fake.teachers == [] and world.fake.coordinators == []
    assert not [row for row in await world.core.db.list_audit(limit=None) if row.action.startswith("alert.")]


async def test_alert_texts_show_the_title_inert_and_ping_nobody(world: Running) -> None:
    session = await world.session(5 * HOUR, title="@everyone **Deep** rest <@&42>")
    await world.core.alerts.fire(session.id, "teachers")
    await world.core.alerts.fire(session.id, "coordinators")
    (teachers_text, claim_id), coordinators_text = world.fake.teachers[0], world.fake.coordinators[0]
    assert claim_id == session.id
    for text in (teachers_text, coordinators_text):
        assert "@everyone" not in text and "<@&42>" not in text, "mention syntax is broken up"
        assert "\\*\\*Deep\\*\\*" in text, "markdown in the title shows literally"
    assert "still needs a teacher" in teachers_text
    assert f"<#{world.core.config.channels.teachers}>" in coordinators_text
