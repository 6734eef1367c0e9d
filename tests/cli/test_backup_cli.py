"""`python -m bot backup` copies a consistent database while the bot holds it open and keeps writing."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import Database
from loopback import World
from loopback.harness import config_for_world


async def test_backup_while_the_bot_writes(tmp_path: Path) -> None:
    config = config_for_world(World.default(), tmp_path / "practice")
    db = await Database.open(config.storage.database)  # the running bot's exclusive handle
    start = dt.datetime(2030, 1, 7, 18, tzinfo=dt.UTC)
    session = await db.add_one_off(start=start, duration_minutes=30, channel_id=1, title="Sit")
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set():
            await db.sign_up(session.id, 1000 + written)
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.create_task(keep_writing())
    target = tmp_path / "backup.sqlite3"
    code = await asyncio.to_thread(
        main, ["backup", "--config", str(tmp_path / "practice" / "config.toml"), "--to", str(target)]
    )
    stop.set()
    written = await writer
    await db.close()
    assert code == 0 and written > 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM occurrences").fetchone()[0] == 1
        assert 0 <= copy.execute("SELECT count(*) FROM signups").fetchone()[0] <= written
    assert not (tmp_path / "backup.sqlite3.partial").exists()


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_for_world(World.default(), tmp_path / "practice")
    target = tmp_path / "exists.sqlite3"
    target.write_bytes(b"keep me")
    assert main(["backup", "--config", str(tmp_path / "practice" / "config.toml"), "--to", str(target)]) == 2
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
