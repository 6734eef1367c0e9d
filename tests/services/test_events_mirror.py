"""The scheduled-events planner (pure) and a mirror pass over a fake board: what to create, change and remove."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any, cast

import pytest

from bot.model import OccurrenceRow, OccurrenceStatus
from bot.ports import EventGone, EventKind, EventLimitReached, EventSpec, Field, LiveEvent
from bot.services.events_mirror import (
    CREATE_LEAD,
    DESCRIPTION_LIMIT,
    EVENT_CEILING,
    EventsMirror,
    MirrorPlan,
    Removal,
    describe,
    plan_mirror,
    spec_for,
)
from bot.services.sessions import SessionService
from bot.storage import Database
from bot.timers import Timers

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)  # Sunday 1 March 2026, 04:00 PST
HORIZON_END = NOW + dt.timedelta(days=56)
STAGE, VOICE, TEXT = 101, 102, 103
KINDS: dict[int, EventKind] = {STAGE: "stage", VOICE: "voice"}
_ids = itertools.count(1)


def session(
    hours_ahead: float,
    *,
    id: int | None = None,  # noqa: A002 - the row's own field name
    minutes: int = 45,
    channel: int = STAGE,
    status: OccurrenceStatus = "scheduled",
    title: str = "Evening practice",
    practice: str | None = None,
) -> OccurrenceRow:
    start = NOW + dt.timedelta(hours=hours_ahead)
    return OccurrenceRow(
        id=id if id is not None else next(_ids),
        series_id=None,
        recurrence_id=start,
        start_utc=start,
        duration_minutes=minutes,
        channel_id=channel,
        title=title,
        practice=practice,
        status=status,
        change_version=1,
        created_at=NOW,
        updated_at=NOW,
    )


def event_for(occurrence: OccurrenceRow, event_id: int, **changes: Any) -> LiveEvent:
    """The live event exactly as the mirror would have made it (changes applied on top)."""
    spec = spec_for(occurrence, KINDS[occurrence.channel_id])
    event = LiveEvent(
        id=event_id,
        name=spec.name,
        description=spec.description,
        start=spec.start,
        end=spec.end,
        channel_id=spec.channel_id,
        kind=spec.kind,
        state="scheduled",
        ours=True,
    )
    return dataclasses.replace(event, **changes)


def someone_elses(event_id: int, state: str = "scheduled") -> LiveEvent:
    return LiveEvent(
        id=event_id,
        name="Book club",
        description=None,
        start=NOW + dt.timedelta(days=3),
        end=None,
        channel_id=VOICE,
        kind="voice",
        state=state,  # type: ignore[arg-type]
        ours=False,
    )


def plan(
    sessions: Iterable[OccurrenceRow],
    links: dict[int, int] | None = None,
    events: Iterable[LiveEvent] = (),
    *,
    now: dt.datetime = NOW,
    ceiling: int = EVENT_CEILING,
) -> MirrorPlan:
    return plan_mirror(
        list(sessions),
        links or {},
        list(events),
        now=now,
        horizon_end=HORIZON_END,
        channel_kinds=KINDS,
        ceiling=ceiling,
    )


# --- what an event looks like ----------------------------------------------------------------------


def test_a_stage_session_gets_a_stage_event_and_a_voice_session_a_voice_event() -> None:
    on_stage, in_voice = session(24, channel=STAGE), session(48, channel=VOICE)
    created = plan([on_stage, in_voice]).create
    assert [(spec.occurrence_id, spec.kind, spec.channel_id) for spec in created] == [
        (on_stage.id, "stage", STAGE),
        (in_voice.id, "voice", VOICE),
    ]
    assert created[0].start == on_stage.start_utc
    assert created[0].end == on_stage.start_utc + dt.timedelta(minutes=45)
    assert created[0].name == "Evening practice"


def test_the_description_gives_us_pacific_time_and_that_leaving_is_always_fine() -> None:
    text = describe(session(30, id=7, minutes=45, practice="Affectionate Breathing"))
    # 1 March 2026 12:00 UTC + 30 h = 2 March 18:00 UTC = 10:00 PST.
    assert "Mon 2 Mar 2026, 10:00 PST until 10:45 PST, US Pacific time" in text
    assert "welcome to leave at any time" in text
    assert "Practice: Affectionate Breathing." in text
    assert "session #7" in text
    assert len(text) <= DESCRIPTION_LIMIT
    assert "Practice:" not in describe(session(30))


def test_a_session_that_ends_on_another_pacific_day_names_the_end_date() -> None:
    # 2 March 07:30 UTC = 1 March 23:30 PST; an hour later it is 2 March.
    text = describe(session(19.5, minutes=60))
    assert "Sun 1 Mar 2026, 23:30 PST until Mon 2 Mar 2026, 00:30 PST" in text


def test_the_name_is_the_title_cut_to_discords_100_characters() -> None:
    assert spec_for(session(24, title="x" * 140), "stage").name == "x" * 100


# --- which sessions are mirrored --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "row", "mirrored"),
    [
        ("scheduled", session(24), True),
        ("open", session(24, status="open"), True),
        ("teacher-led", session(24, status="teacher_led"), True),
        ("without teacher", session(24, status="no_teacher"), True),
        ("cancelled", session(24, status="cancelled"), False),
        ("closed", session(24, status="closed"), False),
        ("beyond the horizon", session(57 * 24), False),
        ("in a text channel", session(24, channel=TEXT), False),
        ("already ended", session(-2), False),
        ("starting too soon to announce", session(CREATE_LEAD / dt.timedelta(hours=1) / 2), False),
    ],
)
def test_only_upcoming_sessions_in_the_horizon_and_a_stage_or_voice_channel_get_an_event(
    case: str, row: OccurrenceRow, mirrored: bool
) -> None:
    assert bool(plan([row]).create) is mirrored, case


def test_a_linked_event_that_matches_its_session_is_left_alone() -> None:
    row = session(24)
    result = plan([row], {row.id: 500}, [event_for(row, 500)])
    assert not result
    assert result.summary() == "nothing to do"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"start_utc": NOW + dt.timedelta(hours=30)}, {"start", "end", "description"}),
        ({"duration_minutes": 60}, {"end", "description"}),
        ({"title": "Morning practice"}, {"name"}),
        ({"channel_id": VOICE}, {"place"}),
        ({"practice": "Soften, Soothe, Allow"}, {"description"}),
    ],
)
def test_a_changed_session_updates_only_the_fields_that_differ(change: dict[str, Any], fields: set[Field]) -> None:
    row = session(24)
    moved = dataclasses.replace(row, **change)
    result = plan([moved], {row.id: 500}, [event_for(row, 500)])
    assert [(u.event_id, u.fields) for u in result.update] == [(500, frozenset(fields))]
    assert result.update[0].spec == spec_for(moved, KINDS[moved.channel_id])
    assert not (result.create or result.cancel or result.delete)


# --- taking events away ----------------------------------------------------------------------------


def test_a_cancelled_sessions_event_is_cancelled_and_a_live_one_ended() -> None:
    scheduled = session(24, status="cancelled")
    running = session(-0.2, status="cancelled")
    result = plan(
        [scheduled, running],
        {scheduled.id: 500, running.id: 501},
        [event_for(scheduled, 500), event_for(running, 501, state="active")],
    )
    assert result.cancel == [Removal(500, scheduled.id)]
    assert result.complete == [Removal(501, running.id)]
    assert not result.delete


def test_an_event_of_a_session_that_took_place_is_deleted_never_cancelled() -> None:
    ended = session(-2)  # its event never started
    closed = session(-0.5, status="closed")
    result = plan([ended, closed], {ended.id: 500, closed.id: 501}, [event_for(ended, 500), event_for(closed, 501)])
    assert sorted(result.delete, key=lambda r: r.event_id) == [Removal(500, ended.id), Removal(501, closed.id)]
    assert not result.cancel


def test_a_live_event_stays_while_its_session_runs_and_ends_when_it_is_over() -> None:
    running, over = session(-0.2, status="teacher_led"), session(-1, status="closed")
    events = [event_for(running, 500, state="active"), event_for(over, 501, state="active")]
    result = plan([running, over], {running.id: 500, over.id: 501}, events)
    assert result.complete == [Removal(501, over.id)]
    assert not result.update and not result.delete


def test_a_session_under_way_keeps_its_event_though_it_can_no_longer_be_created() -> None:
    running = session(-0.2, status="open")
    assert not plan([running], {running.id: 500}, [event_for(running, 500)])
    assert not plan([running]).create


def test_links_to_events_deleted_or_finished_behind_our_back_are_forgotten_and_the_events_made_again() -> None:
    deleted, finished = session(24), session(48)
    result = plan(
        [deleted, finished], {deleted.id: 500, finished.id: 501}, [event_for(finished, 501, state="cancelled")]
    )
    assert sorted(result.forget) == sorted([deleted.id, finished.id])
    assert [spec.occurrence_id for spec in result.create] == [deleted.id, finished.id]


def test_the_event_of_a_session_that_no_longer_exists_is_cancelled() -> None:
    gone = session(24)
    result = plan([], {gone.id: 500}, [event_for(gone, 500)])
    assert result.forget == [gone.id]
    assert result.cancel == [Removal(500, None)]


def test_a_stray_event_of_ours_is_adopted_by_its_session_or_else_cancelled() -> None:
    row, other = session(24), session(48)
    adoptable = event_for(row, 600, name="Old name")
    stray = event_for(other, 601, start=NOW + dt.timedelta(hours=50))
    result = plan([row], {}, [adoptable, stray])
    assert result.adopt == [(row.id, 600)]
    assert [(u.event_id, u.fields) for u in result.update] == [(600, frozenset({"name"}))]
    assert result.cancel == [Removal(601, None)]
    assert not result.create


def test_a_stray_matching_a_session_beyond_the_ceiling_is_deleted_not_adopted() -> None:
    first, second = session(24), session(48)
    result = plan([first, second], {first.id: 500}, [event_for(first, 500), event_for(second, 600)], ceiling=1)
    assert result.adopt == []
    assert result.delete == [Removal(600, second.id)]


def test_other_peoples_events_are_never_touched() -> None:
    result = plan([], {}, [someone_elses(700), someone_elses(701, "active")])
    assert not result


# --- Discord's limit ---------------------------------------------------------------------------


def test_only_the_soonest_sessions_get_events_up_to_the_ceiling() -> None:
    rows = [session(2 + i * 6) for i in range(150)]
    result = plan(reversed(rows))
    assert [spec.occurrence_id for spec in result.create] == [row.id for row in rows[:EVENT_CEILING]]
    assert EVENT_CEILING <= 90 < 100


def test_everyone_elses_live_events_count_against_the_ceiling_and_finished_ones_do_not() -> None:
    rows = [session(2 + i * 6) for i in range(150)]
    others = [someone_elses(700 + n) for n in range(7)] + [someone_elses(800 + n, "completed") for n in range(5)]
    assert len(plan(rows, {}, others).create) == EVENT_CEILING - 7


def test_our_live_events_count_too() -> None:
    running = session(-0.2, status="open")
    rows = [session(2 + i) for i in range(5)]
    result = plan([running, *rows], {running.id: 500}, [event_for(running, 500, state="active")], ceiling=3)
    assert [spec.occurrence_id for spec in result.create] == [row.id for row in rows[:2]]


def test_a_sooner_session_takes_the_place_of_the_latest_event_which_is_deleted_quietly() -> None:
    first, last = session(24), session(48)
    sooner = session(12)
    result = plan(
        [first, last, sooner], {first.id: 500, last.id: 501}, [event_for(first, 500), event_for(last, 501)], ceiling=2
    )
    assert result.delete == [Removal(501, last.id)]
    assert [spec.occurrence_id for spec in result.create] == [sooner.id]


def test_with_no_room_at_all_nothing_is_created() -> None:
    others = [someone_elses(700 + n) for n in range(EVENT_CEILING + 3)]
    assert not plan([session(24)], {}, others).create


def test_the_next_look_is_when_the_soonest_mirrored_session_ends() -> None:
    rows = [session(24, minutes=30), session(48)]
    assert plan(rows).next_check == NOW + dt.timedelta(hours=24, minutes=30)
    assert plan([]).next_check is None


# --- a pass over a fake board ---------------------------------------------------------------------


class FakeBoard:
    """The guild's events in memory, with Discord's limit and optional failures."""

    def __init__(self) -> None:
        self.events: dict[int, LiveEvent] = {}
        self.calls: list[tuple[str, int]] = []
        self.limit = 100
        self.fail_creates: type[Exception] | None = None
        self.peak = 0
        self._ids = itertools.count(1000)

    def channel_kinds(self, channel_ids: Iterable[int]) -> dict[int, EventKind]:
        return {c: KINDS[c] for c in channel_ids if c in KINDS}

    async def live_events(self) -> list[LiveEvent]:
        return list(self.events.values())

    def _live(self) -> int:
        return sum(e.live for e in self.events.values())

    async def create(self, spec: EventSpec) -> int:
        if self.fail_creates is not None:
            raise self.fail_creates("refused")
        if self._live() >= self.limit:
            raise EventLimitReached("30038")
        event_id = next(self._ids)
        self.events[event_id] = LiveEvent(
            event_id, spec.name, spec.description, spec.start, spec.end, spec.channel_id, spec.kind, "scheduled", True
        )
        self.calls.append(("create", event_id))
        self.peak = max(self.peak, self._live())
        return event_id

    async def update(self, event_id: int, spec: EventSpec, fields: frozenset[Field]) -> None:
        if event_id not in self.events:
            raise EventGone("404")
        self.events[event_id] = dataclasses.replace(self.events[event_id], name=spec.name, start=spec.start)
        self.calls.append(("update", event_id))

    async def cancel(self, event_id: int) -> None:
        self.events[event_id] = dataclasses.replace(self.events[event_id], state="cancelled")
        self.calls.append(("cancel", event_id))

    async def complete(self, event_id: int) -> None:
        self.events[event_id] = dataclasses.replace(self.events[event_id], state="completed")
        self.calls.append(("complete", event_id))

    async def delete(self, event_id: int) -> None:
        del self.events[event_id]
        self.calls.append(("delete", event_id))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def mirror_parts(tmp_path: Path) -> AsyncIterator[tuple[EventsMirror, FakeBoard, Database, Clock]]:
    clock = Clock()
    db = await Database.open(tmp_path / "mirror.sqlite3", clock=clock)
    board = FakeBoard()
    timers = Timers()
    # The interest handlers are covered on the real bot (tests/cogs/test_events.py); passes need no sessions.
    mirror = EventsMirror(
        db,
        cast(SessionService, None),
        board,
        timers,
        session_channels=[STAGE, VOICE],
        horizon=dt.timedelta(days=56),
        clock=clock,
    )
    yield mirror, board, db, clock
    timers.shutdown()
    await db.close()


async def add_sessions(db: Database, count: int, *, every_hours: float = 6) -> list[OccurrenceRow]:
    return [
        await db.add_one_off(
            start=NOW + dt.timedelta(minutes=20) + i * dt.timedelta(hours=every_hours),
            duration_minutes=30,
            channel_id=STAGE,
            title=f"S{i}",
        )
        for i in range(count)
    ]


async def test_a_pass_links_each_event_it_creates_and_removes_before_it_creates(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, board, db, clock = mirror_parts
    rows = await add_sessions(db, 150)
    report = await mirror.run_pass()
    assert report.created == EVENT_CEILING
    links = await db.links_of_kind("event")
    assert sorted(links) == [row.id for row in rows[:EVENT_CEILING]]
    assert mirror.timers.pending()["events:refresh"] == rows[0].end_utc, "when the soonest session ends"

    clock.now = rows[4].end_utc  # five sessions have ended
    board.calls.clear()
    await mirror.run_pass()
    kinds = [kind for kind, _ in board.calls]
    assert kinds == ["delete"] * 5 + ["create"] * 5, "room is made before it is used"
    assert sorted(await db.links_of_kind("event")) == [row.id for row in rows[5 : EVENT_CEILING + 5]]
    assert board.peak == EVENT_CEILING


async def test_when_discord_refuses_for_its_limit_the_pass_stops_creating_and_tries_again_later(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, board, db, _ = mirror_parts
    rows = await add_sessions(db, 10)
    board.limit = 4  # people filled the guild between our count and our creations
    report = await mirror.run_pass()
    assert report.stopped_at_limit and report.created == 4
    assert sorted(await db.links_of_kind("event")) == [row.id for row in rows[:4]]
    assert "Discord's event limit reached" in str(report)


async def test_a_failed_create_is_retried_within_minutes(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, board, db, _ = mirror_parts
    await add_sessions(db, 2, every_hours=48)
    board.fail_creates = RuntimeError
    report = await mirror.run_pass()
    assert report.failed == 2 and await db.links_of_kind("event") == {}
    assert mirror.timers.pending()["events:refresh"] == NOW + dt.timedelta(minutes=5)


async def test_an_event_deleted_between_looking_and_updating_is_made_again_by_the_next_pass(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, board, db, _ = mirror_parts
    (row,) = await add_sessions(db, 1)
    await mirror.run_pass()
    (event_id,) = (await db.links_of_kind("event")).values()
    await db.update_occurrence_details(row.id, title="Renamed")
    original = board.live_events

    async def stale_view() -> list[LiveEvent]:
        # Discord answered the listing before someone deleted the event by hand.
        seen = await original()
        del board.events[event_id]
        return seen

    board.live_events = stale_view  # type: ignore[method-assign]
    await mirror.run_pass()
    assert await db.links_of_kind("event") == {}
    board.live_events = original  # type: ignore[method-assign]
    await mirror.run_pass()
    (new_id,) = (await db.links_of_kind("event")).values()
    assert new_id != event_id and board.events[new_id].name == "Renamed"


async def test_passes_wait_for_start_and_requests_during_a_pass_cause_exactly_one_more(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, _, db, _ = mirror_parts
    await add_sessions(db, 3)
    passes = 0
    run_pass = mirror.run_pass

    async def counted() -> Any:
        nonlocal passes
        passes += 1
        mirror.request_pass()  # a change arrives while the pass runs
        mirror.request_pass()
        if passes > 1:
            mirror.run_pass = run_pass  # type: ignore[method-assign]
        return await run_pass()

    mirror.run_pass = counted  # type: ignore[method-assign]
    mirror.request_pass()
    assert passes == 0 and not mirror.timers.pending(), "nothing runs before the core is ready"
    mirror.start()
    await mirror.settled()
    assert passes == 2
    mirror.stop()


async def test_a_change_the_events_do_not_show_asks_for_no_pass_and_one_they_show_does(
    mirror_parts: tuple[EventsMirror, FakeBoard, Database, Clock],
) -> None:
    mirror, board, db, _ = mirror_parts
    first, second = await add_sessions(db, 2)
    mirror.start()
    await mirror.settled()
    passes = 0
    run_pass = mirror.run_pass

    async def counted() -> Any:
        nonlocal passes
        passes += 1
        return await run_pass()

    mirror.run_pass = counted  # type: ignore[method-assign]
    # A teacher claims the first session: nothing its event shows has changed.
    await db.claim_teacher(first.id, 7)
    await mirror.on_session_changed(first)
    await mirror.settled()
    assert passes == 0
    # The second one is renamed: its event must follow.
    _, renamed = await db.update_occurrence_details(second.id, title="Renamed")
    await mirror.on_session_changed(renamed)
    await mirror.settled()
    assert passes == 1
    assert sorted(event.name for event in (await board.live_events())) == ["Renamed", "S0"]
    mirror.stop()
