"""The session room in real conditions (issue 9), with the real bot on the loopback Discord.

One test per finding of the issue; each failed on main before this change. The world is one
Discord would have: the Teacher role holds no Stage-moderator rights and no special permissions,
so everything a teacher can do on a Stage they owe to the bot inviting them.
"""

# Waits take a deadline on purpose: a test names how long the bot may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import texts
from bot.services.runner import SessionRunner
from bot.texts import room as room_texts
from loopback import Sandbox, World
from loopback.capture import ogg_opus_packets
from loopback.harness import practice_bot
from loopback.world import NO_PERMISSIONS, Permission
from tests.integration.test_session_room import (
    STAGE,
    VOICE,
    Room,
    add_session,
    bot_packets,
    completions,
    ends_in_silence,
    frames_until,
    handled,
    make_config,
    muted,
    overwrites,
    running_room,
)


def plain_world() -> World:
    """The default world, but the Teacher role is a plain role: no Stage moderation, no special permissions."""
    world = World.default()
    teacher = world.find_role("Teacher")
    teacher.permissions = NO_PERMISSIONS
    stage = world.find_channel(STAGE)
    stage.overwrites.pop(teacher.id, None)
    return world


pytestmark = pytest.mark.sandbox(world=plain_world)


def speaking(sandbox: Sandbox, name: str) -> bool:
    state = sandbox.person(name).voice_state
    return state is not None and not state.suppress and not state.mute


def coordinator_posts(sandbox: Sandbox, words: str) -> list[str]:
    return [m.content for m in sandbox.channel_messages("coordinators") if words in m.content]


# --- finding 2: a failed restore is never permanent ---------------------------------------------


