"""Teachers on the loopback Discord: claim (command and button, racing), release, open, mine, practice, alerts."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot import texts as shared_texts
from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.core import utc_now
from bot.model import Actor, OccurrenceRow
from bot.schedule.rules import utc_to_pacific
from bot.texts import teachers as texts
from loopback import Sandbox
from loopback.harness import practice_bot
from loopback.payloads import mentions
from loopback.world import Message

HOUR = dt.timedelta(hours=1)


async def add_session(bot: PracticeCirclesBot, sandbox: Sandbox, ahead: dt.timedelta, title: str) -> OccurrenceRow:
    """Laila (a coordinator) adds a one-off session starting `ahead` from now."""
    laila = sandbox.world.find_member("laila")
    coordinator = Actor.of(laila.id, [bot.core.config.roles.coordinator])
    start = utc_to_pacific(utc_now() + ahead).strftime("%Y-%m-%d %H:%M")
    return await bot.core.sessions.add_session(coordinator, start=start, duration_minutes=45, title=title)


async def teacher_of(bot: PracticeCirclesBot, session: OccurrenceRow) -> int | None:
    claim = await bot.core.db.get_teacher_claim(session.id)
    return None if claim is None else claim.teacher_id


async def posted_alert(bot: PracticeCirclesBot, sandbox: Sandbox, session: OccurrenceRow) -> Message:
    """Fire the session's teachers' alert timer now and return the message it posted."""
    assert await bot.core.alerts.fire(session.id, "teachers")
    return await sandbox.wait_until(
        lambda: next((m for m in sandbox.channel_messages("teachers") if m.component_named(claim_id(session))), None),
        what="the alert in #teachers",
    )


def claim_id(session: OccurrenceRow) -> str:
    return f"pc:claim:{session.id}"


async def test_a_teacher_finds_a_session_by_autocomplete_and_claims_it(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("teach")
    session = await add_session(practice, sandbox, 72 * HOUR, "Evening practice")
    ana = sandbox.person("ana")
    choices = await ana.autocomplete("teach", "session", "evening", subcommand="claim")
    assert [choice["value"] for choice in choices] == [session.id]
    assert choices[0]["name"].startswith(f"#{session.id} · Evening practice · ")
    reply = await (await ana.run_command("teach", {"session": session.id}, subcommand="claim")).response()
    assert reply.ephemeral
    assert "Thank you! You are leading **Evening practice**" in reply.content
    assert await teacher_of(practice, session) == ana.id


async def test_an_alert_in_the_teachers_channel_has_a_claim_button_that_works(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    session = await add_session(practice, sandbox, 72 * HOUR, "Morning sit")
    alert = await posted_alert(practice, sandbox, session)
    assert "**Morning sit**" in alert.content and "still needs a teacher" in alert.content
    assert mentions(sandbox.world, alert) == ([], [], False), "the alert pings nobody"
    button = alert.component_named(claim_id(session))
    assert button is not None and (button["label"], button["style"]) == (texts.CLAIM_BUTTON, 3)
    kofi = sandbox.person("kofi")
    reply = await (await kofi.press_button(alert, claim_id(session))).response()
    assert reply.ephemeral and "You are leading **Morning sit**" in reply.content
    assert await teacher_of(practice, session) == kofi.id
    assert not await practice.core.alerts.fire(session.id, "teachers"), "never the same alert twice"
    assert len(sandbox.channel_messages("teachers")) == 1


async def test_two_teachers_pressing_claim_at_the_same_moment_one_wins_and_the_other_is_thanked(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    session = await add_session(practice, sandbox, 72 * HOUR, "Weekend circle")
    alert = await posted_alert(practice, sandbox, session)
    ana, kofi = sandbox.person("ana"), sandbox.person("kofi")
    presses = await asyncio.gather(
        ana.press_button(alert, claim_id(session)), kofi.press_button(alert, claim_id(session))
    )
    replies = await asyncio.gather(*(press.response() for press in presses))
    assert all(reply.ephemeral for reply in replies)
    won = [reply for reply in replies if "You are leading" in reply.content]
    lost = [reply for reply in replies if reply.content == shared_texts.ALREADY_CLAIMED.format(title="Weekend circle")]
    assert (len(won), len(lost)) == (1, 1)
    winner = (ana, kofi)[replies.index(won[0])]
    assert await teacher_of(practice, session) == winner.id
    claims = await practice.core.db.list_audit(action="teacher.claim", target=f"occurrence:{session.id}", limit=None)
    assert [row.actor_id for row in claims] == [winner.id]


async def test_a_release_with_a_reason_reaches_the_coordinators_at_once_and_the_reason_is_inert(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("teach")
    session = await add_session(practice, sandbox, 72 * HOUR, "Evening practice")
    ana = sandbox.person("ana")
    await (await ana.run_command("teach", {"session": session.id}, subcommand="claim")).response()
    choices = await ana.autocomplete("teach", "session", "", subcommand="release")
    assert [choice["value"] for choice in choices] == [session.id]
    kofi = sandbox.person("kofi")
    refused = await (
        await kofi.run_command("teach", {"session": session.id, "reason": "swap"}, subcommand="release")
    ).response()
    assert refused.ephemeral and refused.content == shared_texts.NOT_YOUR_CLAIM
    assert await teacher_of(practice, session) == ana.id and sandbox.channel_messages("coordinators") == []
    reason = "@everyone **sorry** <@&1> my _flight_ moved"
    handle = await ana.run_command("teach", {"session": session.id, "reason": reason}, subcommand="release")
    reply = await handle.response()
    assert reply.ephemeral and "You have released **Evening practice**" in reply.content
    assert await teacher_of(practice, session) is None
    (notice,) = sandbox.channel_messages("coordinators")
    assert "Evening practice" in notice.content and "\\*\\*sorry\\*\\*" in notice.content
    assert "@everyone" not in notice.content and "<@&1>" not in notice.content
    assert mentions(sandbox.world, notice) == ([], [], False)


async def test_someone_without_the_teacher_role_is_refused_kindly_and_nothing_changes(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("teach")
    session = await add_session(practice, sandbox, 72 * HOUR, "Evening practice")
    alert = await posted_alert(practice, sandbox, session)
    audit_before = await practice.core.db.list_audit(limit=None)
    sam, laila = sandbox.person("sam"), sandbox.person("laila")
    replies = [
        await (await sam.run_command("teach", {"session": session.id}, subcommand="claim")).response(),
        await (await sam.run_command("teach", subcommand="open")).response(),
        await (await sam.run_command("teach", subcommand="mine")).response(),
        # Laila coordinates but does not teach; she can see #teachers, and its button refuses her too.
        await (await laila.press_button(alert, claim_id(session))).response(),
    ]
    for reply in replies:
        assert reply.ephemeral and reply.content == shared_texts.NEEDS_TEACHER
    assert await teacher_of(practice, session) is None
    assert await practice.core.db.list_audit(limit=None) == audit_before


async def test_open_lists_only_sessions_without_a_teacher_each_with_its_claim_button(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("teach")
    first = await add_session(practice, sandbox, 50 * HOUR, "First light")
    taken = await add_session(practice, sandbox, 60 * HOUR, "Taken already")
    last = await add_session(practice, sandbox, 70 * HOUR, "Last call")
    kofi, ana = sandbox.person("kofi"), sandbox.person("ana")
    await (await kofi.run_command("teach", {"session": taken.id}, subcommand="claim")).response()
    listing = await (await ana.run_command("teach", subcommand="open")).response()
    assert listing.ephemeral
    assert "First light" in listing.text and "Last call" in listing.text and "Taken already" not in listing.text
    buttons = [c["custom_id"] for row in listing.components for c in row["components"]]
    assert buttons == [claim_id(first), claim_id(last)]
    assert listing.message is not None
    reply = await (await ana.press_button(listing.message, claim_id(last))).response()
    assert "You are leading **Last call**" in reply.content
    assert await teacher_of(practice, last) == ana.id
    mine = await (await ana.run_command("teach", subcommand="mine")).response()
    assert "Last call" in mine.text and "First light" not in mine.text and "Taken already" not in mine.text


async def test_a_teacher_chooses_the_practice_from_the_course_catalog(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("teach")
    mine = await add_session(practice, sandbox, 72 * HOUR, "Evening practice")
    theirs = await add_session(practice, sandbox, 80 * HOUR, "Kofi's circle")
    ana, kofi = sandbox.person("ana"), sandbox.person("kofi")
    await (await ana.run_command("teach", {"session": mine.id}, subcommand="claim")).response()
    await (await kofi.run_command("teach", {"session": theirs.id}, subcommand="claim")).response()
    sessions = await ana.autocomplete("teach", "session", "", subcommand="practice")
    assert [choice["value"] for choice in sessions] == [mine.id], "only her own sessions are offered"
    practices = await ana.autocomplete("teach", "practice", "breath", {"session": mine.id}, subcommand="practice")
    assert [choice["value"] for choice in practices] == ["Affectionate Breathing"]
    handle = await ana.run_command(
        "teach", {"session": mine.id, "practice": practices[0]["value"]}, subcommand="practice"
    )
    reply = await handle.response()
    assert reply.ephemeral and "will offer: **Affectionate Breathing**" in reply.content
    stored = await practice.core.db.get_occurrence(mine.id)
    assert stored is not None and stored.practice == "Affectionate Breathing"
    refused = await (
        await ana.run_command("teach", {"session": theirs.id, "practice": "Silent Sit"}, subcommand="practice")
    ).response()
    assert refused.content == shared_texts.CLAIM_FIRST


async def test_an_alert_is_never_posted_twice_across_restarts(sandbox: Sandbox, practice_config: Config) -> None:
    async with practice_bot(sandbox, practice_config) as first:
        # Within both windows: teachers are asked at once; a coordinator added it, so they are not told.
        session = await add_session(first, sandbox, 3 * HOUR, "Short notice")
        await sandbox.wait_until(lambda: sandbox.channel_messages("teachers"), what="the teachers' alert")
    async with practice_bot(sandbox, practice_config) as second:
        # The coordinators' alert fell due while the bot was down: posted now; the teachers' one is recorded.
        pending = second.core.timers.pending()
        assert f"alert:teachers:{session.id}" not in pending
        await sandbox.wait_until(lambda: sandbox.channel_messages("coordinators"), what="the coordinators' alert")
        assert not await second.core.alerts.fire(session.id, "teachers")
    async with practice_bot(sandbox, practice_config) as third:
        assert not [job for job in third.core.timers.pending() if job.startswith("alert:")]
    (teachers_alert,) = sandbox.channel_messages("teachers")
    (coordinators_alert,) = sandbox.channel_messages("coordinators")
    assert teachers_alert.component_named(claim_id(session)) is not None
    assert "**Short notice**" in coordinators_alert.content and "still has no teacher" in coordinators_alert.content
