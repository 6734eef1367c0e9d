"""The session room with the real bot on the loopback Discord: no-teacher sessions, teachers, restarts."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import PracticeCirclesBot
from bot.config import Config
from bot.recordings import add_recording
from bot.sandbox import Sandbox
from bot.sandbox.capture import ogg_opus_packets
from bot.sandbox.harness import config_for_world, copy_shipped_recordings, practice_bot
from bot.storage import OccurrenceRow

SILENCE = b"\xf8\xff\xfe"


def tone(path: Path, seconds: float, frequency: int) -> Path:
    """A short Ogg/Opus tone made with sox and ffmpeg (no audio is committed)."""
    wav = path.with_suffix(".wav")
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "2", str(wav), "synth", str(seconds), "sine", str(frequency), "vol", "0.3"],
        check=True,
        capture_output=True,
    )
    return wav


@dataclass
class Room:
    sandbox: Sandbox
    bot: PracticeCirclesBot
    session: OccurrenceRow
    config: Config
    welcome: Path
    practice: Path


@pytest.fixture
def room_config(sandbox: Sandbox, tmp_path: Path) -> Config:
    """Config with a short welcome reading and one short practice recording in the allow-list."""
    data = tmp_path / "practice"
    recordings = copy_shipped_recordings(data)
    for title, kind, seconds, frequency in (
        ("Welcome words (short test reading)", "welcome-reading", 1.2, 330),
        ("Affectionate Breathing (test)", "practice", 1.6, 440),
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


@pytest.fixture
async def room(sandbox: Sandbox, room_config: Config) -> AsyncIterator[Room]:
    async with practice_bot(sandbox, room_config) as bot:
        stage = sandbox.world.find_channel("Practice Circle")
        start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        session = await bot.core.db.add_one_off(start=start, duration_minutes=30, channel_id=stage.id, title="Evening")
        catalog = bot.core.recordings
        yield Room(
            sandbox,
            bot,
            session,
            room_config,
            catalog.by_kind("welcome-reading")[0].path,
            catalog.by_kind("practice")[0].path,
        )


def bot_packets(r: Room) -> list[bytes]:
    assert r.sandbox.voice is not None
    packets = r.sandbox.voice.capture.opus_packets(r.sandbox.world.bot_user.id)
    return [packet for packet in packets if packet != SILENCE]


async def test_no_teacher_welcome_then_chosen_recording_and_nobody_else_speaks(room: Room) -> None:
    r = room
    sam, priya = r.sandbox.person("sam"), r.sandbox.person("priya")
    await sam.join_voice("Practice Circle")
    await priya.join_voice("Practice Circle")
    overwrites_before = dict(r.sandbox.world.find_channel("Practice Circle").overwrites)

    await r.bot.core.runner.open(r.session.id)
    await r.bot.core.runner.begin(r.session.id)

    messages = r.sandbox.channel_messages("Practice Circle")
    assert any(m.content.startswith("On behalf of CMSC, welcome to this practice session.") for m in messages)
    choice_message = next(m for m in messages if "pc:play:" in str(m.components))
    await sam.request_to_speak()
    assert not await priya.try_unmute(), "participants stay silent while the bot leads"
    handle = await priya.choose(
        choice_message, f"pc:play:{r.session.id}", [r.bot.core.recordings.by_kind("practice")[0].id]
    )
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
    assert any("nobody leads the practice" in m.content for m in r.sandbox.channel_messages("Practice Circle"))

    await r.bot.core.runner.close(r.session.id)
    assert dict(r.sandbox.world.find_channel("Practice Circle").overwrites) == overwrites_before
    closing = r.sandbox.channel_messages("Practice Circle")[-1].content
    assert "https://donate.example.org/msc" in closing and "https://share.example.org/practice-circles" in closing
