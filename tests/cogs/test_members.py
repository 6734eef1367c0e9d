"""The members' side on the real bot, as simulated members on the loopback Discord.

What a member would notice (private replies, DMs, thread posts) and what the database holds.
"""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.model import Actor, DeliveryKey, DeliveryRow, OccurrenceRow
from bot.schedule.rules import discord_timestamp, format_pacific, pacific_wall_to_utc, utc_to_pacific
from bot.texts import members as texts
from loopback import Sandbox
from loopback.harness import practice_bot
from loopback.people import Reply, SimulatedPerson
from loopback.world import Message

MEMBER_COMMANDS = ("schedule", "signup", "signout", "mysessions", "settings", "calendar", "feedback")
MESSAGES_ROUTE = "/channels/{channel_id}/messages"


def coordinator(sandbox: Sandbox) -> Actor:
    """Laila, who holds the coordinator role."""
    world = sandbox.world
    return Actor.of(world.find_member("laila").id, [world.find_role("Coordinator").id])


def teacher(sandbox: Sandbox, name: str = "ana") -> Actor:
    """A member with the teacher role."""
    world = sandbox.world
    return Actor.of(world.find_member(name).id, [world.find_role("Teacher").id])


def soon(hours: float) -> dt.datetime:
    """A whole minute some hours from now (sessions are entered to the minute)."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


def pacific(instant: dt.datetime) -> str:
    """An instant as a coordinator types it: US Pacific wall clock."""
    return utc_to_pacific(instant).strftime("%Y-%m-%d %H:%M")


async def add_session(
    practice: PracticeCirclesBot, sandbox: Sandbox, hours: float = 5, title: str = "Afternoon practice"
) -> OccurrenceRow:
    """A one-off session added by a coordinator through the core."""
    return await practice.core.sessions.add_session(
        coordinator(sandbox), start=pacific(soon(hours)), duration_minutes=45, title=title
    )


async def ready(sandbox: Sandbox) -> None:
    """Wait until the members' commands are registered."""
    await sandbox.wait_for_commands(*MEMBER_COMMANDS)


async def reply_to(person: SimulatedPerson, command: str, options: dict[str, Any] | None = None, **kw: Any) -> Reply:
    """Run a command and wait for the bot's answer."""
    return await (await person.run_command(command, options, **kw)).response()


async def press(person: SimulatedPerson, message: Message, custom_id: str) -> Reply:
    """Press a button and wait for the bot's answer."""
    return await (await person.press_button(message, custom_id)).response()


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards an embed's 6000."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])


def custom_ids(reply: Reply) -> list[str]:
    """Custom ids of the reply's components, in order."""
    return [c["custom_id"] for row in reply.components for c in row.get("components", []) if "custom_id" in c]


def within_discord_limits(reply: Reply) -> None:
    """At most 10 embeds of at most 25 fields and 6000 characters; at most 5 rows of 5 components."""
    assert len(reply.embeds) <= 10
    for embed in reply.embeds:
        assert len(embed.get("fields") or []) <= 25
        assert embed_size(embed) <= 6000
    assert len(reply.components) <= 5
    assert all(len(row["components"]) <= 5 for row in reply.components)


# --- /schedule and the Sign up button -------------------------------------------------------------


