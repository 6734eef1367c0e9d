"""The session room with the real bot on the loopback Discord: no-teacher sessions, teachers, restarts."""

# Waits take a deadline on purpose: a test names how long the bot may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import texts
from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.media.recordings import add_recording
from bot.model import OccurrenceRow, RunRow
from bot.services.runner import SessionRunner
from bot.texts import room as room_texts
from loopback import Sandbox
from loopback.capture import Frame, ogg_opus_packets
from loopback.harness import config_for_world, practice_bot
from loopback.people import ActionRefused, SimulatedPerson
from loopback.world import STAGE_MODERATOR, Message, Overwrite

SILENCE = b"\xf8\xff\xfe"
STAGE = "Practice Circle"
VOICE = "Quiet Sitting"


def tone(path: Path, seconds: float, frequency: int) -> Path:
    """A short tone made with sox (add_recording converts it to Ogg/Opus; no audio is committed)."""
    wav = path.with_suffix(".wav")
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "2", str(wav), "synth", str(seconds), "sine", str(frequency), "vol", "0.3"],
        check=True,
        capture_output=True,
    )
    return wav


def make_config(sandbox: Sandbox, tmp_path: Path, *, practice_seconds: float = 1.6) -> Config:
    """Config whose allow-list holds only short test tones: a bell, a welcome reading and one practice."""
    data = tmp_path / "practice"
    recordings = data / "recordings.yaml"
    data.mkdir(parents=True, exist_ok=True)
    # The shipped bell lasts 6 s; a short one keeps silent sits quick to test.
    for title, kind, seconds, frequency in (
        ("Bell (test)", "bell", 0.4, 660),
        ("Welcome words (short test reading)", "welcome-reading", 1.2, 330),
        ("Affectionate Breathing (test)", "practice", practice_seconds, 440),
    ):
        add_recording(
            tone(tmp_path / f"{kind}.wav", seconds, frequency),
            recordings_path=recordings,
            title=title,
            kind=kind,
            source="tests",
        )
    return config_for_world(
        sandbox.world,
        data,
        recordings_file=recordings,
        sections={"sessions": {"grace_minutes": 0, "open_minutes_before": 0, "lock_chat": True}},
    )


@dataclass
class Room:
    sandbox: Sandbox
    bot: PracticeCirclesBot
    session: OccurrenceRow
    config: Config
    channel: str

    @property
    def bell(self) -> Path:
        return self.bot.core.recordings.by_kind("bell")[0].path

    @property
    def welcome(self) -> Path:
        return self.bot.core.recordings.by_kind("welcome-reading")[0].path

    @property
    def practice(self) -> Path:
        return self.bot.core.recordings.by_kind("practice")[0].path

    @property
    def practice_id(self) -> str:
        return self.bot.core.recordings.by_kind("practice")[0].id

    def messages(self) -> list[Message]:
        return self.sandbox.channel_messages(self.channel)

    def posted(self, text: str) -> bool:
        return any(text in m.content for m in self.messages())

    async def run(self) -> RunRow:
        run = await self.bot.core.db.get_run(self.session.id)
        assert run is not None
        return run

    async def start(self) -> Message:
        """Open the session and begin it with no teacher; returns the message carrying the choice."""
        await self.bot.core.runner.open(self.session.id)
        await self.bot.core.runner.begin(self.session.id)
        return next(m for m in self.messages() if f"pc:play:{self.session.id}" in str(m.components))


