"""The systemd unit in docs/operations.md, run as written: an unprivileged user, the install folder read-only.

Tests run as root, for whom no permission bit counts, so the bot is started as `nobody` with
setpriv (what `User=` does) and only the unit's `ReadWritePaths` are writable to it (what
`ProtectSystem=strict` leaves). The install prefix /opt/practice-circles becomes a folder of the
test's, the token file one of its own, and the venv's interpreter this one; nothing else changes.
Before issue 9 the session never opened here: saving the synthesised welcome reading next to the
read-only recordings.yaml raised an OSError that nobody caught.
"""

# Waits take a deadline on purpose: a test names how long the bot may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database
from loopback import Sandbox
from loopback.harness import REPO_ROOT, config_for_world

NOBODY = 65534
PREFIX = "/opt/practice-circles"


def documented_unit() -> dict[str, str]:
    """The [Service] keys of the unit in docs/operations.md."""
    text = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    block = re.search(r"```ini\n(.*?)```", text, re.S)
    assert block is not None, "docs/operations.md has a systemd unit"
    service = block.group(1).split("[Service]", 1)[1].split("\n[", 1)[0]
    keys: dict[str, str] = {}
    for line in service.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


@pytest.fixture
def install() -> AsyncIterator[Path]:
    """A folder everyone may read and only root may write (not pytest's tmp_path: that is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="practice-circles-unit-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
async def test_the_documented_unit_runs_with_a_read_only_install_and_sessions_still_open(
    sandbox: Sandbox, install: Path
) -> None:
    unit = documented_unit()
    assert unit["User"] != "root" and unit.get("ProtectSystem") == "strict"
    writable = [Path(p.replace(PREFIX, str(install))) for p in unit["ReadWritePaths"].split()]
    assert all(str(p).startswith(str(install)) for p in writable)

    # The install: config, recordings.yaml and audio as shipped (no welcome reading yet), read-only.
    data = install / "data"
    config = config_for_world(
        sandbox.world,
        data,
        sections={"sessions": {"grace_minutes": 0, "open_minutes_before": 0}},
        welcome_reading=False,
    )
    for name in ("recordings.yaml", "audio"):
        shutil.move(str(data / name), str(install / name))
    shutil.move(str(data / "config.toml"), str(install / "config.toml"))
    config_text = (install / "config.toml").read_text(encoding="utf-8")
    config_text = config_text.replace(str(data / "recordings.yaml"), str(install / "recordings.yaml"))
    (install / "config.toml").write_text(config_text, encoding="utf-8")
    listed_before = (install / "recordings.yaml").read_bytes()

    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=12)
    async with Database.open(config.storage.database) as db:
        session = await db.add_one_off(
            start=start, duration_minutes=30, channel_id=sandbox.world.find_channel("Practice Circle").id, title="Dawn"
        )
    for root, dirs, files in os.walk(install):
        for name in dirs:
            Path(root, name).chmod(0o755)
        for name in files:
            Path(root, name).chmod(0o644)
    for path in writable:
        for root, _, files in os.walk(path):
            os.chown(root, NOBODY, NOBODY)
            for name in files:
                os.chown(Path(root, name), NOBODY, NOBODY)
    token_file = install / "token"
    token_file.write_text(sandbox.world.bot_token, encoding="utf-8")
    token_file.chmod(0o600)
    os.chown(token_file, NOBODY, NOBODY)

    environment = dict(item.split("=", 1) for item in shlex.split(unit.get("Environment", "")))
    environment = {k: v.replace("/etc/practice-circles.token", str(token_file)) for k, v in environment.items()}
    command = shlex.split(unit["ExecStart"].replace(f"{PREFIX}/.venv/bin/python", sys.executable))
    command = [part.replace(PREFIX, str(install)) for part in command]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(data),
        "PYTHONDONTWRITEBYTECODE": "1",
        # The code is the checkout's, as in the install (read-only to the service user too).
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "DISCORD_API_BASE_URL": sandbox.api_base_url,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        **environment,
    }
    log = (install / "bot.log").open("wb")  # opened by root: the bot only inherits it
    process = await asyncio.create_subprocess_exec(
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--no-new-privs",
        *command,
        cwd=unit["WorkingDirectory"].replace(PREFIX, str(install)),
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    try:
        assert not os.access(install / "recordings.yaml", os.W_OK) or os.geteuid() == 0
        coordinators = sandbox.world.find_channel("coordinators")
        stage = sandbox.world.find_channel("Practice Circle")

        def told() -> list[str]:
            return [m.content for m in sandbox.world.history(coordinators.id) if "spoken welcome reading" in m.content]

        await sandbox.wait_until(
            lambda: told() or process.returncode is not None,
            timeout=30,
            what="the coordinators told why there is no reading",
        )
        assert process.returncode is None, (install / "bot.log").read_text(errors="replace")[-3000:]
        await sandbox.wait_until(
            lambda: any(m.content.startswith("On behalf of CMSC") for m in sandbox.world.history(stage.id)),
            timeout=60,
            what="the written welcome in the session's chat",
        )
        await sandbox.wait_until(
            lambda: any("pc:play:" in str(m.components) for m in sandbox.world.history(stage.id)),
            timeout=10,
            what="the choice offered",
        )
        assert len(told()) == 1 and "Permission denied" in told()[0], "told once, with the reason"
        assert (install / "recordings.yaml").read_bytes() == listed_before, "the install was not written"
        assert any(m.embeds for m in sandbox.world.history(stage.id)), "the session card was posted"
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()
    assert session.id
