"""Privacy by default, on the real bot and the loopback Discord: /forget-me, members who left,
closed DMs, attendance by consent, anonymous feedback, per-member rate limits, /privacy.

What a member would notice, and what the database and Discord hold afterwards.
"""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import discord
import pytest

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.claim import ClaimButton
from bot.adapters.invite import required_permissions
from bot.config import Config
from bot.model import Actor, DeliveryRow
from bot.schedule.rules import discord_timestamp, utc_to_pacific
from bot.storage import Database
from bot.texts import NEEDS_TEACHER
from bot.texts import members as member_texts
from bot.texts import privacy as texts
from loopback import Sandbox
from loopback.harness import practice_bot
from loopback.people import SimulatedPerson
from loopback.world import Channel, ChannelType, Member, Message, Permission, World
from tests.cogs.test_members import add_session, coordinator, pacific, press, ready, reply_to, soon, teacher

COMMANDS = ("privacy", "forget-me", "signup", "feedback")


def holdings(database: Path, user_id: int) -> dict[str, int]:
    """Every table and column of the database that holds the id (as a value, or inside text): how many rows.

    Generic on purpose: it reads the schema, so a table added later is checked without anyone remembering to.
    """
    found: dict[str, int] = {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        assert len(tables) >= 12, f"the schema should be read whole, got {tables}"
        for table in tables:
            for column in [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]:
                count = connection.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}" = ? OR CAST("{column}" AS TEXT) LIKE ?',  # noqa: S608
                    (user_id, f"%{user_id}%"),
                ).fetchone()[0]
                if count:
                    found[f"{table}.{column}"] = count
    return found


async def test_forget_me_leaves_the_members_id_in_no_table_of_the_database(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    core = practice.core
    ana, priya = sandbox.person("ana"), sandbox.person("priya")
    # A session an hour and a little ahead (its reminder falls due now), one to teach, one that has begun.
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=60, seconds=2)
    soon_one = await core.db.add_one_off(
        start=start, duration_minutes=45, channel_id=core.config.channels.default_session, title="Midday practice"
    )
    taught = await add_session(practice, sandbox, 30, "Evening practice")
    released = await add_session(practice, sandbox, 50, "Night practice")
    began = await core.db.add_one_off(
        start=soon(-1), duration_minutes=90, channel_id=core.config.channels.default_session, title="Dawn sit"
    )
    series, _ = await core.sessions.create_series(
        coordinator(sandbox),
        title="Monday circle",
        weekly="MON@10:00",
        starts_on=dt.datetime.now(dt.UTC).date(),
        duration_minutes=45,
    )
    for session_id in (soon_one.id, began.id):
        await core.sessions.sign_up(ana.id, session_id)
        await core.sessions.sign_up(priya.id, session_id)
    await core.sessions.sign_up_series(ana.id, series.id)
    await core.sessions.set_timezone(ana.id, "Europe/Berlin")
    # A private calendar link (the web server is off here, so stored as /calendar subscribe would store it).
    await core.db.replace_calendar_feed(ana.id, "ab" * 32)
    await core.sessions.claim(teacher(sandbox), released.id)
    await core.sessions.release(teacher(sandbox), released.id, "a family matter")
    await core.sessions.claim(teacher(sandbox), taught.id)
    await core.db.record_join(began.id, ana.id)
    await core.sessions.add_feedback(ana.id, "Thank you for the gentle pace.", began.id)
    assert await core.reminders.fire(soon_one.id, 60) == 2
    await sandbox.wait_until(lambda: len(ana.dms()) == 1, timeout=10, what="Ana's reminder")
    before = holdings(core.config.storage.database, ana.id)
    for where in ("signups.user_id", "series_signups.user_id", "members.user_id", "deliveries.recipient_id",
                  "attendance.user_id", "feedback.user_id", "audit_log.actor_id", "audit_log.details",
                  "teacher_claims.teacher_id", "calendar_feeds.user_id"):  # fmt: skip
        assert where in before, f"the scenario should put Ana's id in {where}"

    asked = await reply_to(ana, "forget-me")
    assert asked.ephemeral and asked.content == texts.FORGET_CONFIRM
    assert holdings(core.config.storage.database, ana.id) == before, "nothing is deleted before the confirmation"
    assert asked.message is not None
    handle = await ana.press_button(asked.message, f"pc:forget-me:{ana.id}")
    [done] = await handle.followups(1, timeout=15)

    assert done.content == texts.FORGET_DONE
    assert holdings(core.config.storage.database, ana.id) == {}
    # Everyone else's data is untouched; what Ana wrote stays, without her name; her session needs a teacher again.
    assert await core.db.signed_up_user_ids(soon_one.id) == [priya.id]
    [feedback] = await core.db.list_feedback()
    assert (feedback.user_id, feedback.text) == (None, "Thank you for the gentle pace.")
    assert await core.db.get_teacher_claim(taught.id) is None
    assert any("Evening practice" in m.content for m in sandbox.channel_messages("coordinators"))
    # The change log keeps what happened, not who: Ana's claim and release are there, with no actor.
    history = {a.action: a for a in await core.db.list_audit(target=f"occurrence:{released.id}")}
    assert history["teacher.claim"].actor_id is None and history["teacher.release"].actor_id is None
    assert history["teacher.release"].details["reason"] == "a family matter"