async def add_session(bot: PracticeCirclesBot, sandbox: Sandbox, channel: str) -> OccurrenceRow:
    """A 30-minute session starting in a minute; the tests drive its steps instead of the timers."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    return await bot.core.db.add_one_off(
        start=start, duration_minutes=30, channel_id=sandbox.world.find_channel(channel).id, title="Evening"
    )


@contextlib.asynccontextmanager
async def running_room(sandbox: Sandbox, config: Config, channel: str) -> AsyncIterator[Room]:
    """The real bot on the sandbox with one session (not yet opened) in `channel`."""
    async with practice_bot(sandbox, config) as bot:
        yield Room(sandbox, bot, await add_session(bot, sandbox, channel), config, channel)


@pytest.fixture
def room_config(sandbox: Sandbox, tmp_path: Path) -> Config:
    """Config with a short bell, a short welcome reading and one short practice recording."""
    return make_config(sandbox, tmp_path)


@pytest.fixture
async def room(sandbox: Sandbox, room_config: Config) -> AsyncIterator[Room]:
    """The bot running, with one session on the Stage."""
    async with running_room(sandbox, room_config, STAGE) as started:
        yield started


def bot_frames(sandbox: Sandbox) -> list[Frame]:
    assert sandbox.voice is not None
    return sandbox.voice.capture.frames(sandbox.world.bot_user.id)


def bot_packets(r: Room) -> list[bytes]:
    return [frame.opus for frame in bot_frames(r.sandbox) if frame.opus != SILENCE]


async def frames_until(r: Room, condition: Callable[[list[Frame]], bool], *, timeout: float, what: str) -> None:
    """Wait, frame by frame (no polling), until the bot's frames satisfy `condition`."""
    assert r.sandbox.voice is not None
    capture, bot_id = r.sandbox.voice.capture, r.sandbox.world.bot_user.id
    try:
        async with asyncio.timeout(timeout):
            while not condition(frames := capture.frames(bot_id)):
                await capture.wait_for_frames(len(frames) + 1, timeout=timeout, user_id=bot_id)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}") from None


def ends_in_silence(frames: list[Frame]) -> bool:
    """discord.py sends five silence frames whenever a playback ends or is stopped."""
    return len(frames) >= 5 and all(frame.is_silence for frame in frames[-5:])


def overwrites(sandbox: Sandbox, channel: str) -> dict[int, Overwrite]:
    return copy.deepcopy(sandbox.world.find_channel(channel).overwrites)


def muted(person: SimulatedPerson) -> bool:
    state = person.voice_state
    return state is not None and state.mute


async def test_no_teacher_welcome_then_chosen_recording_and_nobody_else_speaks(room: Room) -> None:
    r = room
    sam, priya = r.sandbox.person("sam"), r.sandbox.person("priya")
    await sam.join_voice(STAGE)
    await priya.join_voice(STAGE)
    overwrites_before = overwrites(r.sandbox, STAGE)

    choice_message = await r.start()

    assert any(m.content.startswith("On behalf of CMSC, welcome to this practice session.") for m in r.messages())
    await sam.request_to_speak()
    assert not await priya.try_unmute(), "participants stay silent while the bot leads"
    handle = await priya.choose(choice_message, f"pc:play:{r.session.id}", [r.practice_id])
    reply = await handle.response()
    assert reply.ephemeral

    await r.sandbox.wait_until(
        lambda: len(bot_packets(r)) >= len(ogg_opus_packets(r.welcome)) + len(ogg_opus_packets(r.practice)), timeout=15
    )
    assert bot_packets(r) == ogg_opus_packets(r.welcome) + ogg_opus_packets(r.practice), (
        "exactly these, frame for frame"
    )
    sam_state = sam.voice_state
    assert sam_state is not None and sam_state.suppress, "a raised hand is lowered, gently"
    assert r.posted("nobody leads the practice")

    await r.bot.core.runner.close(r.session.id)
    assert overwrites(r.sandbox, STAGE) == overwrites_before
    closing = r.messages()[-1].content
    assert "https://donate.example.org/msc" in closing and "https://share.example.org/practice-circles" in closing


def completions(monkeypatch: pytest.MonkeyPatch, runner: object, name: str) -> asyncio.Queue[None]:
    """One item each time the bot has finished `runner.name(...)`: waits for events that change no Discord state."""
    done: asyncio.Queue[None] = asyncio.Queue()
    original = getattr(runner, name)

    async def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return await original(*args, **kwargs)
        finally:
            done.put_nowait(None)

    monkeypatch.setattr(runner, name, wrapper)
    return done


async def handled(done: asyncio.Queue[None]) -> None:
    await asyncio.wait_for(done.get(), timeout=5)


