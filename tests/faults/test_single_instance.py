"""One instance: a second bot on the same database refuses to start, saying which database and why."""

from __future__ import annotations

from pathlib import Path

from loopback import Sandbox, World
from loopback.harness import config_for_world
from tests.faults.support import READY_LINE, BotProcess


async def test_a_second_bot_on_the_same_database_refuses_clearly_and_the_first_carries_on(tmp_path: Path) -> None:
    world = World.default()
    config = config_for_world(world, tmp_path / "practice")
    config_path = tmp_path / "practice" / "config.toml"
    database = config.storage.database
    async with Sandbox(world) as sandbox:
        first = await BotProcess(sandbox, config_path).start()
        await first.wait_for_line(READY_LINE)

        second = await BotProcess(sandbox, config_path).start()
        code = await second.wait_exit(timeout=30)
        refusal = second.log_text()
        assert code != 0
        assert str(database) in refusal
        assert "another Practice Circles instance is already using" in refusal
        assert f"pid {first.pid}" in refusal, "it names the process holding the database"
        assert "Traceback" not in refusal, "a plain message, not a crash"
        assert sandbox.signals.counts["identify"] == 1, "the second never connected to Discord"

        # The first is untouched: it still answers members.
        assert not first.exited
        await sandbox.wait_for_commands("guidelines")
        reply = await (await sandbox.person("sam").run_command("guidelines")).response()
        assert reply.ephemeral and reply.embeds

        # Once the first has died (SIGKILL, no clean-up), the kernel has released its lock: a new bot starts.
        first.kill()
        assert await first.wait_exit() == -9
        third = await BotProcess(sandbox, config_path).start()
        await third.wait_for_line(READY_LINE)
        assert await third.stop() in (0, 130)
    print(f"\nsecond bot: exit code {code}; stderr: {refusal.strip().splitlines()[-1]}")
