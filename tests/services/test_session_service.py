"""The session service: who may do what, and that each change reaches exactly the signed-up members once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.config import Config
from bot.core import Core
from bot.errors import ConflictError, PermissionDeniedError, ScheduleError
from bot.media.recordings import RecordingCatalog
from bot.model import Actor, DeliveryRow, OccurrenceRow
from bot.services.sessions.base import LISTING_FRESH_FOR
from bot.storage import Database
from loopback import World
from loopback.harness import config_for_world
from tests.fakes import FakeRoom

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)  # Sunday 1 March 2026, 04:00 PST


@dataclass
class Clock:
    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class FakeDiscord:
    """Records each message a member would receive, keyed by nonce as Discord dedups them."""

    sent: dict[str, tuple[int, str, dict[str, object]]] = field(default_factory=dict)
    posts: list[str] = field(default_factory=list)

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        self.sent.setdefault(row.nonce, (row.key.recipient_id, row.key.kind, dict(row.payload)))
        return len(self.sent)

    async def to_coordinators(self, text: str) -> None:
        self.posts.append(text)

    def kinds_for(self, user: int) -> list[str]:
        return sorted(kind for who, kind, _ in self.sent.values() if who == user)


@dataclass
class People:
    coordinator: Actor
    teacher: Actor
    other_teacher: Actor
    member: Actor


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return config_for_world(World.default(), tmp_path)


@pytest.fixture
def people(config: Config) -> People:
    roles = config.roles
    return People(
        coordinator=Actor.of(1, [roles.coordinator]),
        teacher=Actor.of(2, [roles.teacher]),
        other_teacher=Actor.of(3, [roles.teacher]),
        member=Actor.of(4),
    )


@pytest.fixture
async def core(config: Config, tmp_path: Path) -> AsyncIterator[tuple[Core, FakeDiscord, Clock]]:
    clock = Clock()
    fake = FakeDiscord()
    db = await Database.open(tmp_path / "core.sqlite3", clock=clock)
    assembled = Core.assemble(
        config,
        db,
        RecordingCatalog(path=tmp_path / "r.yaml"),
        messenger=fake,
        announcer=fake,
        room=FakeRoom(),
        clock=clock,
    )
    yield assembled, fake, clock
    assembled.stop()
    await assembled.dispatcher.idle()
    await db.close()


async def snapshot(db: Database) -> tuple[object, ...]:
    far = NOW + dt.timedelta(days=400)
    occurrences = await db.list_occurrences(NOW - dt.timedelta(days=1), far)
    claims = [await db.get_teacher_claim(o.id) for o in occurrences]
    return (await db.list_series(), occurrences, claims, await db.list_audit(limit=None))


async def weekly(core: Core, people: People, weekly: str = "MON,WED@18:30") -> int:
    series, _ = await core.sessions.create_series(
        people.coordinator, title="Evening practice", weekly=weekly, starts_on="2026-03-01", duration_minutes=45
    )
    return series.id


async def test_only_coordinators_change_the_schedule_and_refusals_change_nothing(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    service = core[0].sessions
    series_id = await weekly(core[0], people)
    session = (await service.upcoming(7))[0].occurrence
    before = await snapshot(core[0].db)
    attempts = [
        service.create_series(
            people.member, title="x", weekly="TUE@10:00", starts_on="2026-03-02", duration_minutes=30
        ),
        service.edit_series(people.teacher, series_id, title="Renamed"),
        service.pause_series(people.member, series_id),
        service.end_series(people.teacher, series_id),
        service.add_session(people.member, start="2026-03-10 10:00", duration_minutes=30, title="x"),
        service.cancel_session(people.teacher, session.id, "because"),
        service.move_session(people.member, session.id, "2026-03-03 19:00"),
        service.assign_teacher(people.member, session.id, people.teacher),
        service.claim(people.member, session.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDeniedError):
            await attempt
    assert await snapshot(core[0].db) == before


async def test_series_sessions_follow_pacific_time_across_the_spring_change(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    await weekly(core[0], people)
    starts = [summary.occurrence.start_utc for summary in await core[0].sessions.upcoming(14)]
    assert starts == [
        dt.datetime(2026, 3, 3, 2, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 5, 2, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 10, 1, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 12, 1, 30, tzinfo=dt.UTC),
    ]


async def test_each_change_reaches_exactly_the_signed_up_members_once(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    assembled, fake, _ = core
    service = assembled.sessions
    await weekly(assembled, people)
    first, second = [s.occurrence for s in (await service.upcoming(7))[:2]]
    await service.sign_up(10, first.id)
    await service.sign_up(11, first.id)
    await service.sign_up(12, second.id)

    await service.move_session(people.coordinator, first.id, "2026-03-02 19:00")
    await service.cancel_session(people.coordinator, second.id, "our teacher is unwell")
    await assembled.dispatcher.idle()  # notices go out in the background, after the command has answered
    assert fake.kinds_for(10) == fake.kinds_for(11) == ["notice:moved"]
    assert fake.kinds_for(12) == ["notice:cancelled"]
    assert fake.kinds_for(99) == []
    moved = next(payload for who, kind, payload in fake.sent.values() if who == 10)
    assert moved["old_start"] == "2026-03-03T02:30:00Z"
    assert moved["new_start"] == "2026-03-03T03:00:00Z"

    # Delivering again (a duplicate sweep) sends nothing new.
    await assembled.dispatcher.sweep()
    assert len(fake.sent) == 3


async def test_pause_cancels_upcoming_sessions_and_resume_brings_them_back(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    assembled, fake, _ = core
    service = assembled.sessions
    series_id = await weekly(assembled, people)
    session = (await service.upcoming(7))[0].occurrence
    await service.sign_up(10, session.id)
    await service.cancel_session(people.coordinator, (await service.upcoming(7))[1].occurrence.id, "a holiday")

    _, cancelled = await service.pause_series(people.coordinator, series_id)
    assert await service.upcoming(28) == []
    assert cancelled >= 8
    await assembled.dispatcher.idle()  # the pause's notices went out (in the background) before the resume
    _, restored = await service.resume_series(people.coordinator, series_id)
    await assembled.dispatcher.idle()
    back = [summary.occurrence for summary in await service.upcoming(7)]
    assert session.id in [o.id for o in back]
    assert len(back) == 1, "the session cancelled on its own stays cancelled"
    assert fake.kinds_for(10) == ["notice:cancelled", "notice:restored"]
    assert restored >= 7


async def test_editing_the_time_moves_upcoming_sessions_and_tells_members(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    assembled, fake, _ = core
    service = assembled.sessions
    series_id = await weekly(assembled, people)
    session = (await service.upcoming(7))[0].occurrence
    await service.sign_up(10, session.id)
    await service.edit_series(people.coordinator, series_id, weekly="MON,WED@19:00")
    after = await assembled.db.get_occurrence(session.id)
    assert after is not None
    assert after.start_utc == session.start_utc + dt.timedelta(minutes=30)
    assert fake.kinds_for(10) == ["notice:moved"]
    # Expanding again does not add the old times back.
    await service.extend_horizon()
    starts = [s.occurrence.start_utc for s in await service.upcoming(7)]
    assert len(starts) == len(set(starts)) == 2


async def test_two_teachers_claiming_at_once_one_wins_and_the_other_is_told_kindly(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    assembled = core[0]
    await weekly(assembled, people)
    session = (await assembled.sessions.upcoming(7))[0].occurrence
    results = await asyncio.gather(
        assembled.sessions.claim(people.teacher, session.id),
        assembled.sessions.claim(people.other_teacher, session.id),
        return_exceptions=True,
    )
    refusals = [r for r in results if isinstance(r, ConflictError)]
    assert len(refusals) == 1 and "Thank you for offering" in str(refusals[0])
    claim = await assembled.db.get_teacher_claim(session.id)
    assert claim is not None and claim.teacher_id in (2, 3)


async def test_release_tells_coordinators_and_members_and_reason_is_inert(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    assembled, fake, _ = core
    await weekly(assembled, people)
    session = (await assembled.sessions.upcoming(7))[0].occurrence
    await assembled.sessions.sign_up(10, session.id)
    await assembled.sessions.claim(people.teacher, session.id)
    with pytest.raises(PermissionDeniedError):
        await assembled.sessions.release(people.other_teacher, session.id, "not mine")
    await assembled.sessions.release(people.teacher, session.id, "@everyone I am **ill**")
    await assembled.dispatcher.idle()
    assert fake.kinds_for(10) == ["notice:teacher"]
    assert "@\u200beveryone" in fake.posts[-1] and "\\*\\*ill\\*\\*" in fake.posts[-1]


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2026-02-30 10:00", "February 2026 has 28 days"),
        ("2026-03-10 25:00", "00"),
        ("2026-02-01 10:00", "already in the past"),
    ],
)
async def test_bad_session_times_are_refused_kindly(
    core: tuple[Core, FakeDiscord, Clock], people: People, start: str, message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        await core[0].sessions.add_session(people.coordinator, start=start, duration_minutes=30, title="One-off")
    assert await core[0].sessions.upcoming(28) == []


async def test_a_session_in_the_spring_gap_starts_after_the_gap(
    core: tuple[Core, FakeDiscord, Clock], people: People
) -> None:
    session = await core[0].sessions.add_session(
        people.coordinator, start="2026-03-08 02:30", duration_minutes=30, title="Early sit"
    )
    assert session.start_utc == dt.datetime(2026, 3, 8, 10, 30, tzinfo=dt.UTC)  # 03:30 PDT


async def test_the_listing_shows_this_bots_changes_at_once_and_another_processs_within_seconds(
    core: tuple[Core, FakeDiscord, Clock], people: People, tmp_path: Path
) -> None:
    bot, _, clock = core
    service = bot.sessions
    await weekly(bot, people)
    session = (await service.upcoming(7))[0]
    assert session.signups == 0
    # Twenty members asking at once get the same listing.
    listings = await asyncio.gather(*(service.upcoming(7) for _ in range(20)))
    assert all(listing == listings[0] for listing in listings)
    # A sign-up through the bot is counted in the very next listing.
    await service.sign_up(people.member.user_id, session.occurrence.id)
    assert (await service.upcoming(7))[0].signups == 1
    # A write by another process (a command-line tool) shows once the listing is LISTING_FRESH_FOR old.
    async with Database.open(tmp_path / "core.sqlite3", exclusive=False, clock=clock) as tool:
        await tool.sign_up(session.occurrence.id, 99)
    clock.now += LISTING_FRESH_FOR
    assert (await service.upcoming(7))[0].signups == 2
    assert await service.signed_up_among(people.member.user_id, [session.occurrence.id]) == {session.occurrence.id}
