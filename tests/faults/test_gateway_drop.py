"""Gateway drop mid-session: after a RESUME, or an invalid session and a new IDENTIFY, the session carries on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot import texts
from bot.storage import Database
from loopback import Sandbox, World
from loopback.capture import ogg_opus_packets
from loopback.harness import config_for_world, practice_bot
from tests.faults.support import recordings_with_short_tones

SILENCE = b"\xf8\xff\xfe"


@pytest.mark.parametrize("resumable", [True, False], ids=["resumed", "identified-again"])
async def test_gateway_drop_mid_practice_session_carries_on_and_restores_at_close(
    tmp_path: Path, resumable: bool
) -> None:
    world = World.default()
    data = tmp_path / "practice"
    config = config_for_world(
        world,
        data,
        recordings_file=recordings_with_short_tones(data, tmp_path, practice_seconds=4.0),
        sections={"sessions": {"grace_minutes": 0, "open_minutes_before": 0, "lock_chat": True}},
    )
    quiet = world.find_channel("Quiet Sitting")
    async with Database.open(config.storage.database) as db:
        # Begun 40 seconds ago and one minute long: it runs as the bot starts and closes 20 seconds later.
        session = await db.add_one_off(
            start=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=40),
            duration_minutes=1,
            channel_id=quiet.id,
            title="Drop-in sit",
        )

    async with Sandbox(world) as sandbox:
        assert sandbox.voice is not None
        capture = sandbox.voice.capture
        bot_id = world.bot_user.id
        sam, priya, jonas = sandbox.person("sam"), sandbox.person("priya"), sandbox.person("jonas")
        await sam.join_voice(quiet)
        await priya.join_voice(quiet)
        overwrites_before = dict(quiet.overwrites)

        def posted(text: str) -> bool:
            return any(m.content.startswith(text) for m in sandbox.channel_messages(quiet))

        async with practice_bot(sandbox, config) as bot:
            recordings = bot.core.recordings
            welcome = ogg_opus_packets(recordings.by_kind("welcome-reading")[0].path)
            practice = recordings.by_kind("practice")[0]
            await sandbox.wait_until(lambda: posted(texts.CHOICE_PROMPT), timeout=15, what="the choice")
            prompt = next(m for m in sandbox.channel_messages(quiet) if m.content == texts.CHOICE_PROMPT)
            await (await priya.choose(prompt, f"pc:play:{session.id}", [practice.id])).response()
            # A second into the practice recording, the gateway goes away; someone joins meanwhile.
            await capture.wait_for_frames(len(welcome) + 50, timeout=10, user_id=bot_id)
            async with sandbox.gateway_outage(resumable=resumable):
                await jonas.join_voice(quiet)
            if resumable:
                await sandbox.wait_for_resume(1)
            else:
                await sandbox.wait_for_ready(2)
            run = await bot.core.db.get_run(session.id)
            assert run is not None and run.phase in ("recording", "resting"), "the practice carries on through the drop"
            # The newcomer is kept quiet like everyone else while the bot leads.
            await sandbox.wait_until(
                lambda: jonas.voice_state is not None and jonas.voice_state.mute, timeout=10, what="jonas muted"
            )
            await sandbox.wait_until(lambda: posted(texts.PRACTICE_ENDED), timeout=15, what="the practice to end")
            await sandbox.wait_until(lambda: posted("This session has closed"), timeout=30, what="the close")
            run = await bot.core.db.get_run(session.id)

        cards = [m for m in sandbox.channel_messages(quiet) if m.embeds and m.component_named(f"pc:care:{session.id}")]
        assert len(cards) == 1, "one session card, though the open and begin steps fell due together"
        packets = [p for p in capture.opus_packets(bot_id) if p != SILENCE]
        assert packets == welcome + ogg_opus_packets(practice.path), "every frame, once, in order"
        assert sandbox.signals.counts["identify"] == (1 if resumable else 2)
        assert run is not None and run.phase == "closed" and run.restrictions == {}
        assert dict(quiet.overwrites) == overwrites_before
        for person in (sam, priya, jonas):
            assert person.voice_state is not None and not person.voice_state.mute, f"{person.name} is unmuted"
        assert sandbox.spec_violations == [] and sandbox.unknown_routes == []
