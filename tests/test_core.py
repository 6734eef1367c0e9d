"""The assembled core: the spoken welcome reading is prepared at start-up, never first at session time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.core import Core
from bot.media.recordings import load_recordings
from bot.storage import Database
from loopback import World
from loopback.harness import config_for_world
from tests.fakes import FakeRoom
from tests.services.test_session_service import Clock, FakeDiscord


async def test_start_up_synthesises_the_welcome_reading_once(tmp_path: Path) -> None:
    config = config_for_world(World.default(), tmp_path / "practice", welcome_reading=False)
    catalog = load_recordings(config.recordings.file)
    assert catalog.by_kind("welcome-reading") == []
    clock = Clock()
    db = await Database.open(config.storage.database, clock=clock)
    fake = FakeDiscord()
    core = Core.assemble(config, db, catalog, messenger=fake, announcer=fake, room=FakeRoom(), clock=clock)
    await core.start()
    readings = core.recordings.by_kind("welcome-reading")
    assert [r.id for r in readings] == ["welcome-reading-en"]
    assert load_recordings(config.recordings.file).by_kind("welcome-reading"), "pinned in recordings.yaml"
    listed = Path(config.recordings.file).read_bytes()
    assert await core.ensure_welcome_reading() is None
    assert Path(config.recordings.file).read_bytes() == listed, "a second time adds nothing"
    assert fake.posts == [], "nothing to tell the coordinators"
    core.stop()
    await db.close()


async def test_a_welcome_reading_that_cannot_be_saved_still_lets_sessions_open(tmp_path: Path) -> None:
    config = config_for_world(World.default(), tmp_path / "practice", welcome_reading=False)
    # Something already stands where the reading's audio would go, so it cannot be saved.
    (Path(config.recordings.file).parent / "audio" / "welcome-reading-en.ogg").mkdir(parents=True)
    clock = Clock()
    db = await Database.open(config.storage.database, clock=clock)
    fake = FakeDiscord()
    room = FakeRoom()
    core = Core.assemble(
        config, db, load_recordings(config.recordings.file), messenger=fake, announcer=fake, room=room, clock=clock
    )
    await core.start()
    told = [post for post in fake.posts if "spoken welcome reading could not be prepared" in post]
    assert len(told) == 1 and "python -m bot check" in told[0], "the coordinators are told once, with what to do"
    session = await db.add_one_off(
        start=clock.now + dt.timedelta(minutes=1), duration_minutes=30, channel_id=1, title="Sit"
    )
    await core.runner.open(session.id)
    await core.runner.begin(session.id)
    opened = await db.get_occurrence(session.id)
    assert opened is not None and opened.status == "no_teacher"
    assert room.posts[0].startswith("On behalf of CMSC"), "the written welcome"
    assert room.played == [] and room.choices_offered == 1
    core.stop()
    await db.close()
