"""The scheduled-events mirror on the real bot, against the loopback Discord and Discord's API rules."""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.model import Actor, OccurrenceRow
from bot.schedule.rules import utc_to_pacific
from bot.services.events_mirror import EVENT_CEILING, EventsMirror
from loopback import Sandbox
from loopback.harness import practice_bot
from loopback.ratelimit import RateLimiter
from loopback.world import EntityType, EventStatus, ScheduledEvent

EVENTS_ROUTE = "/guilds/{guild_id}/scheduled-events"


def mirror_of(bot: PracticeCirclesBot) -> EventsMirror:
    # load_extension imports cogs.events afresh for each bot, so its class is not the one imported here.
    mirror = bot.get_cog("Events").mirror  # type: ignore[union-attr]
    assert isinstance(mirror, EventsMirror)
    return mirror


def coordinator(sandbox: Sandbox) -> Actor:
    world = sandbox.world
    return Actor.of(world.find_member("laila").id, [world.find_role("Coordinator").id])


def pacific(instant: dt.datetime) -> str:
    return utc_to_pacific(instant).strftime("%Y-%m-%d %H:%M")


def soon(hours: float) -> dt.datetime:
    """A whole minute some hours from now (sessions are entered to the minute)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


async def add_session(bot: PracticeCirclesBot, sandbox: Sandbox, start: dt.datetime, **options: Any) -> OccurrenceRow:
    options.setdefault("title", "Evening practice")
    options.setdefault("duration_minutes", 45)
    return await bot.core.sessions.add_session(coordinator(sandbox), start=pacific(start), **options)


def ours(sandbox: Sandbox, *, live_only: bool = True) -> list[ScheduledEvent]:
    """The bot's events at the sandbox, soonest first."""
    bot_id = sandbox.world.bot_user.id
    events = [
        e
        for e in sandbox.world.guild.scheduled_events.values()
        if e.creator_id == bot_id and (not live_only or e.status in (EventStatus.SCHEDULED, EventStatus.ACTIVE))
    ]
    return sorted(events, key=lambda e: (e.scheduled_start_time, e.id))


def live_count(sandbox: Sandbox) -> int:
    return sum(
        e.status in (EventStatus.SCHEDULED, EventStatus.ACTIVE) for e in sandbox.world.guild.scheduled_events.values()
    )


class Finished:
    """Counts the completed calls of one async method, so a test can await the N-th."""

    def __init__(self, owner: object, name: str) -> None:
        self.results: list[Any] = []
        self._changed = asyncio.Event()
        original: Callable[..., Awaitable[Any]] = getattr(owner, name)

        async def wrapper(*args: Any) -> Any:
            result = await original(*args)
            self.results.append(result)
            self._changed.set()
            return result

        setattr(owner, name, wrapper)

    async def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while len(self.results) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.results