async def test_privacy_says_plainly_what_is_kept_why_and_for_how_long(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)

    shown = await reply_to(sandbox.person("jonas"), "privacy")

    assert shown.ephemeral and shown.embeds[0]["title"] == texts.PRIVACY_TITLE
    description = shown.embeds[0]["description"]
    for kept in ("sign-ups", "settings", "Attendance", "Messages the bot sent you", "Feedback", "log of changes"):
        assert kept in description
    assert "forgotten 30 days later" in description and "/forget-me" in description
    assert sandbox.channel_messages("general") == []


def completion(target: object, name: str) -> asyncio.Event:
    """An event set each time the real async method `name` of `target` has finished (it still runs as before)."""
    done = asyncio.Event()
    method = getattr(target, name)

    async def wrapped(*args: object, **kwargs: object) -> object:
        try:
            return await method(*args, **kwargs)
        finally:
            done.set()

    setattr(target, name, wrapped)
    return done


@pytest.mark.practice_config(privacy={"forget_departed_after_days": 30})
async def test_members_who_left_are_forgotten_after_the_retention_period_unless_they_return(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands(*COMMANDS)
    core = practice.core
    session = await add_session(practice, sandbox)
    priya, jonas = sandbox.person("priya"), sandbox.person("jonas")
    for person in (priya, jonas):
        await core.sessions.sign_up(person.id, session.id)
        await core.sessions.set_timezone(person.id, "Asia/Tokyo")
    database = core.config.storage.database
    for person in (priya, jonas):
        left = completion(core.privacy, "member_left")
        await person.leave_guild()
        await asyncio.wait_for(left.wait(), timeout=10)
        assert "departed_members.user_id" in holdings(database, person.id)
    # Jonas comes back before the period ends; Priya does not.
    returned = completion(core.privacy, "member_returned")
    sandbox.events.member_added(sandbox.world.add_member(jonas.user))
    await asyncio.wait_for(returned.wait(), timeout=10)
    assert "departed_members.user_id" not in holdings(database, jonas.id)

    assert await core.privacy.forget_departed() == 0, "today is within the retention period"
    real_clock = core.privacy.clock
    core.privacy.clock = lambda: real_clock() + dt.timedelta(days=31)  # the daily job, a month on
    assert await core.privacy.forget_departed() == 1

    assert holdings(database, priya.id) == {}
    assert await core.db.signed_up_user_ids(session.id) == [jonas.id]


def named(message: Message, member: Member) -> bool:
    """Whether a message names the member: a mention, their id, or their name in any text it shows."""
    shown = json.dumps([message.content, message.embeds, message.components], ensure_ascii=False)
    names = [re.escape(member.user.username), re.escape(member.display_name)]
    return str(member.id) in shown or re.search(rf"\b({'|'.join(names)})\b", shown) is not None


def readers(world: World, channel: Channel) -> set[int]:
    """Who can read a channel, per its permissions (a DM: its recipient)."""
    if channel.type == ChannelType.DM:
        return set(channel.recipient_ids)
    return {
        member.id
        for member in world.guild.members.values()
        if world.permissions_in(member, channel) & Permission.VIEW_CHANNEL
    }


def everyone_may_read_all(world: World) -> set[int]:
    """Those Discord lets read every channel whatever its settings: the owner and Administrators."""
    return {
        member.id
        for member in world.guild.members.values()
        if member.id == world.guild.owner_id or world.base_permissions(member) & Permission.ADMINISTRATOR
    }


def invite_only_world() -> World:
    """The default world, but the bot's role holds exactly what invite-url asks for (no Manage Threads)."""
    world = World.default()
    bot_role = next(role for role in world.guild.roles.values() if role.name == "Practice Circles")
    bot_role.permissions = Permission(required_permissions().value)
    return world


@pytest.mark.parametrize(
    "sandbox",
    [
        pytest.param(dict, id="default-world"),
        pytest.param(lambda: {"world": invite_only_world()}, id="invite-permissions-only"),
    ],
    indirect=True,
)
async def test_a_member_with_closed_dms_is_never_named_in_a_channel_others_can_read(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    world = sandbox.world
    mei, sam = sandbox.person("mei"), sandbox.person("sam")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=60, seconds=2)
    session = await core.db.add_one_off(
        start=start, duration_minutes=45, channel_id=core.config.channels.default_session, title="Midday practice"
    )
    series, _ = await core.sessions.create_series(
        coordinator(sandbox),
        title="Monday circle",
        weekly="MON@10:00",
        starts_on=dt.datetime.now(dt.UTC).date(),
        duration_minutes=45,
    )
    listing = await reply_to(mei, "schedule")
    assert listing.message is not None
    await press(mei, listing.message, f"pc:signup:{session.id}")
    await core.sessions.sign_up(sam.id, session.id)
    await core.sessions.sign_up_series(mei.id, series.id)

    assert await core.reminders.fire(session.id, 60) == 2
    await sandbox.wait_until(lambda: sam.dms(), timeout=10, what="the reminders, due in two seconds")
    # Each step's messages go out in the background before the next step, as between a coordinator's commands.
    await core.dispatcher.idle()
    await core.sessions.move_session(coordinator(sandbox), session.id, pacific(soon(3)))
    await core.dispatcher.idle()
    await core.sessions.claim(teacher(sandbox), session.id)
    await core.sessions.cancel_session(coordinator(sandbox), session.id, "the teacher is unwell")

    private = await sandbox.wait_until(
        lambda: [
            c for c in world.guild.channels.values() if c.type == ChannelType.PRIVATE_THREAD and world.history(c.id)
        ],
        timeout=10,
        what="Mei's private thread",
    )
    await sandbox.wait_until(lambda: len(world.history(private[0].id)) >= 3, timeout=10, what="Mei's three messages")
    [thread] = private
    assert set(thread.thread_members) == {mei.id, world.bot_user.id} and not thread.invitable
    assert world.permissions_in(sam.member, thread) == Permission(0), "another member cannot even see it"
    assert len(sam.dms()) == 3 and mei.dms() == []
    may_read = {mei.id, world.bot_user.id} | everyone_may_read_all(world)
    naming = [m for m in world.messages.values() if not m.deleted and not m.ephemeral and named(m, mei.member)]
    assert naming, "Mei's reminders name her (where only she can read them)"
    for message in naming:
        channel = world.channel(message.channel_id)
        assert readers(world, channel) <= may_read, f"#{channel.name} names Mei and others can read it"
    for channel in world.guild.channels.values():
        if channel.name and re.search(r"\bMei\b|\bmei\b", channel.name):
            raise AssertionError(f"a channel is named after Mei: {channel.name}")


async def test_attendance_is_kept_only_for_members_who_signed_up_or_agreed(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    world = sandbox.world
    room = world.find_channel("Quiet Sitting")
    session = await core.db.add_one_off(start=soon(0.1), duration_minutes=45, channel_id=room.id, title="Open sit")
    sam, priya, jonas = (sandbox.person(name) for name in ("sam", "priya", "jonas"))
    await core.sessions.sign_up(sam.id, session.id)
    await core.db.start_run(session.id, "voice")
    await core.runner.room.open(session, "voice", speak=False)
    [card] = [m for m in world.history(room.id) if m.embeds]
    assert texts.CARD_ATTENDANCE in card.embeds[0]["description"]

    for person in (sam, priya, jonas):
        await person.join_voice(room)
    counted = await press(jonas, card, f"pc:count-me:{session.id}")
    assert counted.ephemeral and "counted as here" in counted.content
    # The runner hears of each arrival (the session-room cog tells it); told again here, so nothing races.
    for person in (sam, priya, jonas):
        await core.runner.member_joined(session.id, Actor.of(person.id))

    attendees = {row.user_id for row in await core.db.list_attendance(session.id)}
    assert attendees == {sam.id, jonas.id}, "Priya came without signing up: nothing records that she was here"
    assert await core.db.signed_up_user_ids(session.id) == [sam.id, jonas.id]


@pytest.mark.practice_config(limits={"changes_per_minute": 2, "feedback_per_hour": 1})
async def test_feedback_can_be_anonymous_and_is_rate_limited_per_member_without_losing_words(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    priya = sandbox.person("priya")

    form = await reply_to(priya, "feedback")
    assert form.modal is not None
    thanks = await (
        await priya.submit_modal(form.modal["custom_id"], {"text": "A quiet worry.", "name": ["anonymous"]})
    ).response()
    assert thanks.content == member_texts.FEEDBACK_THANKS
    [row] = await core.db.list_feedback()
    assert (row.user_id, row.text) == (None, "A quiet worry.")
    [posted] = sandbox.channel_messages("coordinators")
    assert "anonymous" in posted.content and str(priya.id) not in posted.content

    again = await reply_to(priya, "feedback")
    assert again.modal is not None
    limited = await (await priya.submit_modal(again.modal["custom_id"], {"text": "One more thing."})).response()
    assert limited.ephemeral and "please wait" in limited.content and "One more thing." in limited.content
    assert await core.db.count_feedback() == 1

    sessions = [await add_session(practice, sandbox, hours, f"Practice {hours}") for hours in (3, 4, 5)]
    replies = [await reply_to(priya, "signup", {"session": session.id}) for session in sessions]
    assert "You're signed up" in replies[0].content and "You're signed up" in replies[1].content
    assert "try again in" in replies[2].content and "nothing was changed" in replies[2].content
    assert [await core.db.signed_up_user_ids(s.id) for s in sessions] == [[priya.id], [priya.id], []]


# --- the buttons on reminders and notices, from the DM itself ------------------------------------------


async def test_reminder_buttons_sign_out_and_stop_reminders_from_the_dm_even_after_leaving_the_server(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    sam, jonas = sandbox.person("sam"), sandbox.person("jonas")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=60, seconds=2)
    session = await core.db.add_one_off(
        start=start, duration_minutes=45, channel_id=core.config.channels.default_session, title="Midday practice"
    )
    later = await add_session(practice, sandbox, 30, "Evening practice")
    for person in (sam, jonas):
        await core.sessions.sign_up(person.id, session.id)
        await core.sessions.sign_up(person.id, later.id)
    assert await core.reminders.fire(session.id, 60) == 2
    await sandbox.wait_until(lambda: sam.dms() and jonas.dms(), timeout=10, what="the reminders")
    [dm] = sam.dms()
    ids = [c["custom_id"] for row in dm.components for c in row["components"]]
    assert ids == [f"pc:msg-leave:{session.id}", "pc:msg-stop-reminders"]

    left = await press(sam, dm, f"pc:msg-leave:{session.id}")
    stopped = await press(sam, dm, "pc:msg-stop-reminders")

    assert left.ephemeral and "You've left **Midday practice**" in left.content
    assert stopped.ephemeral and stopped.content == texts.REMINDERS_STOPPED
    assert sandbox.world.interactions[left.message.interaction_id or 0].guild_id is None, "pressed in the DM"
    assert await core.db.signed_up_user_ids(session.id) == [jonas.id]
    member = await core.db.get_member(sam.id)
    assert member is not None and member.reminder_offsets == ()
    assert await core.db.signed_up_user_ids(later.id) == [sam.id, jonas.id], "only that session was left"

    # Someone who has left the server is no member any more, yet may still stop the messages about them.
    await jonas.leave_guild()
    [jonas_dm] = jonas.dms()
    gone = await press(jonas, jonas_dm, f"pc:msg-leave:{session.id}")
    assert "You've left **Midday practice**" in gone.content
    assert await core.db.signed_up_user_ids(session.id) == []


async def test_a_notice_carries_the_buttons_and_a_press_after_a_restart_still_works(
    sandbox: Sandbox, practice_config: Config
) -> None:
    priya = sandbox.person("priya")
    async with practice_bot(sandbox, practice_config) as bot:
        await ready(sandbox)
        session = await add_session(bot, sandbox, 6, "Loving-kindness")
        await bot.core.sessions.sign_up(priya.id, session.id)
        await bot.core.sessions.cancel_session(coordinator(sandbox), session.id, "the teacher is unwell")
        await sandbox.wait_until(lambda: priya.dms(), timeout=10, what="the notice")
    [notice] = priya.dms()
    assert "is cancelled" in notice.content and notice.component_named("pc:msg-stop-reminders") is not None

    async with practice_bot(sandbox, practice_config) as bot:
        stopped = await press(priya, notice, "pc:msg-stop-reminders")
        assert stopped.content == texts.REMINDERS_STOPPED
        again = await press(priya, notice, "pc:msg-stop-reminders")
        assert again.content == texts.REMINDERS_ALREADY_STOPPED


# --- the schedule board ----------------------------------------------------------------------------------


def boards(sandbox: Sandbox) -> list[Message]:
    """The bot's schedule board messages in #schedule that are still there."""
    return [
        m
        for m in sandbox.channel_messages("schedule")
        if m.author_id == sandbox.world.bot_user.id and m.embeds and m.embeds[0].get("title") == texts.BOARD_TITLE
    ]


def board_edits(sandbox: Sandbox) -> int:
    """How many times the bot edited a message in #schedule."""
    return len(sandbox.requests_to("PATCH", "/channels/{channel_id}/messages/{message_id}"))


async def test_the_schedule_board_stays_current_coalesces_bursts_and_comes_back_when_deleted(
    sandbox: Sandbox, practice_config: Config
) -> None:
    laila, sam = sandbox.person("laila"), sandbox.person("sam")
    async with practice_bot(sandbox, practice_config) as bot:
        await ready(sandbox)
        schedule_board = bot.core.board
        assert schedule_board is not None
        await asyncio.wait_for(schedule_board.wait_for_refreshes(1), timeout=10)
        [board] = boards(sandbox)
        assert texts.BOARD_EMPTY in board.embeds[0]["description"]
        assert await bot.core.db.get_object("board") == (board.channel_id, board.id)

        # A burst of three changes is one edit.
        edits = board_edits(sandbox)
        added = [await add_session(bot, sandbox, hours, f"Practice {hours}") for hours in (5, 30, 60)]
        await asyncio.wait_for(schedule_board.wait_for_refreshes(2), timeout=10)
        assert board_edits(sandbox) == edits + 1
        [board] = boards(sandbox)
        fields = board.embeds[0]["fields"]
        assert [f["name"] for f in fields] == [f"#{s.id} · {s.title}" for s in added]
        assert board.component_named(f"pc:signup:{added[0].id}") is not None
        assert board.allowed_mentions in (None, {"parse": []})

        # Signing up from the board is private: only Sam sees the answer.
        reply = await press(sam, board, f"pc:signup:{added[1].id}")
        assert reply.ephemeral and "You're signed up for **Practice 30**" in reply.content
        assert await bot.core.db.signed_up_user_ids(added[1].id) == [sam.id]

        # A cancellation shows at once; a deleted board is posted again.
        await bot.core.sessions.cancel_session(coordinator(sandbox), added[0].id, "no room")
        await asyncio.wait_for(schedule_board.wait_for_refreshes(3), timeout=10)
        assert len(boards(sandbox)[0].embeds[0]["fields"]) == 2
        await laila.delete_message(board)
        await asyncio.wait_for(schedule_board.wait_for_refreshes(4), timeout=10)
        [again] = boards(sandbox)
        assert again.id != board.id and len(again.embeds[0]["fields"]) == 2
        assert await bot.core.db.get_object("board") == (again.channel_id, again.id)

    # After a restart the same message is edited, not a second one posted.
    async with practice_bot(sandbox, practice_config) as bot:
        edits = board_edits(sandbox)
        assert bot.core.board is not None
        await asyncio.wait_for(bot.core.board.wait_for_refreshes(1), timeout=10)
        assert board_edits(sandbox) == edits + 1
        assert [m.id for m in boards(sandbox)] == [again.id]


# --- time changes told ahead ------------------------------------------------------------------------


class MovableClock:
    """The bot's clock: a chosen moment that runs on in real time, and can be moved forward."""

    def __init__(self, start: dt.datetime) -> None:
        self.offset = start - dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def move_to(self, moment: dt.datetime) -> None:
        """From now on the clock reads `moment` (and runs on from there)."""
        self.offset = moment - dt.datetime.now(dt.UTC)


def heads_ups(person: SimulatedPerson) -> list[Message]:
    """The time-change heads-ups the bot sent this person by DM."""
    return [m for m in person.dms() if "the clocks are changing" in m.content]


async def test_members_with_a_zone_hear_days_ahead_when_daylight_saving_moves_their_session_exactly_once(
    sandbox: Sandbox, practice_config: Config
) -> None:
    # In 2027 US clocks change on 14 March and Berlin's on 28 March: for two weeks a Tuesday 18:30
    # Pacific session is at 02:30 in Berlin instead of 03:30.
    clock = MovableClock(dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC))
    sam, priya, jonas = (sandbox.person(name) for name in ("sam", "priya", "jonas"))
    async with practice_bot(sandbox, practice_config, clock=clock) as bot:
        await ready(sandbox)
        core = bot.core
        series, _ = await core.sessions.create_series(
            coordinator(sandbox),
            title="Tuesday circle",
            weekly="TUE@18:30",
            starts_on=dt.date(2027, 3, 1),
            duration_minutes=45,
        )
        await core.sessions.set_timezone(sam.id, "Europe/Berlin")
        await core.sessions.set_timezone(jonas.id, "America/Vancouver")  # same clock changes as Pacific
        for person in (sam, priya, jonas):
            await core.sessions.sign_up_series(person.id, series.id)
        sessions = {utc_to_pacific(o.start_utc).date(): o for o in (await core.sessions.series_sessions(series.id))[1]}
        moved, back = sessions[dt.date(2027, 3, 16)], sessions[dt.date(2027, 3, 30)]

        mine = await reply_to(sam, "mysessions")
        [field] = [f for f in mine.embeds[0]["fields"] if f["name"].startswith(f"#{moved.id} ")]
        assert "this week the session is at 02:30 your time (it was 03:30)" in field["value"]
        assert "clocks changed in the US Pacific region but not where you are" in field["value"]
        others = [f for f in mine.embeds[0]["fields"] if f["name"].startswith(f"#{sessions[dt.date(2027, 3, 23)].id} ")]
        assert "your time (it was" not in others[0]["value"], "the week after, nothing moved since the week before"

    pending = {(r.key.occurrence_id, r.key.recipient_id, r.due_at) for r in await pending_heads_ups(practice_config)}
    assert pending == {
        (moved.id, sam.id, moved.start_utc - dt.timedelta(days=3)),
        (back.id, sam.id, back.start_utc - dt.timedelta(days=3)),
    }, "one heads-up per change, for the member whose clock moves, three days ahead"

    # A restart rebuilds the timer from the database and adds nothing.
    async with practice_bot(sandbox, practice_config, clock=clock) as bot:
        assert {(r.key.occurrence_id, r.due_at) for r in await pending_heads_ups(practice_config)} == {
            (o, due) for o, _, due in pending
        }
        assert bot.core.timers.pending()["deliveries:sweep"] == moved.start_utc - dt.timedelta(days=3)
        clock.move_to(moved.start_utc - dt.timedelta(days=3, minutes=-1))
        await bot.core.dispatcher.sweep()
        await sandbox.wait_until(lambda: heads_ups(sam), timeout=10, what="Sam's heads-up")
        await bot.core.clocks.scan()
        await bot.core.dispatcher.sweep()
        # Sam leaves the session the second change would move: that heads-up is not sent.
        await bot.core.sessions.sign_out(sam.id, back.id)
        clock.move_to(back.start_utc - dt.timedelta(days=3, minutes=-1))
        report = await bot.core.dispatcher.sweep()
        assert report.dropped == 1 and report.sent == 0

    [told] = heads_ups(sam)
    assert "**Tuesday circle**" in told.content and discord_timestamp(moved.start_utc, "F") in told.content
    assert "this week the session is at 02:30 your time (it was 03:30)" in told.content
    assert told.component_named(f"pc:msg-leave:{moved.id}") is not None
    assert heads_ups(priya) == [] and heads_ups(jonas) == []


async def pending_heads_ups(config: Config) -> list[DeliveryRow]:
    """The heads-ups waiting in the ledger."""
    async with Database.open(config.storage.database, exclusive=False) as db:
        return [row for row in await db.pending_deliveries() if row.key.kind == "notice:clocks"]


async def test_in_a_dm_the_bot_acts_on_the_user_id_and_refuses_what_needs_the_servers_role(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    """A DM interaction has no guild member: roles are looked up by user id, and someone who left has none."""
    await ready(sandbox)
    core = practice.core
    ana = sandbox.person("ana")
    first, second = await add_session(practice, sandbox, 5, "Evening practice"), await add_session(practice, sandbox, 9)
    # A DM from the bot with Claim buttons (the teacher-only action), sent the way the bot sends any DM.
    view = discord.ui.View(timeout=None)
    view.add_item(ClaimButton(first.id))
    view.add_item(ClaimButton(second.id))
    user = await practice.fetch_user(ana.id)
    await user.send("Sessions that need a teacher", view=view)
    view.stop()
    [dm] = await sandbox.wait_until(lambda: ana.dms(), timeout=10, what="the DM")

    claimed = await press(ana, dm, f"pc:claim:{first.id}")
    assert claimed.ephemeral and await core.db.get_teacher_claim(first.id) is not None, "a teacher, found by id"

    await ana.leave_guild()
    refused = await press(ana, dm, f"pc:claim:{second.id}")
    assert refused.content == NEEDS_TEACHER and await core.db.get_teacher_claim(second.id) is None
