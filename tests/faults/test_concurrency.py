"""Concurrency through the real bot: 50 sign-ups and 10 claims at once; reminders to thread members at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest

from bot import texts
from bot.model import Actor
from bot.schedule.rules import utc_to_pacific
from bot.texts import members as member_texts
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.people import Reply
from loopback.world import ChannelType
from tests.faults.support import crowd_world, query, reminders_by_member, seed_reminder_session

SIGNUPS = 50
CLAIMS = 10
LOCKED = ("database is locked", "stayed locked")


async def test_fifty_sign_ups_and_ten_claims_at_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    world, members = crowd_world(SIGNUPS)
    teacher_role = world.find_role("Teacher")
    for index in range(CLAIMS - 2):
        world.add_member(f"teacher{index}", f"Teacher {index}", roles=[teacher_role])
    teachers = [m for m in world.guild.members.values() if teacher_role.id in m.roles]
    assert len(teachers) == CLAIMS
    config = config_for_world(world, tmp_path / "practice")
    async with Sandbox(world) as sandbox, practice_bot(sandbox, config) as bot:
        await sandbox.wait_for_commands("schedule", "signup", "teach")
        laila = world.find_member("laila")
        start = utc_to_pacific(dt.datetime.now(dt.UTC) + dt.timedelta(hours=72)).strftime("%Y-%m-%d %H:%M")
        session = await bot.core.sessions.add_session(
            Actor.of(laila.id, [config.roles.coordinator]), start=start, duration_minutes=45, title="Open circle"
        )
        assert await bot.core.alerts.fire(session.id, "teachers")
        alert = next(m for m in sandbox.channel_messages("teachers") if m.component_named(f"pc:claim:{session.id}"))
        people = [sandbox.person(m.id) for m in members]
        by_button, by_command = people[: SIGNUPS // 2], people[SIGNUPS // 2 :]
        listings = await asyncio.gather(*(p.run_command("schedule") for p in by_button))
        listing_messages = [(await handle.response()).message for handle in listings]

        # Everyone at once: half press Sign up, half type /signup, and ten teachers claim (button or /teach).
        presses = [
            p.press_button(message, f"pc:signup:{session.id}")
            for p, message in zip(by_button, listing_messages, strict=True)
            if message is not None
        ]
        commands = [p.run_command("signup", {"session": session.id}) for p in by_command]
        claimers = [sandbox.person(t.id) for t in teachers]
        claims = [
            t.press_button(alert, f"pc:claim:{session.id}")
            if i % 2
            else t.run_command("teach", {"session": session.id}, subcommand="claim")
            for i, t in enumerate(claimers)
        ]
        handles = await asyncio.gather(*presses, *commands, *claims)
        replies: list[Reply] = list(await asyncio.gather(*(h.response() for h in handles)))
        integrity = [row[0] for row in query(config.storage.database, "PRAGMA integrity_check")]
        problems = await bot.core.db.integrity_check()
        claim = await bot.core.db.get_teacher_claim(session.id)
        signed_up = await bot.core.db.signed_up_user_ids(session.id)

    signup_replies, claim_replies = replies[:SIGNUPS], replies[SIGNUPS:]
    signed_up_text = member_texts.SIGNED_UP.split("**")[0]
    assert all(r.ephemeral and r.content.startswith(signed_up_text) for r in signup_replies), [
        r.content for r in signup_replies if not r.content.startswith(signed_up_text)
    ]
    assert sorted(signed_up) == sorted(m.id for m in members)
    won = [i for i, r in enumerate(claim_replies) if "You are leading" in r.content]
    lost = [r for r in claim_replies if r.content == texts.ALREADY_CLAIMED.format(title="Open circle")]
    assert len(won) == 1 and len(lost) == CLAIMS - 1, [r.content for r in claim_replies]
    assert claim is not None and claim.teacher_id == claimers[won[0]].id
    assert integrity == ["ok"] and problems == []
    everything = caplog.text + "\n".join(r.text for r in replies)
    assert not any(word in everything for word in LOCKED)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no errors logged"
    assert sandbox.spec_violations == [] and sandbox.unknown_routes == []


async def test_reminders_to_many_thread_members_at_once_give_each_one_private_thread(tmp_path: Path) -> None:
    """Parallel sends: each thread member gets exactly one private thread, holding only them and the bot."""
    world, members = crowd_world(12)
    config = config_for_world(
        world,
        tmp_path / "practice",
        sections={"reminders": {"allowed_offsets_minutes": [15], "default_offsets_minutes": [15]}},
    )
    await seed_reminder_session(
        config, members, offset=15, lead=dt.timedelta(seconds=1), thread_preferred=range(len(members))
    )
    async with Sandbox(world) as sandbox, practice_bot(sandbox, config):
        await sandbox.wait_until(
            lambda: sum(reminders_by_member(world).values()) >= len(members), timeout=30, what="12 reminders"
        )
    schedule = world.find_channel("schedule").id
    threads = [c for c in world.guild.channels.values() if c.is_thread and c.parent_id == schedule]
    assert len(threads) == len(members)
    for thread in threads:
        assert thread.type == ChannelType.PRIVATE_THREAD and not thread.invitable
        assert len(thread.thread_members) == 2 and world.bot_user.id in thread.thread_members
    assert {m for t in threads for m in t.thread_members} == {world.bot_user.id, *(m.id for m in members)}
    assert reminders_by_member(world) == {m.id: 1 for m in members}