async def test_new_sessions_appear_as_events_of_the_right_kind_in_their_channel(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    stage = sandbox.world.find_channel("Practice Circle")
    voice = sandbox.world.find_channel("Quiet Sitting")
    on_stage = await add_session(practice, sandbox, soon(3), channel_id=stage.id, practice="Affectionate Breathing")
    in_voice = await add_session(practice, sandbox, soon(27), channel_id=voice.id, title="Quiet sitting together")
    await mirror_of(practice).settled()

    first, second = ours(sandbox)
    assert (first.entity_type, first.channel_id) == (EntityType.STAGE_INSTANCE, stage.id)
    assert (second.entity_type, second.channel_id) == (EntityType.VOICE, voice.id)
    for event, row in ((first, on_stage), (second, in_voice)):
        assert event.name == row.title
        assert (event.scheduled_start_time, event.scheduled_end_time) == (row.start_utc, row.end_utc)
        assert event.privacy_level == 2, "guild_only"
        assert event.description is not None and len(event.description) <= 1000
        assert "US Pacific time" in event.description
        assert "welcome to leave at any time" in event.description
        assert await practice.core.db.get_link(row.id, "event") == event.id
    assert "Practice: Affectionate Breathing." in (first.description or "")


async def test_moving_and_changing_channel_update_the_event_and_cancelling_cancels_it(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    sessions, mirror, boss = practice.core.sessions, mirror_of(practice), coordinator(sandbox)
    row = await add_session(practice, sandbox, soon(5))
    await mirror.settled()
    (event,) = ours(sandbox)

    moved = await sessions.move_session(boss, row.id, pacific(soon(8)))
    await mirror.settled()
    assert (event.scheduled_start_time, event.scheduled_end_time) == (moved.start_utc, moved.end_utc)

    voice = sandbox.world.find_channel("Quiet Sitting")
    await sessions.set_session_channel(boss, row.id, voice.id)
    await mirror.settled()
    assert (event.entity_type, event.channel_id) == (EntityType.VOICE, voice.id)

    await sessions.cancel_session(boss, row.id, "Our teacher is unwell")
    await mirror.settled()
    assert event.status == EventStatus.CANCELED, "scheduled -> canceled, so interested members hear of it"
    assert await practice.core.db.get_link(row.id, "event") is None
    assert [e.id for e in ours(sandbox, live_only=False)] == [event.id], "the same event throughout"
    assert mirror.last_report is not None and mirror.last_report.failed == 0


@pytest.mark.practice_config(sessions={"horizon_days": 14})
async def test_a_weekly_series_gets_an_event_per_session_and_pausing_it_cancels_them(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    sessions, mirror, boss = practice.core.sessions, mirror_of(practice), coordinator(sandbox)
    tomorrow = utc_to_pacific(soon(24)).date()
    series, added = await sessions.create_series(
        boss, title="Weekly circle", weekly=f"{tomorrow:%a}@19:00", starts_on=tomorrow, duration_minutes=60
    )
    await mirror.settled()
    events = ours(sandbox)
    assert len(events) == added == 2
    assert {e.name for e in events} == {"Weekly circle"}

    await sessions.pause_series(boss, series.id)
    await mirror.settled()
    assert [e.status for e in events] == [EventStatus.CANCELED] * 2
    assert await practice.core.db.links_of_kind("event") == {}


async def test_interested_signs_up_and_taking_it_back_signs_out_only_a_sign_up_it_made(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    db, mirror = practice.core.db, mirror_of(practice)
    row = await add_session(practice, sandbox, soon(6))
    await mirror.settled()
    (event,) = ours(sandbox)
    added = Finished(mirror, "interest_added")
    removed = Finished(mirror, "interest_removed")
    sam, priya = sandbox.person("sam"), sandbox.person("priya")

    await sam.mark_interested(event)
    assert await added.wait(1) == [True]
    assert [(s.user_id, s.source) for s in await db.list_signups(row.id)] == [(sam.id, "event")]
    await sam.unmark_interested(event)
    assert await removed.wait(1) == [True]
    assert await db.list_signups(row.id) == []

    # Priya signed up with /signup first: interest adds nothing, and taking it back keeps her sign-up.
    assert await practice.core.sessions.sign_up(priya.id, row.id)
    await priya.mark_interested(event)
    await priya.unmark_interested(event)
    assert await removed.wait(2) == [True, False]
    assert [(s.user_id, s.source) for s in await db.list_signups(row.id)] == [(priya.id, "command")]


async def test_interest_in_someone_elses_event_signs_nobody_up(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    row = await add_session(practice, sandbox, soon(6))
    mirror = mirror_of(practice)
    await mirror.settled()
    world = sandbox.world
    theirs = ScheduledEvent(
        id=world.snowflakes.next(),
        name="Book club",
        scheduled_start_time=soon(30),
        scheduled_end_time=soon(31),
        entity_type=EntityType.VOICE,
        channel_id=world.find_channel("Quiet Sitting").id,
        creator_id=world.find_member("laila").id,
    )
    world.guild.scheduled_events[theirs.id] = theirs
    sandbox.events.scheduled_event("CREATE", theirs)
    added = Finished(mirror, "interest_added")
    await sandbox.person("jonas").mark_interested(theirs)
    assert await added.wait(1) == [False]
    assert await practice.core.db.list_signups(row.id) == []
    await mirror.settled()
    assert theirs.status == EventStatus.SCHEDULED, "other people's events are never touched"


class ShiftedClock:
    """The wall clock moved ahead by hand; the bot and the sandbox's Discord both read it."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


# Discord does not publish its limit for creating events; the sandbox's default (5 per 5 s) would
# make this test take minutes, so creating is allowed faster here. 429s are still honoured.
@pytest.mark.sandbox(rate_limiter=RateLimiter(route_limits={f"POST {EVENTS_ROUTE}": (100, 1.0)}))
async def test_150_sessions_never_make_more_than_the_ceiling_of_events_and_later_ones_follow(
    sandbox: Sandbox, practice_config: Config
) -> None:
    clock = ShiftedClock()
    sandbox.world.now = clock
    # The sandbox does not refuse a 101st event as Discord does (error 30038), so the count is watched here.
    peak = 0
    dispatch = sandbox.events.scheduled_event

    def counting(kind: str, event: ScheduledEvent) -> None:
        nonlocal peak
        peak = max(peak, live_count(sandbox))
        dispatch(kind, event)

    sandbox.events.scheduled_event = counting  # type: ignore[method-assign,assignment]
    async with practice_bot(sandbox, practice_config, clock=clock) as bot:
        mirror = mirror_of(bot)
        first = soon(0.25)  # ends within the hour, before the at-least-hourly refresh
        rows = [
            await add_session(bot, sandbox, first + dt.timedelta(hours=2 * i), duration_minutes=30) for i in range(150)
        ]
        await mirror.settled()
        links = await bot.core.db.links_of_kind("event")
        assert sorted(links) == [row.id for row in rows[:EVENT_CEILING]], "the soonest sessions"
        assert [e.scheduled_start_time for e in ours(sandbox)] == [row.start_utc for row in rows[:EVENT_CEILING]]
        assert bot.core.timers.pending()["events:refresh"] == rows[0].end_utc

        # Five sessions end; the refresh timer (here, at once) gives the next five their events.
        clock.offset = rows[4].end_utc - clock() + dt.timedelta(minutes=1)
        mirror.request_pass()
        await mirror.settled()
        assert [e.scheduled_start_time for e in ours(sandbox)] == [row.start_utc for row in rows[5 : EVENT_CEILING + 5]]

        assert peak <= EVENT_CEILING, "the mirror alone never goes past its ceiling"

        # People add six events of their own: the mirror makes room by dropping its latest.
        world = sandbox.world
        for n in range(6):
            theirs = ScheduledEvent(
                id=world.snowflakes.next(),
                name=f"Community circle {n}",
                scheduled_start_time=clock() + dt.timedelta(days=3),
                scheduled_end_time=clock() + dt.timedelta(days=3, hours=1),
                entity_type=EntityType.VOICE,
                channel_id=world.find_channel("Quiet Sitting").id,
                creator_id=world.find_member("laila").id,
            )
            world.guild.scheduled_events[theirs.id] = theirs
            sandbox.events.scheduled_event("CREATE", theirs)
        await sandbox.wait_until(lambda: len(ours(sandbox)) == EVENT_CEILING - 6, timeout=10, what="room for theirs")
        await mirror.settled()
        assert live_count(sandbox) == EVENT_CEILING
        assert [e.scheduled_start_time for e in ours(sandbox)] == [row.start_utc for row in rows[5 : EVENT_CEILING - 1]]
    # Theirs arrived together, before the mirror could make room: the margin kept Discord's limit.
    assert peak <= EVENT_CEILING + 6 < 100
    assert sandbox.rate_limiter is not None and sandbox.rate_limiter.violations == []


async def test_a_restart_heals_what_changed_while_the_bot_was_away(sandbox: Sandbox, practice_config: Config) -> None:
    world = sandbox.world
    async with practice_bot(sandbox, practice_config) as bot:
        rows = [await add_session(bot, sandbox, soon(4 + 24 * i), title=f"Practice {i}") for i in range(3)]
        await mirror_of(bot).settled()
        deleted, renamed, untouched = ours(sandbox)

    # While the bot is down: one event is deleted, one renamed by hand, and a stray of ours appears.
    del world.guild.scheduled_events[deleted.id]
    renamed.name = "Something else"
    stray = ScheduledEvent(
        id=world.snowflakes.next(),
        name="Practice from a lost link",
        scheduled_start_time=soon(100),
        scheduled_end_time=soon(101),
        entity_type=EntityType.VOICE,
        channel_id=world.find_channel("Quiet Sitting").id,
        creator_id=world.bot_user.id,
    )
    world.guild.scheduled_events[stray.id] = stray

    async with practice_bot(sandbox, practice_config) as bot:
        await mirror_of(bot).settled()
        db = bot.core.db
        comeback = await db.get_link(rows[0].id, "event")
        assert comeback is not None and comeback != deleted.id
        assert world.scheduled_event(comeback).scheduled_start_time == rows[0].start_utc
        assert renamed.name == "Practice 1"
        assert await db.get_link(rows[1].id, "event") == renamed.id, "the same event, corrected"
        assert await db.get_link(rows[2].id, "event") == untouched.id
        assert stray.status == EventStatus.CANCELED
        assert len(ours(sandbox)) == 3
