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

import pytest

from bot.adapters.bot import PracticeCirclesBot
from bot.model import Actor
from bot.texts import members as member_texts
from bot.texts import privacy as texts
from loopback import Sandbox
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
                  "teacher_claims.teacher_id"):  # fmt: skip
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
    await core.sessions.move_session(coordinator(sandbox), session.id, pacific(soon(3)))
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
    await core.runner.room.open(session, "voice")
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
