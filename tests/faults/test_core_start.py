"""A core that cannot start stops the bot with a non-zero exit and says why, so the service manager restarts it.

Here the database stays locked by another program (a `sqlite3` shell left in a write transaction,
say) for longer than the bot's busy timeout, so rebuilding the timers at start-up fails after the
bot has connected to Discord. Connected with no timers, the bot would answer nobody's reminders
while looking alive; instead it exits with status 2, naming the cause, and systemd's
Restart=on-failure starts it again, which works once the lock is gone.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.storage import Database
from loopback import Sandbox, World
from loopback.harness import config_for_world
from tests.faults.support import READY_LINE, BotProcess


async def test_a_core_that_cannot_start_exits_non_zero_saying_why_and_a_restart_recovers(tmp_path: Path) -> None:
    world = World.default()
    config = config_for_world(world, tmp_path / "practice")
    config_path = tmp_path / "practice" / "config.toml"
    database = config.storage.database
    async with Database.open(database):
        pass  # the bot's database exists and is current, as after any earlier run

    async with Sandbox(world) as sandbox:
        with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as other_program:
            other_program.execute("BEGIN IMMEDIATE")  # holds the write lock past the bot's busy timeout
            failed = await BotProcess(sandbox, config_path).start()
            try:
                code = await failed.wait_exit(timeout=40)
            finally:
                failed.kill()  # a bot that stayed up (the fault this test guards against) is not left behind
            other_program.execute("ROLLBACK")
        log = failed.log_text()
        assert code == 2, log[-3000:]
        assert sandbox.signals.counts["identify"] >= 1, "it had connected to Discord before the core failed"
        assert "the core could not start, so the bot stops" in log
        assert "stayed locked by another process" in log, "the log says why"
        assert "error: the bot connected to Discord but could not start its timers" in log
        assert READY_LINE not in log

        # What Restart=on-failure does next: the same command again, now that the lock is gone.
        restarted = await BotProcess(sandbox, config_path).start()
        await restarted.wait_for_line(READY_LINE, timeout=30)
        assert await restarted.stop() in (0, 130)