async def test_schedule_shows_own_and_pacific_times_teacher_and_a_sign_up_button(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    led = await add_session(practice, sandbox, 5, "Loving-kindness")
    open_one = await add_session(practice, sandbox, 30, "Soften, soothe, allow")
    await practice.core.sessions.claim(teacher(sandbox), led.id)
    sam = sandbox.person("sam")

    reply = await reply_to(sam, "schedule")

    assert reply.ephemeral
    within_discord_limits(reply)
    fields = reply.embeds[0]["fields"]
    assert [f["name"] for f in fields] == [f"#{led.id} · Loving-kindness", f"#{open_one.id} · Soften, soothe, allow"]
    assert discord_timestamp(led.start_utc, "F") in fields[0]["value"]
    assert format_pacific(led.start_utc) in fields[0]["value"]
    assert f"<@{sandbox.world.find_member('ana').id}>" in fields[0]["value"]
    assert texts.NO_TEACHER in fields[1]["value"]
    assert custom_ids(reply) == [f"pc:signup:{led.id}", f"pc:signup:{open_one.id}"]
    assert reply.message is not None and reply.message.allowed_mentions in (None, {"parse": []})
    assert sandbox.channel_messages("general") == [], "nothing is posted for everyone to see"


async def test_the_sign_up_button_signs_the_presser_up_once_and_says_so_privately(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    session = await add_session(practice, sandbox)
    priya = sandbox.person("priya")
    listing = await reply_to(priya, "schedule")
    assert listing.message is not None

    first = await press(priya, listing.message, f"pc:signup:{session.id}")

    assert first.ephemeral
    assert "You're signed up for **Afternoon practice**" in first.content
    assert "reminder 1 hour before, by direct message" in first.content
    assert "leave any session at any time, no explanation needed" in first.content
    signups = await practice.core.db.list_signups(session.id)
    assert [(s.user_id, s.source) for s in signups] == [(priya.id, "button")]

    again = await press(priya, listing.message, f"pc:signup:{session.id}")
    assert "already signed up" in again.content
    assert await practice.core.db.signed_up_user_ids(session.id) == [priya.id]

    # The listing now marks the session as hers.
    relisted = await reply_to(priya, "schedule")
    assert texts.SESSION_YOURS.strip() in relisted.embeds[0]["fields"][0]["value"]
    assert relisted.components[0]["components"][0]["label"] == texts.SIGNED_UP_BUTTON.format(id=session.id)


async def test_a_cancelled_session_takes_no_sign_up_and_says_so_kindly(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    session = await add_session(practice, sandbox)
    jonas = sandbox.person("jonas")
    listing = await reply_to(jonas, "schedule")
    assert listing.message is not None
    await practice.core.sessions.cancel_session(coordinator(sandbox), session.id, "Our teacher is unwell")

    refused = await press(jonas, listing.message, f"pc:signup:{session.id}")

    assert refused.ephemeral
    assert refused.content == "“Afternoon practice” was cancelled, so it can't take sign-ups or teachers any more."
    assert await practice.core.db.signed_up_user_ids(session.id) == []


async def test_a_long_schedule_is_paged_within_discord_limits(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await ready(sandbox)
    long_title = "A very long title " * 5  # 90 characters, the longest kind a coordinator may type
    sessions = [await add_session(practice, sandbox, 2 + 3 * i, f"{long_title}{i}") for i in range(12)]
    sam = sandbox.person("sam")

    first = await reply_to(sam, "schedule")

    within_discord_limits(first)
    assert len(first.embeds[0]["fields"]) == 10
    assert custom_ids(first) == [f"pc:signup:{s.id}" for s in sessions[:10]] + ["pc:schedule:7:1"]
    assert "1–10 of 12" in first.embeds[0]["footer"]["text"]
    assert first.message is not None

    second = await press(sam, first.message, "pc:schedule:7:1")

    assert second.kind == "update"
    within_discord_limits(second)
    assert custom_ids(second) == [f"pc:signup:{s.id}" for s in sessions[10:]] + ["pc:schedule:7:0"]
    assert "11–12 of 12" in second.embeds[0]["footer"]["text"]


async def test_a_mention_in_a_session_title_is_shown_inert(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await ready(sandbox)
    sam = sandbox.person("sam")
    role = sandbox.world.find_role("Teacher").id
    await add_session(practice, sandbox, title=f"@everyone <@&{role}> <@{sam.id}> **now**")

    reply = await reply_to(sam, "schedule")

    name = reply.embeds[0]["fields"][0]["name"]
    assert "@\u200beveryone" in name and "@everyone" not in name
    assert f"<\u200b@&{role}>" in name and f"<@&{role}>" not in name
    assert f"<\u200b@{sam.id}>" in name
    assert "\\*\\*now\\*\\*" in name
    assert reply.message is not None and reply.message.allowed_mentions in (None, {"parse": []})


# --- /signup, /signout, /mysessions -----------------------------------------------------------------


async def test_sign_up_and_out_of_a_session_with_autocomplete(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await ready(sandbox)
    morning = await add_session(practice, sandbox, 4, "Morning calm")
    evening = await add_session(practice, sandbox, 9, "Evening rest")
    sam = sandbox.person("sam")

    everything = await sam.autocomplete("signup", "session", "")
    assert [c["value"] for c in everything] == [morning.id, evening.id]
    assert everything[0]["name"] == f"#{morning.id} · Morning calm · {format_pacific(morning.start_utc)}"
    assert [c["value"] for c in await sam.autocomplete("signup", "session", "even")] == [evening.id]
    assert [c["value"] for c in await sam.autocomplete("signup", "session", f"#{morning.id}")] == [morning.id]

    joined = await reply_to(sam, "signup", {"session": evening.id})
    assert "You're signed up for **Evening rest**" in joined.content
    assert await practice.core.db.signed_up_user_ids(evening.id) == [sam.id]

    mine = await sam.autocomplete("signout", "session", "")
    assert [c["value"] for c in mine] == [evening.id], "only her own sessions are offered"
    assert await sandbox.person("jonas").autocomplete("signout", "session", "") == []

    left = await reply_to(sam, "signout", {"session": evening.id})
    assert "You've left **Evening rest**" in left.content and "No explanation needed" in left.content
    assert await practice.core.db.signed_up_user_ids(evening.id) == []
    again = await reply_to(sam, "signout", {"session": evening.id})
    assert "nothing to leave" in again.content


async def test_sign_up_needs_exactly_one_of_session_or_series(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await ready(sandbox)
    reply = await reply_to(sandbox.person("sam"), "signup")
    assert reply.ephemeral and reply.content == texts.CHOOSE_SIGNUP


async def test_sign_up_and_out_of_a_series(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await ready(sandbox)
    today = utc_to_pacific(dt.datetime.now(dt.UTC)).date()
    series, added = await practice.core.sessions.create_series(
        coordinator(sandbox), title="Weekly circle", weekly="MON,THU@09:30", starts_on=today, duration_minutes=45
    )
    priya = sandbox.person("priya")

    offered = await priya.autocomplete("signup", "series", "circle")
    assert offered == [{"name": "Weekly circle · Mon, Thu 09:30 US Pacific", "value": series.id}]

    joined = await reply_to(priya, "signup", {"series": series.id})
    assert "every session of **Weekly circle**" in joined.content
    assert "Every Monday and Thursday at 09:30 Pacific time" in joined.content
    db = practice.core.db
    assert await db.series_signup_user_ids(series.id) == [priya.id]
    upcoming = [s.occurrence.id for s in await practice.core.sessions.my_sessions(priya.id)]
    assert len(upcoming) == added > 0
    assert f"{added} upcoming so far" in joined.content

    assert (await priya.autocomplete("signout", "series", ""))[0]["value"] == series.id
    mine = await reply_to(priya, "mysessions")
    assert "Weekly circle" in mine.embeds[0]["description"]
    assert custom_ids(mine)[0] == f"pc:signout:{upcoming[0]}"

    # Leaving one session by its button keeps the rest.
    assert mine.message is not None
    left = await press(priya, mine.message, f"pc:signout:{upcoming[0]}")
    assert "You've left **Weekly circle**" in left.content
    assert await db.signed_up_user_ids(upcoming[0]) == []
    assert await db.signed_up_user_ids(upcoming[1]) == [priya.id]

    gone = await reply_to(priya, "signout", {"series": series.id})
    assert "You've left the series **Weekly circle**" in gone.content
    assert await db.series_signup_user_ids(series.id) == []
    assert await practice.core.sessions.my_sessions(priya.id) == []
    assert (await reply_to(priya, "mysessions")).content == texts.MINE_EMPTY


# --- /settings -----------------------------------------------------------------------------------


async def test_reminder_settings_show_what_is_set_and_save_each_choice(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    jonas = sandbox.person("jonas")
    db = practice.core.db

    shown = await reply_to(jonas, "settings", subcommand="reminders")

    assert shown.ephemeral
    assert "**Reminders:** 1 hour before (the community default)" in shown.text
    assert "**How:** by direct message" in shown.text
    offsets = shown.message.component_named("pc:reminders:offsets") if shown.message else None
    assert offsets is not None and (offsets["min_values"], offsets["max_values"]) == (0, 3)
    assert [o["label"] for o in offsets["options"]] == ["1 day before", "1 hour before", "15 minutes before"]
    assert shown.message is not None

    chosen = await (await jonas.choose(shown.message, "pc:reminders:offsets", ["1440", "15"])).response()
    assert chosen.kind == "update" and "1 day and 15 minutes before" in chosen.text
    member = await db.get_member(jonas.id)
    assert member is not None and member.reminder_offsets == (1440, 15) and member.reminder_channel == "dm"

    threaded = await (await jonas.choose(shown.message, "pc:reminders:channel", ["thread"])).response()
    assert "in your private reminder thread" in threaded.text
    member = await db.get_member(jonas.id)
    assert member is not None and member.reminder_offsets == (1440, 15) and member.reminder_channel == "thread"

    none = await (await jonas.choose(shown.message, "pc:reminders:offsets", [])).response()
    assert "**Reminders:** none" in none.text
    member = await db.get_member(jonas.id)
    assert member is not None and member.reminder_offsets == ()

    back = await press(jonas, shown.message, "pc:reminders:default")
    assert "(the community default)" in back.text
    member = await db.get_member(jonas.id)
    assert member is not None and member.reminder_offsets is None and member.reminder_channel == "thread"


async def test_time_zone_is_suggested_by_city_set_refused_kindly_and_cleared(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    sam = sandbox.person("sam")

    suggested = await sam.autocomplete("settings", "name", "berl", subcommand="timezone")
    assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in suggested

    done = await reply_to(sam, "settings", {"name": "Europe/Berlin"}, subcommand="timezone")
    assert "Your time zone is now **Europe/Berlin**" in done.content
    assert "**Time zone:** Europe/Berlin" in done.text
    member = await practice.core.db.get_member(sam.id)
    assert member is not None and member.timezone == "Europe/Berlin"

    refused = await reply_to(sam, "settings", {"name": "CET"}, subcommand="timezone")
    assert refused.ephemeral and "Europe/Paris" in refused.content, "a kind refusal suggests place names"
    member = await practice.core.db.get_member(sam.id)
    assert member is not None and member.timezone == "Europe/Berlin", "a refused name changes nothing"

    cleared = await reply_to(sam, "settings", {"clear": True}, subcommand="timezone")
    assert cleared.content == texts.TIMEZONE_CLEARED
    member = await practice.core.db.get_member(sam.id)
    assert member is not None and member.timezone is None


# --- /feedback -----------------------------------------------------------------------------------


async def test_feedback_is_stored_and_reaches_the_coordinators_inert(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    db = practice.core.db
    # A session that began an hour ago, so the form offers it.
    past = await db.add_one_off(
        start=soon(-1), duration_minutes=45, channel_id=practice.core.config.channels.default_session, title="Dawn sit"
    )
    priya = sandbox.person("priya")

    form = await reply_to(priya, "feedback")
    assert form.kind == "modal" and form.modal is not None
    words = "@everyone **hi** <@&123>\nThank you for today."
    thanks = await (
        await priya.submit_modal(form.modal["custom_id"], {"text": words, "session": [str(past.id)]})
    ).response()

    assert thanks.ephemeral and thanks.content == texts.FEEDBACK_THANKS
    [row] = await db.list_feedback()
    assert (row.user_id, row.text, row.occurrence_id) == (priya.id, words, past.id)
    [posted] = sandbox.channel_messages("coordinators")
    assert "@\u200beveryone" in posted.content and "@everyone" not in posted.content
    assert "\\*\\*hi\\*\\*" in posted.content
    assert "<\u200b@&123>" in posted.content and "<@&123>" not in posted.content
    assert posted.allowed_mentions == {"parse": []}, "the post pings nobody"


# --- reminders and notices ---------------------------------------------------------------------


def thread_posts(sandbox: Sandbox) -> list[Message]:
    """What the bot posted in the reminder threads under #schedule, oldest first."""
    world = sandbox.world
    schedule = world.find_channel("schedule").id
    threads = [c.id for c in world.guild.channels.values() if c.is_thread and c.parent_id == schedule]
    return sorted((m for t in threads for m in world.history(t)), key=lambda m: m.id)


async def test_a_reminder_reaches_exactly_the_signed_up_members_by_their_route(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    # Starts an hour and a little from now, so its 60-minute reminder falls due a moment after the sign-ups.
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=60, seconds=2)
    session = await core.db.add_one_off(
        start=start, duration_minutes=45, channel_id=core.config.channels.default_session, title="Midday practice"
    )
    sam, priya, mei, jonas = (sandbox.person(name) for name in ("sam", "priya", "mei", "jonas"))
    settings = await reply_to(priya, "settings", subcommand="reminders")
    assert settings.message is not None
    await (await priya.choose(settings.message, "pc:reminders:channel", ["thread"])).response()
    for person in (sam, priya, mei):
        await core.sessions.sign_up(person.id, session.id)

    assert await core.reminders.fire(session.id, 60) == 3

    await sandbox.wait_until(lambda: len(sam.dms()) == 1, timeout=10, what="Sam's reminder")
    await sandbox.wait_until(lambda: len(thread_posts(sandbox)) == 2, timeout=10, what="Priya's and Mei's reminders")
    [dm] = sam.dms()
    assert "Reminder: **Midday practice**" in dm.content and discord_timestamp(start, "F") in dm.content
    assert jonas.dms() == [] and priya.dms() == [] and mei.dms() == []
    posts = {m.content.split(" ", 1)[0]: m for m in thread_posts(sandbox)}
    assert set(posts) == {f"<@{priya.id}>", f"<@{mei.id}>"}
    for person in (priya, mei):
        mentions = posts[f"<@{person.id}>"].allowed_mentions or {}
        assert [int(u) for u in mentions.get("users", [])] == [person.id], "the thread post pings only its member"
        assert "everyone" not in mentions.get("parse", []) and "roles" not in mentions.get("parse", [])
    member = await core.db.get_member(mei.id)
    assert member is not None and member.dm_closed

    # Mei's next message goes straight to the thread: no second DM is tried.
    await core.sessions.move_session(coordinator(sandbox), session.id, pacific(soon(3)))
    await sandbox.wait_until(lambda: len(thread_posts(sandbox)) == 4, timeout=10, what="Priya's and Mei's notices")
    assert len(sam.dms()) == 2 and jonas.dms() == []
    refused_dms = [r for r in sandbox.requests_to("POST", MESSAGES_ROUTE) if r.status == 403]
    assert len(refused_dms) == 1


async def test_change_notices_reach_each_signed_up_member_once_even_across_a_restart(
    sandbox: Sandbox, practice_config: Config
) -> None:
    sam, priya, jonas = (sandbox.person(name) for name in ("sam", "priya", "jonas"))
    async with practice_bot(sandbox, practice_config) as bot:
        await ready(sandbox)
        session = await add_session(bot, sandbox, 5, "Evening practice")
        for person in (sam, priya):
            await reply_to(person, "signup", {"session": session.id})
        moved = await bot.core.sessions.move_session(coordinator(sandbox), session.id, pacific(soon(7)))
        await sandbox.wait_until(
            lambda: len(sam.dms()) == len(priya.dms()) == 1, timeout=10, what="one move notice each"
        )

    # A second bot on the same database: what was sent is not sent again.
    async with practice_bot(sandbox, practice_config) as bot:
        await bot.core.sessions.cancel_session(coordinator(sandbox), session.id, "Our teacher is unwell")
        await sandbox.wait_until(
            lambda: len(sam.dms()) == len(priya.dms()) == 2, timeout=10, what="one cancel notice each"
        )
        await bot.core.dispatcher.idle()  # the last answers from Discord have been recorded
        assert await bot.core.db.count_deliveries("sent") == 4

    for person in (sam, priya):
        moved_notice, cancelled_notice = person.dms()
        assert "**Evening practice** has moved" in moved_notice.content
        assert discord_timestamp(session.start_utc, "F") in moved_notice.content, "the old time"
        assert discord_timestamp(moved.start_utc, "F") in moved_notice.content, "the new time"
        assert "is cancelled" in cancelled_notice.content
        assert discord_timestamp(moved.start_utc, "F") in cancelled_notice.content
        assert "Our teacher is unwell" in cancelled_notice.content
    assert jonas.dms() == [], "nobody who did not sign up hears of it"


def next_dst_change(after: dt.date) -> dt.date:
    """The first day after `after` whose US Pacific UTC offset differs from the day before."""

    def offset(day: dt.date) -> dt.timedelta | None:
        return utc_to_pacific(dt.datetime.combine(day, dt.time(20), dt.UTC)).utcoffset()

    day = after
    while offset(day + dt.timedelta(days=1)) == offset(day):
        day += dt.timedelta(days=1)
    return day + dt.timedelta(days=1)


TODAY = utc_to_pacific(dt.datetime.now(dt.UTC)).date()
DST_CHANGE = next_dst_change(TODAY)
# Long enough for the series below to be stored in full, across the next daylight-saving change.
HORIZON_DAYS = min(365, (DST_CHANGE - TODAY).days + 35)


def parse_calendar(data: bytes) -> icalendar.Calendar:
    """An .ics attachment, as a calendar app reads it."""
    calendar = icalendar.Calendar.from_ical(data)
    assert isinstance(calendar, icalendar.Calendar)
    return calendar


@pytest.mark.practice_config(sessions={"horizon_days": HORIZON_DAYS})
async def test_calendar_files_hold_the_stored_sessions_across_a_daylight_saving_change(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    core = practice.core
    series, _ = await core.sessions.create_series(
        coordinator(sandbox),
        title="Wednesday circle",
        weekly="WED@18:30",
        starts_on=TODAY,
        until=DST_CHANGE + dt.timedelta(days=21),
        duration_minutes=45,
    )
    rows = await core.db.list_occurrences(soon(-1), soon(24 * 400), series_id=series.id)
    # One session changed on its own each side of the change: cancelled before it, moved after it.
    before = [row for row in rows if row.start_utc.date() < DST_CHANGE]
    after = [row for row in rows if row.start_utc.date() > DST_CHANGE]
    await core.sessions.cancel_session(coordinator(sandbox), before[-1].id, "A holiday")
    await core.sessions.move_session(
        coordinator(sandbox), after[1].id, pacific(after[1].start_utc + dt.timedelta(hours=1))
    )
    sam = sandbox.person("sam")
    await reply_to(sam, "signup", {"series": series.id})
    stored = await core.db.list_occurrences(soon(-1), soon(24 * 400), series_id=series.id)
    expected = sorted(row.start_utc for row in stored if row.status != "cancelled")
    assert len({utc_to_pacific(start).utcoffset() for start in expected}) == 2, "the sessions cross a DST change"

    whole = await reply_to(sam, "calendar", {"series": series.id}, subcommand="file")

    assert whole.ephemeral and "**Wednesday circle** as a calendar file" in whole.content
    assert whole.message is not None
    [attachment] = whole.message.attachments
    assert attachment.filename == f"practice-circles-series-{series.id}.ics"
    events = recurring_ical_events.of(parse_calendar(attachment.data)).between(soon(-2), soon(24 * 400))
    assert sorted(event["DTSTART"].dt.astimezone(dt.UTC) for event in events) == expected

    mine = await reply_to(sam, "calendar", subcommand="file")
    assert mine.message is not None
    [attachment] = mine.message.attachments
    calendar = parse_calendar(attachment.data)
    starts = sorted(event["DTSTART"].dt.astimezone(dt.UTC) for event in calendar.walk("VEVENT"))
    assert starts == expected
    assert f"your {len(expected)} upcoming session(s)" in mine.content


async def test_calendar_without_sign_ups_says_what_to_do_instead(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    reply = await reply_to(sandbox.person("jonas"), "calendar", subcommand="file")
    assert reply.content == texts.CALENDAR_EMPTY
    assert reply.message is not None and reply.message.attachments == []


def second_sunday_of_march(year: int) -> dt.date:
    """The day US clocks spring forward."""
    first = dt.date(year, 3, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7)


async def test_a_reminder_notes_when_daylight_saving_moved_the_session_on_the_members_clock(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    core = practice.core
    us_change = second_sunday_of_march(TODAY.year + 1)  # UK clocks change two or three weeks later
    series, _ = await core.sessions.create_series(
        coordinator(sandbox),
        title="Monday circle",
        weekly="MON@10:00",
        starts_on=us_change - dt.timedelta(days=13),
        duration_minutes=45,
    )
    sam, priya = sandbox.person("sam"), sandbox.person("priya")
    await core.sessions.set_timezone(sam.id, "Europe/London")
    messenger = core.dispatcher.messenger

    async def remind(person: SimulatedPerson, day: dt.date, kind: str = "reminder:60") -> str:
        start = pacific_wall_to_utc(dt.datetime.combine(day, dt.time(10)))
        now = dt.datetime.now(dt.UTC)
        occurrence = OccurrenceRow(
            id=1, series_id=series.id, recurrence_id=start, start_utc=start, duration_minutes=45,
            channel_id=series.channel_id, title=series.title, practice=None, status="scheduled",
            change_version=1, created_at=now, updated_at=now,
        )  # fmt: skip
        key = DeliveryKey(occurrence.id, person.id, kind, 1)
        row = DeliveryRow(
            key=key, due_at=start, status="claimed", nonce=f"n{day:%m%d}{person.id % 10**8}{len(kind)}",
            claimed_at=now, sent_at=None, late=False, message_id=None, attempts=1, last_error=None,
            payload={"old_start": "2030-01-01T00:00:00Z"},
        )  # fmt: skip
        await messenger.deliver(row, occurrence, late=False)
        return person.dms()[-1].content

    monday = us_change + dt.timedelta(days=1)
    assert (
        "Note: this week the session is at 17:00 your time (it was 18:00), because clocks changed in the US "
        "Pacific region but not where you are." in await remind(sam, monday)
    )
    assert "Note:" not in await remind(sam, monday + dt.timedelta(days=7)), "no change since the week before"
    assert "Note:" not in await remind(priya, monday), "no time zone, no note"
    assert "Note:" not in await remind(sam, monday, "notice:restored"), "notices carry no note"


async def test_sign_up_buttons_keep_working_after_a_restart(sandbox: Sandbox, practice_config: Config) -> None:
    sam = sandbox.person("sam")
    async with practice_bot(sandbox, practice_config) as bot:
        await ready(sandbox)
        session = await add_session(bot, sandbox)
        listing = await reply_to(sam, "schedule")
    assert listing.message is not None

    async with practice_bot(sandbox, practice_config) as bot:
        reply = await press(sam, listing.message, f"pc:signup:{session.id}")
        assert "You're signed up" in reply.content
        assert await bot.core.db.signed_up_user_ids(session.id) == [sam.id]


async def test_a_member_whose_dms_were_closed_can_ask_for_dms_again(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await ready(sandbox)
    mei = sandbox.person("mei")
    await practice.core.db.set_member(mei.id, dm_closed=True)

    shown = await reply_to(mei, "settings", subcommand="reminders")

    assert "since your direct messages were closed" in shown.text
    assert shown.message is not None
    channel = shown.message.component_named("pc:reminders:channel")
    assert channel is not None and not any(option.get("default") for option in channel["options"])
    again = await (await mei.choose(shown.message, "pc:reminders:channel", ["dm"])).response()
    assert "**How:** by direct message" in again.text
    member = await practice.core.db.get_member(mei.id)
    assert member is not None and not member.dm_closed and member.reminder_channel == "dm"
