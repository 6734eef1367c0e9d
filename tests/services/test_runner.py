"""The session runner's lifecycle against a fake room: who leads, what plays, what is restored."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Config
from bot.errors import ConflictError, NotFoundError
from bot.media.recordings import RecordingCatalog
from bot.model import Actor, OccurrenceRow, Recording
from bot.services.runner import SessionRunner
from bot.storage import Database
from bot.timers import Timers
from loopback import World
from loopback.harness import config_for_world
from tests.fakes import FakeRoom

START = dt.datetime(2026, 3, 10, 1, 30, tzinfo=dt.UTC)


@dataclass
class Clock:
    now: dt.datetime = START - dt.timedelta(hours=1)

    def __call__(self) -> dt.datetime:
        return self.now


def recording(recording_id: str, kind: str, title: str) -> Recording:
    path = Path(f"/nonexistent/{recording_id}.ogg")
    return Recording(
        id=recording_id,
        title=title,
        source="test",
        kind=kind,
        language="en",
        duration_seconds=5.0,
        file=f"audio/{recording_id}.ogg",
        sha256="0" * 64,
        source_url=None,
        path=path,
        base_dir=path.parent,
    )


CATALOG = RecordingCatalog(
    path=Path("/nonexistent/recordings.yaml"),
    recordings=(
        recording("bell", "bell", "Bell"),
        recording("welcome-reading-en", "welcome-reading", "Welcome words"),
        recording("affectionate-breathing", "practice", "Affectionate Breathing"),
    ),
)


@dataclass
class FakeAlerts:
    messages: list[str] = field(default_factory=list)

    async def to_coordinators(self, text: str) -> None:
        self.messages.append(text)


@dataclass
class Setup:
    runner: SessionRunner
    room: FakeRoom
    alerts: FakeAlerts
    clock: Clock
    db: Database
    session: OccurrenceRow
    config: Config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_for_world(World.default(), tmp_path, sections={"sessions": {"grace_minutes": 5}})


async def build(db: Database, config: Config, clock: Clock, room: FakeRoom, alerts: FakeAlerts) -> SessionRunner:
    return SessionRunner(db, config, lambda: CATALOG, Timers(), room, alerts, clock)


@pytest.fixture
async def setup(tmp_path: Path, config: Config) -> AsyncIterator[Setup]:
    clock = Clock()
    db = await Database.open(tmp_path / "runner.sqlite3", clock=clock)
    session = await db.add_one_off(start=START, duration_minutes=45, channel_id=555, title="Evening practice")
    room, alerts = FakeRoom(), FakeAlerts()
    runner = await build(db, config, clock, room, alerts)
    yield Setup(runner, room, alerts, clock, db, session, config)
    runner.timers.shutdown()
    await db.close()


def participant(user_id: int) -> Actor:
    return Actor.of(user_id)


def teacher(config: Config, user_id: int = 2) -> Actor:
    return Actor.of(user_id, [config.roles.teacher])


async def run_until_choosing(s: Setup) -> None:
    s.room.people = [participant(10), participant(11)]
    await s.runner.open(s.session.id)
    s.clock.now = START + dt.timedelta(minutes=5)
    await s.runner.begin(s.session.id)


async def phase(s: Setup) -> str:
    run = await s.db.get_run(s.session.id)
    assert run is not None
    return run.phase


async def test_no_teacher_welcome_words_then_the_chosen_recording_then_restored(s: Setup) -> None:
    await run_until_choosing(s)
    assert s.room.posts[0].startswith("On behalf of CMSC, welcome to this practice session.")
    assert s.room.played == ["welcome-reading-en"]
    assert await phase(s) == "choosing" and s.room.choices_offered == 1
    run = await s.db.get_run(s.session.id)
    assert run is not None and run.restrictions["muted"] == [10, 11]

    await s.runner.choose(s.session.id, participant(11), "recording:affectionate-breathing")
    assert "play:1" in s.runner.timers.pending()
    await s.runner._play_choice(s.session.id, "recording:affectionate-breathing", 0.0)  # what the timer runs
    assert s.room.played == ["welcome-reading-en", "affectionate-breathing"]
    assert await phase(s) == "choosing" and s.room.choices_offered == 2, "time is left: the choice again"

    s.clock.now = s.session.end_utc
    await s.runner.close(s.session.id)
    assert s.room.restored[-1]["muted"] == [10, 11], "everything the bot changed is restored at close"
    assert await phase(s) == "closed"
    occurrence = await s.db.get_occurrence(s.session.id)
    assert occurrence is not None and occurrence.status == "closed"
    assert "https://donate.example.org/msc" in s.room.posts[-1]


async def test_first_choice_wins_and_only_offered_choices_are_accepted(s: Setup) -> None:
    await run_until_choosing(s)
    with pytest.raises(NotFoundError):
        await s.runner.choose(s.session.id, participant(10), "recording:bell")  # not a practice recording
    with pytest.raises(NotFoundError):
        await s.runner.choose(s.session.id, participant(10), "silent:45")
    results = await asyncio.gather(
        s.runner.choose(s.session.id, participant(10), "silent:10"),
        s.runner.choose(s.session.id, participant(11), "recording:affectionate-breathing"),
        return_exceptions=True,
    )
    assert sum(isinstance(result, ConflictError) for result in results) == 1


async def test_no_choice_in_time_means_the_default_silent_sit_with_bells(s: Setup) -> None:
    await run_until_choosing(s)
    s.clock.now += dt.timedelta(minutes=3)
    await s.runner.choice_timeout(s.session.id)
    assert await phase(s) == "silent_sit"
    run = await s.db.get_run(s.session.id)
    assert run is not None and run.phase_ends_at == s.clock.now + dt.timedelta(minutes=15)
    assert s.room.played[-1] == "bell"
    s.clock.now = run.phase_ends_at
    await s.runner.end_silent_sit(s.session.id)
    assert s.room.played[-2:] == ["bell", "bell"]
    assert await phase(s) == "choosing", "22 minutes are left: the group may choose another practice"
    s.clock.now = s.session.end_utc - dt.timedelta(minutes=19)
    await s.runner.choice_timeout(s.session.id)
    run = await s.db.get_run(s.session.id)
    assert run is not None and run.choice == "silent:15", "the default fits in the 19 minutes left"
    s.clock.now = s.session.end_utc - dt.timedelta(minutes=4)
    await s.runner.end_silent_sit(s.session.id)
    assert await phase(s) == "resting", "no sit fits in the 4 minutes left: quiet until the close"


async def test_teacher_present_leads_and_the_bot_stays_silent(s: Setup) -> None:
    await s.db.claim_teacher(s.session.id, 2)
    s.room.people = [participant(10), teacher(s.config, 2)]
    await s.runner.open(s.session.id)
    s.clock.now = START + dt.timedelta(minutes=5)
    await s.runner.begin(s.session.id)
    assert await phase(s) == "teacher_led"
    assert s.room.played == []
    assert not any(post.startswith("On behalf of CMSC") for post in s.room.posts)


async def test_a_late_teacher_takes_over_and_restrictions_are_lifted(s: Setup) -> None:
    await run_until_choosing(s)
    await s.runner.choose(s.session.id, participant(10), "recording:affectionate-breathing")
    s.room.hold_playback = asyncio.Event()
    playing = asyncio.create_task(s.runner._play_choice(s.session.id, "recording:affectionate-breathing", 0.0))
    await asyncio.wait_for(s.room.practice_started.wait(), timeout=5)
    await s.runner.member_joined(s.session.id, teacher(s.config, 3))
    await playing
    assert await phase(s) == "teacher_led"
    assert s.room.stopped >= 1
    assert s.room.restored[-1]["muted"] == [10, 11]
    claim = await s.db.get_teacher_claim(s.session.id)
    assert claim is not None and claim.teacher_id == 3


async def test_asking_to_speak_is_declined_gently_once(s: Setup) -> None:
    await run_until_choosing(s)
    await s.runner.asked_to_speak(s.session.id, participant(12))
    await s.runner.asked_to_speak(s.session.id, participant(12))
    declines = [post for post in s.room.posts if "nobody leads the practice" in post]
    assert len(declines) == 1
    run = await s.db.get_run(s.session.id)
    assert run is not None and 12 in run.restrictions["muted"]


async def test_a_member_who_leaves_muted_is_unmuted_when_they_return(s: Setup) -> None:
    await run_until_choosing(s)
    await s.runner.member_left(s.session.id, 10)
    assert await s.db.pending_unmutes() == [10]
    run = await s.db.get_run(s.session.id)
    assert run is not None and run.restrictions["muted"] == [11]


async def test_a_tampered_recording_is_refused_and_coordinators_are_alerted(s: Setup) -> None:
    s.room.refuse.add("affectionate-breathing")
    await run_until_choosing(s)
    await s.runner.choose(s.session.id, participant(10), "recording:affectionate-breathing")
    await s.runner._play_choice(s.session.id, "recording:affectionate-breathing", 0.0)
    assert "affectionate-breathing" not in s.room.played
    assert len(s.alerts.messages) == 1 and "NOT played" in s.alerts.messages[0]


async def test_a_restart_mid_session_resumes_and_still_restores_at_close(s: Setup, tmp_path: Path) -> None:
    await run_until_choosing(s)
    await s.runner.choice_timeout(s.session.id)  # silent sit under way
    s.runner.timers.shutdown()

    room, alerts = FakeRoom(), FakeAlerts()
    s.clock.now += dt.timedelta(minutes=4)
    restarted = await build(s.db, s.config, s.clock, room, alerts)
    await restarted.rebuild(dt.timedelta(days=56))
    pending = restarted.timers.pending()
    run = await s.db.get_run(s.session.id)
    assert run is not None
    assert pending["sit:1"] == run.phase_ends_at
    assert pending["close:1"] == s.session.end_utc
    s.clock.now = s.session.end_utc
    await restarted.close(s.session.id)
    assert room.restored and room.restored[-1]["muted"] == [10, 11]
    restarted.timers.shutdown()


async def test_cancelled_sessions_never_open(s: Setup) -> None:
    await s.db.cancel_occurrence(s.session.id)
    cancelled = await s.db.get_occurrence(s.session.id)
    assert cancelled is not None
    s.runner.arm(cancelled)
    assert s.runner.timers.pending() == {}
    await s.runner.open(s.session.id)
    await s.runner.begin(s.session.id)
    assert s.room.opened == 0 and await s.db.get_run(s.session.id) is None


@pytest.fixture
def s(setup: Setup) -> Setup:
    return setup
