"""The assembled core: the spoken welcome reading is prepared once, when a session first needs it."""

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


async def test_opening_a_session_synthesises_the_welcome_reading_once(tmp_path: Path) -> None:
    config = config_for_world(World.default(), tmp_path / "practice")
    catalog = load_recordings(config.recordings.file)
    assert catalog.by_kind("welcome-reading") == []
    clock = Clock()
    db = await Database.open(config.storage.database, clock=clock)
    fake = FakeDiscord()
    core = Core.assemble(config, db, catalog, messenger=fake, announcer=fake, room=FakeRoom(), clock=clock)
    session = await db.add_one_off(
        start=clock.now + dt.timedelta(minutes=10), duration_minutes=30, channel_id=1, title="Sit"
    )
    await core.runner.open(session.id)
    readings = core.recordings.by_kind("welcome-reading")
    assert [r.id for r in readings] == ["welcome-reading-en"]
    assert load_recordings(config.recordings.file).by_kind("welcome-reading"), "pinned in recordings.yaml"
    listed = Path(config.recordings.file).read_bytes()
    await core.ensure_welcome_reading()
    assert Path(config.recordings.file).read_bytes() == listed, "a second time adds nothing"
    core.stop()
    await db.close()