async def test_voice_channel_mutes_everyone_locks_the_chat_and_restores_all_of_it(
    sandbox: Sandbox, room_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, priya, jonas, ana = (sandbox.person(name) for name in ("sam", "priya", "jonas", "ana"))
    await sam.join_voice(VOICE)
    await priya.join_voice(VOICE)
    overwrites_before = overwrites(sandbox, VOICE)
    async with running_room(sandbox, room_config, VOICE) as r:
        joined = completions(monkeypatch, r.bot.core.runner, "member_joined")
        left = completions(monkeypatch, r.bot.core.runner, "member_left")
        await r.start()
        assert (await r.run()).venue == "voice"
        assert muted(sam) and muted(priya), "everyone present is server-muted while the bot leads"

        await jonas.join_voice(VOICE)
        await handled(joined)
        assert muted(jonas), "so is everyone who joins later"
        assert not await jonas.try_unmute(), "unmuting oneself is not heard over a server mute"
        assert not await sam.try_unmute()

        with pytest.raises(ActionRefused):
            await sam.send_message(VOICE, "Shall I lead us in a practice?")
        await ana.send_message(VOICE, "Teachers may still write here.")
        assert r.posted(texts.CHOICE_PROMPT), "the bot posts in the chat it locked"

        # Priya leaves while muted: Discord lifts a server mute only while she is connected.
        await priya.leave_voice()
        await handled(left)
        assert sandbox.world.member(priya.id).mute
        assert priya.id in await r.bot.core.db.pending_unmutes()

        # Jonas leaves and comes back while the bot still leads: still silent, and unmuted at close.
        await jonas.leave_voice()
        await handled(left)
        await jonas.join_voice(VOICE)
        await handled(joined)
        assert muted(jonas)
        assert jonas.id in (await r.run()).restrictions["muted"], "his mute is this session's to lift now"
        assert jonas.id not in await r.bot.core.db.pending_unmutes()
        assert not r.posted("nobody leads the practice"), "nobody asked to speak"

        await r.bot.core.runner.close(r.session.id)
        assert not muted(sam) and not muted(jonas), "everyone still here is unmuted at close"
        assert overwrites(sandbox, VOICE) == overwrites_before, "the chat's overwrites are exactly as before"
        assert r.messages()[-1].content.startswith("This session has closed.")
        await sam.send_message(VOICE, "Thank you all.")

        await priya.join_voice(STAGE)
        await sandbox.wait_until(lambda: not sandbox.world.member(priya.id).mute, what="priya's mute lifted")
        assert await r.bot.core.db.pending_unmutes() == []
    assert not any(member.mute for member in sandbox.world.guild.members.values()), "nobody is left muted"


async def test_moving_out_of_the_session_to_another_channel_lifts_the_mute_at_once(
    sandbox: Sandbox, room_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = sandbox.person("sam")
    await sam.join_voice(VOICE)
    async with running_room(sandbox, room_config, VOICE) as r:
        left = completions(monkeypatch, r.bot.core.runner, "member_left")
        await r.start()
        assert muted(sam)
        await sam.join_voice(STAGE)  # a move: Discord keeps the server mute across channels
        await handled(left)
        await sandbox.wait_until(lambda: not sandbox.world.member(sam.id).mute, what="sam's mute lifted")
        assert await r.bot.core.db.pending_unmutes() == []


async def test_a_tampered_recording_is_never_heard_and_the_coordinators_are_told(room: Room) -> None:
    r = room
    sam = r.sandbox.person("sam")
    await sam.join_voice(STAGE)
    choice_message = await r.start()
    # Changed after the catalog was loaded (and its hashes checked) at start-up.
    data = bytearray(r.practice.read_bytes())
    data[len(data) // 2] ^= 0x01
    r.practice.write_bytes(bytes(data))

    reply = await (await sam.choose(choice_message, f"pc:play:{r.session.id}", [r.practice_id])).response()
    assert reply.ephemeral
    await r.sandbox.wait_until(lambda: r.posted(room_texts.ANOTHER_PRACTICE), what="the choice offered again")

    assert bot_packets(r) == ogg_opus_packets(r.welcome), "only the welcome reading was heard"
    alerts = [m.content for m in r.sandbox.channel_messages("coordinators") if "NOT played" in m.content]
    assert len(alerts) == 1 and "Affectionate Breathing (test)" in alerts[0] and r.practice_id in alerts[0]
    assert "changed since it was approved" in alerts[0]
    assert not any("NOT played" in m.content or "sha256" in m.content for m in r.messages()), "calm in the room"
    assert (await r.run()).phase == "choosing"

    await r.bot.core.runner.close(r.session.id)
    assert (await r.run()).phase == "closed"
    assert r.messages()[-1].content.startswith("This session has closed.")
    assert bot_packets(r) == ogg_opus_packets(r.welcome)


async def test_a_teacher_present_leads_and_the_bot_plays_only_what_they_ask(room: Room) -> None:
    r = room
    ana, sam = r.sandbox.person("ana"), r.sandbox.person("sam")
    await r.bot.core.db.claim_teacher(r.session.id, ana.id)
    await ana.join_voice(STAGE)
    await sam.join_voice(STAGE)
    await r.sandbox.wait_for_commands("room")

    await r.bot.core.runner.open(r.session.id)
    await r.bot.core.runner.begin(r.session.id)
    assert (await r.run()).phase == "teacher_led"
    occurrence = await r.bot.core.db.get_occurrence(r.session.id)
    assert occurrence is not None and occurrence.status == "teacher_led"
    assert bot_frames(r.sandbox) == [], "the bot says nothing while a teacher leads"
    assert not r.posted("On behalf of CMSC") and not r.posted(texts.CHOICE_PROMPT)

    bell = r.bot.core.recordings.by_kind("bell")[0]
    asked = await ana.run_command("room", {"recording": bell.id}, subcommand="play", channel=STAGE)
    reply = await asked.response()
    assert reply.ephemeral and bell.title in reply.content
    await frames_until(r, ends_in_silence, timeout=5, what="the bell to end")
    assert bot_packets(r) == ogg_opus_packets(r.bell), "exactly the bell, frame for frame"

    refused = await (await sam.run_command("room", {"recording": bell.id}, subcommand="play", channel=STAGE)).response()
    assert refused.ephemeral and "Nothing was changed" in refused.content
    assert "claim" not in refused.content, "the reply is about playing, not about claiming sessions"
    assert bot_packets(r) == ogg_opus_packets(r.bell), "nothing more was played"


async def test_a_teacher_who_arrives_mid_recording_takes_over_within_a_second(sandbox: Sandbox, tmp_path: Path) -> None:
    config = make_config(sandbox, tmp_path, practice_seconds=3.0)
    sam, ana = sandbox.person("sam"), sandbox.person("ana")
    await sam.join_voice(STAGE)
    overwrites_before = overwrites(sandbox, STAGE)
    async with running_room(sandbox, config, STAGE) as r:
        choice_message = await r.start()
        welcome, practice = ogg_opus_packets(r.welcome), ogg_opus_packets(r.practice)
        await (await sam.choose(choice_message, f"pc:play:{r.session.id}", [r.practice_id])).response()
        await frames_until(
            r,
            lambda frames: sum(not f.is_silence for f in frames) >= len(welcome) + 25,
            timeout=5,
            what="half a second of the practice",
        )

        joined_at = time.monotonic()
        await ana.join_voice(STAGE)
        await sandbox.wait_until(lambda: r.posted("The teacher is here"), what="the teacher's welcome")
        await frames_until(r, ends_in_silence, timeout=3, what="the practice to stop")

        heard = bot_packets(r)[len(welcome) :]
        assert 25 <= len(heard) < len(practice) and heard == practice[: len(heard)], "cut short, never skipped"
        last = [frame for frame in bot_frames(sandbox) if not frame.is_silence][-1]
        assert last.arrival - joined_at < 1.3, "the recording ends within about a second"

        run = await r.run()
        assert run.phase == "teacher_led" and run.restrictions == {}
        claim = await r.bot.core.db.get_teacher_claim(r.session.id)
        assert claim is not None and claim.teacher_id == ana.id
        assert overwrites(sandbox, STAGE) == overwrites_before, "the chat is open again"
        await sam.send_message(STAGE, "Welcome!")
        stage = sandbox.world.find_channel(STAGE)
        assert ana.permissions_in(stage) & STAGE_MODERATOR == STAGE_MODERATOR, "the teacher moderates the Stage"
        state = ana.voice_state
        assert state is not None and not state.mute, "a Stage moderator may step up to speak at any time"


async def test_a_restart_during_a_silent_sit_resumes_it_and_still_restores_everything(
    sandbox: Sandbox, room_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam, jonas = sandbox.person("sam"), sandbox.person("jonas")
    await sam.join_voice(VOICE)
    overwrites_before = overwrites(sandbox, VOICE)
    async with running_room(sandbox, room_config, VOICE) as r:
        session = r.session
        choice_message = await r.start()
        reply = await (await sam.press_button(choice_message, f"pc:sit:{session.id}:10")).response()
        assert reply.ephemeral
        opening = len(ogg_opus_packets(r.welcome)) + len(ogg_opus_packets(r.bell))
        await frames_until(
            r,
            lambda frames: sum(not f.is_silence for f in frames) >= opening and ends_in_silence(frames),
            timeout=5,
            what="the bell opening the sit",
        )
        before_restart = await r.run()
        assert before_restart.phase == "silent_sit" and before_restart.choice == "silent:10"
        assert muted(sam)

    await jonas.join_voice(VOICE)  # while the bot is away
    # On the class: the second bot greets who is present as it starts, before a test could patch its runner.
    greeted = completions(monkeypatch, SessionRunner, "member_joined")
    async with practice_bot(sandbox, room_config) as bot:
        run = await bot.core.db.get_run(session.id)
        assert run is not None and run.phase == "silent_sit" and run.phase_ends_at == before_restart.phase_ends_at
        pending = bot.core.timers.pending()
        assert pending[f"sit:{session.id}"] == run.phase_ends_at, "the bell that ends the sit is re-armed"
        assert pending[f"close:{session.id}"] == session.end_utc, "and so is the close"
        for _ in (sam, jonas):
            await handled(greeted)
        assert muted(jonas), "who came while the bot was away is silenced too"
        assert muted(sam)
        resumed = await bot.core.db.get_run(session.id)
        assert resumed is not None and sorted(resumed.restrictions["muted"]) == sorted([sam.id, jonas.id])

        await bot.core.runner.close(session.id)
        assert overwrites(sandbox, VOICE) == overwrites_before
        assert not muted(sam) and not muted(jonas)
        assert sandbox.world.voice_state(sandbox.world.bot_user.id) is None
    assert not any(member.mute for member in sandbox.world.guild.members.values())
    assert not any(state.suppress for state in sandbox.world.guild.voice_states.values())


async def test_two_choices_at_once_only_the_first_runs(room: Room) -> None:
    r = room
    sam, priya = r.sandbox.person("sam"), r.sandbox.person("priya")
    await sam.join_voice(STAGE)
    await priya.join_voice(STAGE)
    choice_message = await r.start()

    # Both interactions are on their way before the bot answers either.
    handles = [
        await priya.choose(choice_message, f"pc:play:{r.session.id}", [r.practice_id]),
        await sam.press_button(choice_message, f"pc:sit:{r.session.id}:10"),
    ]
    replies = [await handle.response() for handle in handles]
    assert all(reply.ephemeral for reply in replies)
    thanked = [reply for reply in replies if reply.content.startswith("Thank you — we will share")]
    declined = [reply for reply in replies if reply.content == texts.CHOICE_ALREADY_MADE]
    assert len(thanked) == 1 and len(declined) == 1

    run = await r.run()
    made = [m.content for m in r.messages() if m.content.startswith("Thank you. We will now share")]
    assert len(made) == 1
    followed = r.practice if run.choice == f"recording:{r.practice_id}" else r.bell
    assert run.choice in (f"recording:{r.practice_id}", "silent:10")
    expected = ogg_opus_packets(r.welcome) + ogg_opus_packets(followed)
    await frames_until(
        r,
        lambda frames: sum(not f.is_silence for f in frames) >= len(expected) and ends_in_silence(frames),
        timeout=5,
        what="the chosen audio",
    )
    assert bot_packets(r) == expected, "only the first choice was followed"


async def test_a_late_choice_is_declined_kindly_and_self_care_is_offered_privately(room: Room) -> None:
    r = room
    sam, priya = r.sandbox.person("sam"), r.sandbox.person("priya")
    await sam.join_voice(STAGE)
    await priya.join_voice(STAGE)
    choice_message = await r.start()

    await r.bot.core.runner.choice_timeout(r.session.id)  # what the choice timer runs
    minutes = r.config.sessions.default_silent_sit_minutes
    assert r.posted(texts.CHOICE_DEFAULT.format(minutes=minutes))
    late_sit = await (await sam.press_button(choice_message, f"pc:sit:{r.session.id}:20")).response()
    late_recording = await (await priya.choose(choice_message, f"pc:play:{r.session.id}", [r.practice_id])).response()
    for late in (late_sit, late_recording):
        assert late.ephemeral and late.content == texts.CHOICE_ALREADY_MADE
    run = await r.run()
    assert run.phase == "silent_sit" and run.choice == f"silent:{minutes}"
    assert not any(m.content.startswith("Thank you. We will now share") for m in r.messages())

    card = next(m for m in r.messages() if m.embeds)
    for message in (card, choice_message):
        care = await (await priya.press_button(message, f"pc:care:{r.session.id}")).response()
        assert care.ephemeral
        assert texts.SELF_CARE_INTRO in care.content and "free to leave" in care.content
        assert all(idea in care.content for idea in texts.SELF_CARE_IDEAS)
