"""Reminder timers are rebuilt from the database; overdue work is sent late or dropped; nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.delivery.dispatch import SWEEP_JOB_ID, Dispatcher
from bot.delivery.ledger import Ledger, PermanentDeliveryError
from bot.delivery.reminders import ReminderScheduler, reminder_job_id
from bot.model import DeliveryRow, OccurrenceRow
from bot.storage import Database
from bot.timers import Timers

START = dt.datetime(2026, 3, 9, 1, 30, tzinfo=dt.UTC)  # Sunday 8 March 2026, 18:30 PDT
ALLOWED = (1440, 60, 15)
DEFAULT = (60,)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


class Crash(BaseException):
    """Stands for the process dying mid-send (not an Exception, so nothing handles it)."""


@dataclass
class FakeDiscord:
    """Records messages like Discord would: a repeated nonce returns the first message."""

    messages: dict[str, tuple[int, str, bool]] = field(default_factory=dict)
    attempts: list[str] = field(default_factory=list)
    crash_after_send: set[int] = field(default_factory=set)
    closed_dms: set[int] = field(default_factory=set)
    delivered: asyncio.Queue[int] = field(default_factory=asyncio.Queue)
    # While cleared, every send waits (a slow Discord).
    answering: asyncio.Event = field(default_factory=lambda: _set(asyncio.Event()))

    async def deliver(self, row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool) -> int | None:
        recipient = row.key.recipient_id
        await self.answering.wait()
        self.attempts.append(row.nonce)
        if recipient in self.closed_dms:
            raise PermanentDeliveryError("the member closed their DMs")
        self.messages.setdefault(row.nonce, (recipient, row.key.kind, late))
        if recipient in self.crash_after_send:
            self.crash_after_send.discard(recipient)
            raise Crash
        await self.delivered.put(recipient)
        return len(self.messages)

    def received(self, recipient: int) -> list[tuple[str, bool]]:
        return [(kind, late) for who, kind, late in self.messages.values() if who == recipient]


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


@dataclass
class Bot:
    """The pieces a running bot would have, over one database file."""

    db: Database
    timers: Timers
    scheduler: ReminderScheduler
    dispatcher: Dispatcher


async def start_bot(path: Path, clock: Clock, discord: FakeDiscord) -> Bot:
    db = await Database.open(path, clock=clock)
    ledger = Ledger(db)
    timers = Timers()
    dispatcher = Dispatcher(db, ledger, timers, discord, clock)
    scheduler = ReminderScheduler(
        db,
        ledger,
        timers,
        dispatcher,
        allowed_offsets=ALLOWED,
        default_offsets=DEFAULT,
        horizon=dt.timedelta(days=56),
        clock=clock,
    )
    return Bot(db, timers, scheduler, dispatcher)


async def fire(bot: Bot, occurrence_id: int, offset_minutes: int) -> int:
    """What a reminder timer does, then wait for the background sending it started."""
    written = await bot.scheduler.fire(occurrence_id, offset_minutes)
    await bot.dispatcher.idle()
    return written


@pytest.fixture
def clock() -> Clock:
    return Clock(START - dt.timedelta(days=3))


@pytest.fixture
async def bot(tmp_path: Path, clock: Clock) -> AsyncIterator[Bot]:
    running = await start_bot(tmp_path / "bot.sqlite3", clock, FakeDiscord())
    yield running
    running.timers.shutdown()
    await running.dispatcher.idle()
    await running.db.close()


async def make_session(db: Database, start: dt.datetime = START) -> OccurrenceRow:
    return await db.add_one_off(start=start, duration_minutes=45, channel_id=555, title="Evening practice")


def messenger(bot: Bot) -> FakeDiscord:
    discord = bot.dispatcher.messenger
    assert isinstance(discord, FakeDiscord)
    return discord


async def test_rebuild_arms_one_timer_per_offset_with_descriptive_ids(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    report = await bot.scheduler.rebuild()
    pending = bot.timers.pending()
    assert report.sessions == 1
    assert {job for job in pending if job.startswith("reminder:")} == {
        reminder_job_id(session.id, offset) for offset in ALLOWED
    }
    assert pending[reminder_job_id(session.id, 60)] == START - dt.timedelta(minutes=60)
    assert pending[reminder_job_id(session.id, 1440)] == START - dt.timedelta(days=1)


async def test_reminder_reaches_exactly_the_signed_up_members_who_want_it(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    for user in (1, 2, 3, 4):
        await bot.db.sign_up(session.id, user)
    await bot.db.set_member(2, reminder_offsets=[15])  # only wants the 15-minute one
    await bot.db.set_member(3, reminder_offsets=[])  # wants no reminders at all
    await bot.db.set_member(99, reminder_offsets=[60])  # set preferences but never signed up
    clock.now = START - dt.timedelta(minutes=60)
    assert await fire(bot, session.id, 60) == 2
    discord = messenger(bot)
    assert discord.received(1) == [("reminder:60", False)]
    assert discord.received(4) == [("reminder:60", False)]
    assert discord.received(2) == discord.received(3) == discord.received(99) == []

    clock.now = START - dt.timedelta(minutes=15)
    await fire(bot, session.id, 15)
    assert discord.received(2) == [("reminder:15", False)]
    assert discord.received(1) == [("reminder:60", False)], "the default is 60 only"


async def test_someone_who_signs_up_after_the_reminder_time_gets_no_reminder(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    clock.now = START - dt.timedelta(minutes=30)
    await bot.db.sign_up(session.id, 7)
    assert await fire(bot, session.id, 60) == 0
    assert messenger(bot).received(7) == []


async def test_down_for_hours_sends_late_before_start_and_drops_after(tmp_path: Path, clock: Clock) -> None:
    discord = FakeDiscord()
    bot = await start_bot(tmp_path / "db.sqlite3", clock, discord)
    early = await make_session(bot.db, START)
    later = await make_session(bot.db, START + dt.timedelta(hours=8))
    for session in (early, later):
        await bot.db.sign_up(session.id, 1)
    await bot.scheduler.rebuild()
    bot.timers.shutdown()
    await bot.db.close()

    # Six hours pass with the bot down, ending 30 minutes after `early` began and 7.5 hours
    # before `later`: early's reminders are pointless now; later's 1440-minute one is overdue.
    clock.now = START + dt.timedelta(minutes=30)
    bot = await start_bot(tmp_path / "db.sqlite3", clock, discord)
    report = await bot.scheduler.rebuild()
    pending = bot.timers.pending()
    assert not any(job.startswith(f"reminder:{early.id}:") for job in pending)
    assert pending[reminder_job_id(later.id, 1440)] == clock.now, "overdue: fires at once"
    assert pending[reminder_job_id(later.id, 60)] == later.start_utc - dt.timedelta(minutes=60)
    assert report.overdue_now == 1

    await fire(bot, later.id, 1440)  # what the timer would do now
    await fire(bot, early.id, 60)  # a stray call for the begun session sends nothing
    assert discord.received(1) == [], "1440 is not in member 1's (default) offsets"

    await bot.db.set_member(1, reminder_offsets=[1440, 60])
    await fire(bot, later.id, 1440)
    assert discord.received(1) == [("reminder:1440", True)], "sent once, flagged late"
    bot.timers.shutdown()
    await bot.db.close()


async def test_crash_between_send_and_mark_resends_with_the_same_nonce(tmp_path: Path, clock: Clock) -> None:
    discord = FakeDiscord(crash_after_send={3})
    path = tmp_path / "db.sqlite3"
    bot = await start_bot(path, clock, discord)
    session = await make_session(bot.db)
    for user in range(1, 6):
        await bot.db.sign_up(session.id, user)
    clock.now = START - dt.timedelta(minutes=60)
    with pytest.raises(Crash):
        await fire(bot, session.id, 60)
    bot.timers.shutdown()
    await bot.db.close()

    bot = await start_bot(path, clock, discord)
    report = await bot.scheduler.rebuild()
    assert report.reclaimed >= 1
    await fire(bot, session.id, 60)
    await fire(bot, session.id, 60)  # firing again (a duplicate timer) changes nothing
    for user in range(1, 6):
        assert discord.received(user) == [("reminder:60", False)], f"member {user} gets exactly one"
    # The crash also cut off sends in flight beside member 3's; each was retried with the nonce it
    # was first sent with, so Discord kept one message per member.
    assert len(discord.attempts) > 5
    assert len(set(discord.attempts)) == len(discord.messages) == 5
    bot.timers.shutdown()
    await bot.db.close()


async def test_closed_dms_drop_the_row_without_retrying(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    await bot.db.sign_up(session.id, 8)
    messenger(bot).closed_dms.add(8)
    clock.now = START - dt.timedelta(minutes=60)
    await fire(bot, session.id, 60)
    assert await bot.db.count_deliveries("dropped") == 1
    assert SWEEP_JOB_ID not in bot.timers.pending(), "nothing left to retry"


async def test_cancelled_session_gets_no_reminder(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    await bot.db.sign_up(session.id, 1)
    await bot.scheduler.rebuild()
    await bot.db.cancel_occurrence(session.id)
    clock.now = START - dt.timedelta(minutes=60)
    assert await fire(bot, session.id, 60) == 0
    assert messenger(bot).messages == {}


async def test_a_real_timer_fires_the_reminder(tmp_path: Path) -> None:
    clock = Clock(dt.datetime.now(dt.UTC))
    discord = FakeDiscord()
    bot = await start_bot(tmp_path / "db.sqlite3", clock, discord)
    bot.timers.start()
    # The session starts in just over an hour, so its 60-minute reminder is due in 0.2 s.
    session = await make_session(bot.db, clock.now + dt.timedelta(minutes=60, seconds=0.2))
    await bot.db.sign_up(session.id, 42)
    clock.now = dt.datetime.now(dt.UTC)
    await bot.scheduler.rebuild()

    # The wall clock moves on its own now; let the fake follow it while we wait.
    def real_now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    bot.scheduler.clock = bot.dispatcher.clock = real_now
    assert await asyncio.wait_for(discord.delivered.get(), timeout=10) == 42
    assert discord.received(42) == [("reminder:60", False)]
    bot.timers.shutdown()
    await bot.db.close()


async def test_a_reminder_timer_hands_its_fan_out_to_the_background_and_ends_at_once(bot: Bot, clock: Clock) -> None:
    session = await make_session(bot.db)
    for user in range(1, 201):
        await bot.db.sign_up(session.id, user)
    discord = messenger(bot)
    discord.answering.clear()  # Discord is slow: no send can finish yet
    clock.now = START - dt.timedelta(minutes=60)
    # The timer's job returns with every row written, not after 200 sends.
    assert await asyncio.wait_for(bot.scheduler.fire(session.id, 60), timeout=5) == 200
    assert discord.messages == {}
    assert await bot.db.count_deliveries() == 200, "written, so a restart would send them"
    discord.answering.set()
    await bot.dispatcher.idle()
    assert all(discord.received(user) == [("reminder:60", False)] for user in range(1, 201))
