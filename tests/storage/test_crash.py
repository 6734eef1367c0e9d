"""A writer killed mid-transaction leaves a consistent database: all of its rows or none."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.storage import Database

HELPER = Path(__file__).with_name("killed_writer.py")
TOTAL = 2000


async def test_sigkill_mid_transaction_leaves_nothing_behind(db_path: Path) -> None:
    async with Database.open(db_path) as db:
        await db.add_feedback(1, "committed before the crash")

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HELPER),
        str(db_path),
        str(TOTAL),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        if line != b"half\n":
            assert process.stderr is not None
            raise AssertionError(f"helper said {line!r}; stderr: {(await process.stderr.read()).decode()}")
        # Half the rows are written but not committed, and some already sit in the WAL file,
        # so the kill lands on a transaction that has touched the disk.
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.stat().st_size > 1_000_000
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # The kernel released the dead writer's flock, so the bot can open the file exclusively again.
    async with Database.open(db_path) as db:
        assert await db.integrity_check() == []
        assert [f.text for f in await db.list_feedback(limit=None)] == ["committed before the crash"]
        await db.add_feedback(2, "the database still takes writes")
        assert await db.count_feedback() == 2