async def test_a_failed_unmute_is_kept_retried_told_once_and_lifted_after_a_restart(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(sandbox, tmp_path)
    sam = sandbox.person("sam")
    await sam.join_voice(VOICE)
    overwrites_before = overwrites(sandbox, VOICE)
    bot_role = sandbox.world.find_role("Practice Circles")
    async with running_room(sandbox, config, VOICE) as r:
        session = r.session
        await r.start()
        assert muted(sam)
        # Someone takes Mute Members from the bot's role mid-session: unmuting now fails with a 403.
        bot_role.permissions &= ~Permission.MUTE_MEMBERS
        await r.bot.core.runner.close(session.id)

        assert muted(sam), "Discord refused the unmute"
        run = await r.run()
        assert run.phase == "closing" and run.restrictions == {"muted": [sam.id]}, "kept as left to undo"
        assert overwrites(sandbox, VOICE) == overwrites_before, "the chat lock was lifted on its own"
        assert r.messages()[-1].content.startswith("This session has closed.")
        assert f"restore:{session.id}" in r.bot.core.timers.pending(), "a retry is armed"
        for _ in range(3):  # what the retry timer runs
            await r.bot.core.runner.retry_restore(session.id)
        told = coordinator_posts(sandbox, "could not undo everything")
        assert len(told) == 1 and f"<@{sam.id}>" in told[0] and "Server Mute" in told[0], "told once, what to do"
    bot_role.permissions |= Permission.MUTE_MEMBERS  # a coordinator gives it back

    # On the class: the second bot retries as it starts, before a test could patch its runner.
    retried = completions(monkeypatch, SessionRunner, "retry_restore")
    async with practice_bot(sandbox, config) as bot:
        await handled(retried)
        assert not muted(sam), "lifted by the start-up retry"
        run_after = await bot.core.db.get_run(session.id)
        assert run_after is not None and run_after.phase == "closed" and run_after.restrictions == {}
        assert len(coordinator_posts(sandbox, "could not undo everything")) == 1, "never told twice"
    assert not any(member.mute for member in sandbox.world.guild.members.values())


# --- finding 3: two sessions at once ---------------------------------------------------------------


async def test_two_bot_led_sessions_at_once_the_voice_never_moves_and_the_second_is_guided_in_words(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = make_config(sandbox, tmp_path, practice_seconds=2.0)
    sam, priya = sandbox.person("sam"), sandbox.person("priya")
    await sam.join_voice(STAGE)
    await priya.join_voice(VOICE)
    async with running_room(sandbox, config, STAGE) as a:
        b = Room(sandbox, a.bot, await add_session(a.bot, sandbox, VOICE), config, VOICE)
        choice = await a.start()
        await (await sam.choose(choice, f"pc:play:{a.session.id}", [a.practice_id])).response()
        await frames_until(
            a,
            lambda frames: sum(not f.is_silence for f in frames) >= len(ogg_opus_packets(a.welcome)) + 10,
            timeout=5,
            what="the practice to play in room A",
        )
        runner = a.bot.core.runner
        await runner.open(b.session.id)
        await runner.begin(b.session.id)  # room B begins with no teacher while A plays

        expected_a = ogg_opus_packets(a.welcome) + ogg_opus_packets(a.practice)
        await frames_until(
            a,
            lambda frames: sum(not f.is_silence for f in frames) >= len(expected_a) and ends_in_silence(frames),
            timeout=10,
            what="room A's practice to end",
        )
        assert sandbox.voice is not None
        bot_id = sandbox.world.bot_user.id
        stage_id, voice_id = sandbox.world.find_channel(STAGE).id, sandbox.world.find_channel(VOICE).id
        heard_a = [f.opus for f in sandbox.voice.capture.frames(bot_id, channel_id=stage_id) if not f.is_silence]
        heard_b = sandbox.voice.capture.frames(bot_id, channel_id=voice_id)
        assert heard_a == expected_a, "room A heard all of its audio, in order"
        assert heard_b == [], "not one packet of A reached room B"
        assert b.posted("On behalf of CMSC, welcome"), "B has the written welcome"
        assert b.posted(room_texts.TEXT_GUIDED_OVERLAP)
        assert any("The silent sit begins now and ends <t:" in m.content for m in b.messages()), "with its timing"
        run_b = await b.run()
        assert run_b.phase == "silent_sit" and run_b.text_guided
        assert muted(priya), "nobody leads in B either"
        assert coordinator_posts(sandbox, "guided in words only")

        await runner.close(b.session.id)
        await runner.close(a.session.id)
        assert not muted(priya)


async def test_coordinators_must_confirm_a_session_that_overlaps_another(sandbox: Sandbox, tmp_path: Path) -> None:
    config = make_config(sandbox, tmp_path)
    laila = sandbox.person("laila")
    async with practice_bot(sandbox, config) as bot:
        await sandbox.wait_for_commands("session")
        first = await bot.core.db.add_one_off(
            start=dt.datetime(2031, 5, 6, 1, 0, tzinfo=dt.UTC),
            duration_minutes=60,
            channel_id=sandbox.world.find_channel(STAGE).id,
            title="Morning circle",
        )
        options = {"start": "2031-05-05 18:30", "duration": 45, "title": "Second circle", "channel": VOICE}
        refused = await (await laila.run_command("session", options, subcommand="add")).response()
        assert refused.ephemeral and "overlap" in refused.content and "Morning circle" in refused.content
        assert "overlap: True" in refused.content
        assert (
            len(
                await bot.core.db.list_occurrences(
                    first.start_utc - dt.timedelta(days=1), first.start_utc + dt.timedelta(days=1)
                )
            )
            == 1
        )
        confirmed = await (
            await laila.run_command("session", {**options, "overlap": True}, subcommand="add")
        ).response()
        assert confirmed.ephemeral and "Second circle" in confirmed.content
        assert coordinator_posts(sandbox, "overlaps")


# --- finding 4: who leads --------------------------------------------------------------------------


async def test_only_a_teacher_leads_another_takes_over_a_lost_role_releases_and_coordinators_keep_their_voice(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = make_config(sandbox, tmp_path)
    ana, kofi, sam, laila = (sandbox.person(n) for n in ("ana", "kofi", "sam", "laila"))
    world = sandbox.world
    teacher_role = world.find_role("Teacher")
    async with running_room(sandbox, config, STAGE) as r:
        runner = r.bot.core.runner
        later = await add_session(r.bot, sandbox, VOICE)
        await r.bot.core.db.claim_teacher(r.session.id, kofi.id)  # kofi claimed, but he is not here
        await r.bot.core.db.claim_teacher(later.id, kofi.id)
        await ana.join_voice(STAGE)
        await sam.join_voice(STAGE)
        await sandbox.wait_for_commands("room")
        await runner.open(r.session.id)
        await runner.begin(r.session.id)

        assert (await r.run()).phase == "teacher_led", "another teacher present takes over after the grace"
        claim = await r.bot.core.db.get_teacher_claim(r.session.id)
        assert claim is not None and claim.teacher_id == ana.id
        assert coordinator_posts(sandbox, "took over")
        await sandbox.wait_until(lambda: speaking(sandbox, "ana"), what="ana invited to speak")
        assert not speaking(sandbox, "sam")
        stage = world.find_channel(STAGE)
        assert not ana.permissions_in(stage) & Permission.MUTE_MEMBERS, "she needed no moderator rights"

        bell = r.bot.core.recordings.by_kind("bell")[0]
        await kofi.join_voice(STAGE)
        refused = await (
            await kofi.run_command("room", {"recording": bell.id}, subcommand="play", channel=STAGE)
        ).response()
        assert refused.ephemeral and "Nothing was changed" in refused.content, "only the leading teacher asks"
        asked = await (
            await ana.run_command("room", {"recording": bell.id}, subcommand="play", channel=STAGE)
        ).response()
        assert asked.ephemeral and bell.title in asked.content
        await frames_until(r, ends_in_silence, timeout=5, what="the bell")
        assert bot_packets(r) == ogg_opus_packets(r.bell)

        # Kofi loses the Teacher role: his claim on the later session is released, coordinators told.
        member = world.member(kofi.id)
        member.roles = [role for role in member.roles if role != teacher_role.id]
        sandbox.events.member_updated(member)
        await sandbox.wait_until(
            lambda: coordinator_posts(sandbox, "no longer holds the Teacher role"), what="the coordinators told"
        )
        assert await r.bot.core.db.get_teacher_claim(later.id) is None

        # Ana loses it while leading: she leads no more, the bot does, and she is silenced like anyone.
        member = world.member(ana.id)
        member.roles = [role for role in member.roles if role != teacher_role.id]
        sandbox.events.member_updated(member)
        await sandbox.wait_until(lambda: r.posted("On behalf of CMSC, welcome"), timeout=10, what="the bot leading")
        assert (await r.run()).phase in ("welcome", "choosing"), [m.content[:60] for m in r.messages()]
        await sandbox.wait_until(lambda: not speaking(sandbox, "ana"), what="ana back in the audience")

        # A coordinator in a bot-led voice room keeps their voice.
        await laila.join_voice(VOICE)
        await sam.join_voice(VOICE)
        await runner.open(later.id)
        await runner.begin(later.id)
        assert (await r.bot.core.db.get_run(later.id)).phase in ("welcome", "choosing", "silent_sit")  # type: ignore[union-attr]
        await sandbox.wait_until(lambda: muted(sam), what="sam muted")
        assert not muted(laila), "coordinators are never muted"


# --- finding 5: voice drops ------------------------------------------------------------------------


async def test_a_short_voice_drop_is_said_in_the_chat_and_the_recording_carries_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = make_config(sandbox, tmp_path, practice_seconds=4.0)
    sam = sandbox.person("sam")
    await sam.join_voice(VOICE)
    async with running_room(sandbox, config, VOICE) as r:
        r.bot.core.runner.room.reconnect_wait = 20.0  # type: ignore[attr-defined]
        choice = await r.start()
        welcome, practice = ogg_opus_packets(r.welcome), ogg_opus_packets(r.practice)
        await (await sam.choose(choice, f"pc:play:{r.session.id}", [r.practice_id])).response()
        await frames_until(
            r,
            lambda frames: sum(not f.is_silence for f in frames) >= len(welcome) + 50,
            timeout=5,
            what="a second of the practice",
        )
        assert sandbox.voice is not None
        await sandbox.voice.outage(sandbox.world.bot_user.id)
        # Said as discord.py notices the drop, or as the playback breaks off (whichever comes first).
        await sandbox.wait_until(
            lambda: r.posted(room_texts.VOICE_DROPPED) or r.posted(room_texts.VOICE_RETRYING),
            timeout=10,
            what="the drop said in the chat",
        )
        sandbox.voice.end_outage(sandbox.world.bot_user.id)
        # discord.py reconnects by itself (the recording then carries on), or the bot connects afresh and
        # carries on from a little before where the sound was lost: either way the room is told.
        await sandbox.wait_until(
            lambda: r.posted(room_texts.VOICE_BACK) or r.posted(room_texts.VOICE_RETRYING),
            timeout=40,  # discord.py's own backoff, on a loaded machine
            what="the way back, said in the chat",
        )
        await frames_until(
            r, lambda frames: bot_packets(r)[-1:] == practice[-1:], timeout=30, what="the practice to reach its end"
        )
        heard = bot_packets(r)[len(welcome) :]
        assert heard[:50] == practice[:50] and heard[-1] == practice[-1], "it carried on to the end"
        assert not coordinator_posts(sandbox, "voice kept failing"), "it came back: nothing for the coordinators"
        assert muted(sam)
        await r.bot.core.runner.close(r.session.id)
        assert not muted(sam)


async def test_a_voice_that_keeps_failing_ends_in_a_silent_sit_guided_in_words_and_an_alert(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = make_config(sandbox, tmp_path, practice_seconds=4.0)
    sam = sandbox.person("sam")
    await sam.join_voice(VOICE)
    async with running_room(sandbox, config, VOICE) as r:
        room = r.bot.core.runner.room
        room.reconnect_wait = 1.0  # type: ignore[attr-defined]
        room.connect_timeout = 2.0  # type: ignore[attr-defined]
        choice = await r.start()
        await (await sam.choose(choice, f"pc:play:{r.session.id}", [r.practice_id])).response()
        await frames_until(
            r,
            lambda frames: sum(not f.is_silence for f in frames) >= len(ogg_opus_packets(r.welcome)) + 25,
            timeout=5,
            what="half a second of the practice",
        )
        assert sandbox.voice is not None
        await sandbox.voice.outage(sandbox.world.bot_user.id)  # and it does not come back

        await sandbox.wait_until(lambda: r.posted(room_texts.VOICE_GAVE_UP), timeout=40, what="carrying on in words")
        assert r.posted(room_texts.VOICE_RETRYING), "it tried again first"
        told = await sandbox.wait_until(lambda: coordinator_posts(sandbox, "voice kept failing"), what="the alert")
        assert len(told) == 1 and "3 times" in told[0]
        run = await r.run()
        assert run.phase == "silent_sit" and run.text_guided
        assert any("The silent sit begins now and ends <t:" in m.content for m in r.messages())
        assert muted(sam), "still a silent room while the bot leads, but never without a word"
        await r.bot.core.runner.close(r.session.id)
        assert not muted(sam), "and nobody is left muted"
        assert r.messages()[-1].content.startswith("This session has closed.")


# --- finding 6: several practices ---------------------------------------------------------------


async def test_with_time_left_the_group_chooses_again_and_a_long_sit_has_interval_bells(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    base = make_config(sandbox, tmp_path)
    config = base.model_copy(update={"sessions": base.sessions.model_copy(update={"interval_bell_minutes": 5})})
    sam = sandbox.person("sam")
    await sam.join_voice(STAGE)
    async with running_room(sandbox, config, STAGE) as r:
        first = await r.start()
        await (await sam.choose(first, f"pc:play:{r.session.id}", [r.practice_id])).response()
        await sandbox.wait_until(
            lambda: len([m for m in r.messages() if f"pc:play:{r.session.id}" in str(m.components)]) == 2,
            timeout=10,
            what="a second choice",
        )
        assert r.posted(room_texts.ANOTHER_PRACTICE)
        choices = [m for m in r.messages() if f"pc:play:{r.session.id}" in str(m.components)]
        await (await sam.press_button(choices[-1], f"pc:sit:{r.session.id}:10")).response()
        await sandbox.wait_until(
            lambda: f"bell:{r.session.id}" in r.bot.core.timers.pending(), what="the interval bell"
        )
        run = await r.run()
        assert run.phase == "silent_sit"
        assert r.bot.core.timers.pending()[f"bell:{r.session.id}"] == run.phase_started_at + dt.timedelta(minutes=5)
        before = len(bot_packets(r))
        await r.bot.core.runner.interval_bell(r.session.id)  # what the timer runs
        assert bot_packets(r)[before:] == ogg_opus_packets(r.bell), "the approved bell, frame for frame"
        await r.bot.core.runner.close(r.session.id)


# --- finding 7: Discord's own rules -------------------------------------------------------------


async def test_the_event_starts_with_the_room_the_stage_lives_through_a_silent_sit_and_both_end_at_close(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    world = sandbox.world
    world.rules.stage_without_speaker = dt.timedelta(seconds=1.5)
    config = make_config(sandbox, tmp_path)
    priya, sam = sandbox.person("priya"), sandbox.person("sam")
    async with practice_bot(sandbox, config) as bot:
        start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
        session = await bot.core.db.add_one_off(
            start=start, duration_minutes=30, channel_id=world.find_channel(STAGE).id, title="Evening"
        )
        await bot.get_cog("Events").mirror.run_pass()  # type: ignore[union-attr]
        event_id = await bot.core.db.get_link(session.id, "event")
        assert event_id is not None
        await priya.mark_interested(event_id)
        await sam.join_voice(STAGE)
        r = Room(sandbox, bot, session, config, STAGE)
        choice = await r.start()

        event = world.scheduled_event(event_id)
        assert event.status.name == "ACTIVE", "the bot starts the session's event"
        assert [n.user_id for n in world.notifications if n.event_id == event_id] == [priya.id]
        instance = world.guild.stage_instances[world.find_channel(STAGE).id]
        assert instance.guild_scheduled_event_id == event_id, [
            (x.method, x.route, x.status, x.json)
            for x in sandbox.request_log
            if "stage" in x.path or "scheduled" in x.path
        ]

        await (await sam.press_button(choice, f"pc:sit:{session.id}:10")).response()
        sweeps = sandbox.rule_state.sweeps
        began = world.now()
        await sandbox.wait_until(
            lambda: world.now() - began > dt.timedelta(seconds=3) and sandbox.rule_state.sweeps > sweeps + 4,
            timeout=10,
            what="twice Discord's Stage timeout to pass",
        )
        assert world.find_channel(STAGE).id in world.guild.stage_instances, "the bot stayed a speaker"
        assert sandbox.rule_state.ended_stages == []

        await bot.core.runner.close(session.id)
        assert event.status.name == "COMPLETED", "completed at close"
        assert world.find_channel(STAGE).id not in world.guild.stage_instances


# --- finding 8: late joiners -----------------------------------------------------------------------


async def test_late_joiners_are_told_why_in_words_and_video_rests_then_is_restored_exactly(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = make_config(sandbox, tmp_path)
    sam, jonas = sandbox.person("sam"), sandbox.person("jonas")
    await sam.join_voice(VOICE)
    assert await sam.start_video(), "cameras are allowed in the channel"
    overwrites_before = overwrites(sandbox, VOICE)
    async with running_room(sandbox, config, VOICE) as r:
        await r.start()
        state = sam.voice_state
        assert state is not None and not state.self_video, "the camera rests while the bot leads"
        await jonas.join_voice(VOICE)
        await sandbox.wait_until(lambda: r.posted("A gentle word for anyone just arriving"), what="the words")
        note = next(m.content for m in r.messages() if m.content.startswith("A gentle word"))
        assert "leave without blame" in note and "cameras and screen sharing rest" in note
        assert "<@" not in note and "Jonas" not in note, "naming nobody"
        assert muted(jonas)
        assert not await jonas.start_video() and not await jonas.start_video(screen=True)
        await r.bot.core.runner.close(r.session.id)
        assert overwrites(sandbox, VOICE) == overwrites_before, "restored exactly"
        assert await jonas.start_video(screen=True), "screen sharing is back"
        assert not muted(jonas) and not muted(sam)
    assert texts.SESSION_CLOSED


async def test_a_second_voice_server_while_connecting_still_gives_the_room_its_welcome(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # Discord may send a new voice server while a client connects; discord.py then starts its attempt again
    # and cancels the one the bot was waiting on. The room must still hear the welcome and get its choice.
    config = make_config(sandbox, tmp_path, practice_seconds=4.0)
    sam = sandbox.person("sam")
    await sam.join_voice(VOICE)
    async with running_room(sandbox, config, VOICE) as r:
        sandbox.reassign_voice_server_once = True
        choice = await r.start()
        assert not sandbox.reassign_voice_server_once, "the second voice server was sent"
        welcome = ogg_opus_packets(r.welcome)
        assert bot_packets(r)[: len(welcome)] == welcome, "the whole welcome was heard"
        assert f"pc:play:{r.session.id}" in str(choice.components)
        assert muted(sam)
        await r.bot.core.runner.close(r.session.id)
        assert not muted(sam)
