"""The members' side on the real bot, as simulated members on the loopback Discord.

What a member would notice (private replies, DMs, thread posts) and what the database holds.
"""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.app import PracticeCirclesBot
from bot.permissions import Actor
from bot.sandbox import Sandbox
from bot.sandbox.people import Reply, SimulatedPerson
from bot.sandbox.world import Message
from bot.schedule import discord_timestamp, format_pacific, utc_to_pacific
from bot.storage import OccurrenceRow
from bot.texts import members as texts

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
