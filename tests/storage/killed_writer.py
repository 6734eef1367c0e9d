"""Test helper run as a subprocess: writes many rows in one transaction and waits to be killed.

Usage: python killed_writer.py DB_PATH TOTAL_ROWS

Prints "half" (flushed) once half the rows are written inside the still-open transaction, then
blocks on stdin so the test can SIGKILL it at exactly that point.
"""

from __future__ import annotations

import asyncio
import sys

from bot.storage import Database


async def main(path: str, total: int) -> None:
    db = await Database.open(path)
    # Rows big enough that SQLite's page cache overflows and uncommitted pages reach the WAL file.
    text = "x" * 4000
    async with db.transaction():
        for number in range(total):
            await db.add_feedback(number, text)
            if number + 1 == total // 2:
                print("half", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
    print("committed", flush=True)
    await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
