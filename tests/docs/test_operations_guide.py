"""docs/operations.md's upgrade, backup and restore run as written, read from the document itself.

The shell blocks are taken out of the guide at test time, so the guide cannot drift from what is
tested. Each runs in bash, line by line with `set -e`, in a real install: a git clone of this
checkout with its own virtualenv, a config.toml for the loopback Discord's world, and the real bot
running as "the service". Three things differ from a real machine, and only these:

- the install lives in a temporary folder, not /opt/practice-circles, and the token file is a
  temporary file, not /etc/practice-circles.token: the guide's paths are replaced by those;
- `sudo` runs the command as the test's own user (the test cannot switch users);
- `systemctl start|stop|restart practice-circles` is a small stand-in that starts `python -m bot run`
  from the install, as the unit in section 3 does, and stops it with SIGTERM, as systemd does.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage import Database, load_migrations
from loopback import Sandbox
from loopback.harness import config_for_world
from tests.adapters.test_server_check import LINKS

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "operations.md"
INSTALL, TOKEN_FILE = "/opt/practice-circles", "/etc/practice-circles.token"
SCHEMA = load_migrations()[-1].version

SUDO = """\
#!/bin/bash
# Test stand-in for sudo: the test cannot switch users, so it runs the command as itself.
if [ "$1" = "-u" ]; then shift 2; fi
exec "$@"
"""

SYSTEMCTL = '''\
#!{python}
"""Test stand-in for systemctl: start/stop/restart the bot as the unit in docs/operations.md does."""
import os, signal, subprocess, sys, time
from pathlib import Path

state = Path(os.environ["PC_SHIM_STATE"])
install = Path(os.environ["PC_INSTALL"])
pid_file = state / "bot.pid"
verb = sys.argv[1]
with (state / "calls").open("a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")

def running():
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    try:
        status = Path(f"/proc/{{pid}}/status").read_text()
    except FileNotFoundError:
        return None
    return None if "State:\\tZ" in status else pid

def stop():
    pid = running()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _ in range(400):
            if running() is None:
                break
            time.sleep(0.05)
    pid_file.unlink(missing_ok=True)

def start():
    if running() is not None:
        return
    env = {{k: v for k, v in os.environ.items() if not k.startswith("PC_")}}
    env["DISCORD_TOKEN_FILE"] = os.environ["PC_TOKEN_FILE"]
    with (state / "bot.log").open("ab") as log:
        process = subprocess.Popen(
            [str(install / ".venv/bin/python"), "-m", "bot", "run", "--config", str(install / "config.toml")],
            cwd=install, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
    pid_file.write_text(str(process.pid))

if sys.argv[2:] != ["practice-circles"]:
    sys.exit(f"systemctl stand-in: unexpected {{sys.argv[1:]}}")
{{"start": start, "stop": stop, "restart": lambda: (stop(), start())}}[verb]()
'''


def section(title: str) -> str:
    """The text of the guide's section whose heading starts with `title` (e.g. '4. Upgrading')."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"docs/operations.md has no section '{title}'"
    return match.group(0)


def blocks(text: str, language: str = "sh") -> list[str]:
    """The fenced code blocks of one language ('' for plain fences) in a piece of the guide."""
    found: list[str] = []
    current: list[str] | None = None
    kind = ""
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current, kind = [], line[3:].strip()
            else:
                if kind == language:
                    found.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return found


@dataclass
class Install:
    """A checkout installed as the guide says, the bot's service stand-in, and how to run guide lines."""

    root: Path
    source: Path
    state: Path
    env: dict[str, str]
    sandbox: Sandbox

    @property
    def database(self) -> Path:
        return self.root / "data" / "practice-circles.sqlite3"

    @property
    def backups(self) -> Path:
        return self.root / "data" / "backups"

    def calls(self) -> list[str]:
        calls = self.state / "calls"
        return calls.read_text().splitlines() if calls.exists() else []

    async def run(self, script: str) -> str:
        """Run guide lines in bash as written (after the path substitution); fail on the first error."""
        script = script.replace(INSTALL, str(self.root)).replace(TOKEN_FILE, self.env["PC_TOKEN_FILE"])
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-e",
            "-x",
            "-c",
            script,
            cwd=self.root,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
        output = out.decode(errors="replace")
        log = (self.state / "bot.log").read_text(errors="replace") if (self.state / "bot.log").exists() else ""
        assert process.returncode == 0, f"a line of the guide failed:\n{output}\n--- bot log ---\n{log[-3000:]}"
        return output

    async def feedback_count(self) -> int:
        """How many pieces of feedback the database holds (read beside the running bot)."""
        async with Database.open(self.database, exclusive=False, migrate=False) as db:
            return await db.count_feedback()

    async def add_feedback(self, text: str) -> None:
        """Write to the database beside the running bot, as members' feedback would."""
        async with Database.open(self.database, exclusive=False, migrate=False) as db:
            await db.add_feedback(1, text)


def git(*args: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def clone_and_set_up(tmp_path: Path) -> tuple[Path, Path]:
    """This checkout (as it is now, committed or not) in a git repository, and a clone of it with a venv."""
    source = tmp_path / "source"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    git("init", "-q", "-b", "main", cwd=source)
    git("add", "-A", cwd=source)
    git("commit", "-q", "-m", "the version that is running", cwd=source)
    root = tmp_path / "practice-circles"
    git("clone", "-q", str(source), str(root), cwd=tmp_path)
    # A virtualenv that borrows this checkout's installed libraries, so set-up needs no downloads.
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True, timeout=120)
    borrowed = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    [site] = (root / ".venv" / "lib").glob("python3*/site-packages")
    (site / "borrowed-libraries.pth").write_text(f"{borrowed}\n")
    return source, root


@pytest.fixture
async def install(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Install]:
    """A clone of this checkout set up as the guide's install, configured for the loopback Discord's world."""
    source, root = await asyncio.to_thread(clone_and_set_up, tmp_path)
    config_for_world(
        sandbox.world,
        root,
        recordings_file=root / "recordings.yaml",
        sections={"links": LINKS, "storage": {"database": "data/practice-circles.sqlite3"}},
    )
    token = tmp_path / "secrets" / "practice-circles.token"
    token.parent.mkdir()
    token.write_text(sandbox.world.bot_token + "\n")
    token.chmod(0o600)
    shims, state = tmp_path / "shims", tmp_path / "service"
    shims.mkdir()
    state.mkdir()
    (shims / "sudo").write_text(SUDO)
    (shims / "systemctl").write_text(SYSTEMCTL.format(python=sys.executable))
    for shim in shims.iterdir():
        shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_")}
    env |= {
        "PATH": f"{shims}:{os.environ['PATH']}",
        "PC_SHIM_STATE": str(state),
        "PC_INSTALL": str(root),
        "PC_TOKEN_FILE": str(token),
        "DISCORD_API_BASE_URL": sandbox.api_base_url,
        "DISCORD_GATEWAY_URL": sandbox.gateway_url,
        "PYTHONUNBUFFERED": "1",
    }
    installed = Install(root, source, state, env, sandbox)
    try:
        yield installed
    finally:
        await installed.run("systemctl stop practice-circles")
        pid = state / "bot.pid"
        if pid.exists():  # the stand-in could not stop it: do not leave it behind
            os.kill(int(pid.read_text()), signal.SIGKILL)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def schema_of(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


async def test_the_upgrade_runs_as_written(install: Install) -> None:
    sandbox = install.sandbox
    await install.run("systemctl start practice-circles")
    await sandbox.wait_for_ready(1, timeout=60)
    await sandbox.wait_until(install.database.exists, timeout=30, what="the bot to make its database")
    await install.add_feedback("written before the upgrade")
    # The next release adds a migration.
    migration = install.source / "bot" / "storage" / "migrations" / f"{SCHEMA + 1:04d}_upgrade_probe.sql"
    migration.write_text("CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY);\n")
    git("add", "-A", cwd=install.source)
    git("commit", "-q", "-m", "the next release", cwd=install.source)

    [upgrade] = blocks(section("4. Upgrading"))
    output = await install.run(upgrade)

    assert install.calls() == ["start practice-circles", "stop practice-circles", "start practice-circles"]
    await sandbox.wait_for_ready(2, timeout=60)
    assert f"schema {SCHEMA + 1}, integrity ok" in output, "check applied the new migration"
    [backup] = sorted(install.backups.glob("practice-circles-*.sqlite3"))
    assert schema_of(backup) == SCHEMA and mode(backup) == 0o600, "the backup is of the database before it"
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT text FROM feedback").fetchall() == [("written before the upgrade",)]
    # (This test's own code is the older release: it refuses the upgraded database, as it should.)
    assert schema_of(install.database) == SCHEMA + 1
    with sqlite3.connect(install.database) as upgraded:
        assert upgraded.execute("SELECT count(*) FROM upgrade_probe").fetchone() == (0,)
        assert upgraded.execute("SELECT count(*) FROM feedback").fetchone() == (1,)
    for path in (install.database, *install.database.parent.glob("practice-circles.sqlite3-*")):
        assert mode(path) == 0o600, path.name


async def test_backup_the_nightly_line_and_restore_run_as_written(install: Install) -> None:
    sandbox = install.sandbox
    await install.run("systemctl start practice-circles")
    await sandbox.wait_for_ready(1, timeout=60)
    await sandbox.wait_until(install.database.exists, timeout=30, what="the bot to make its database")
    await install.add_feedback("kept by the backup")

    backing_up, restoring = blocks(section("5. Backing up"))
    output = await install.run(backing_up)
    assert "integrity check: ok" in output
    [taken] = install.backups.glob("practice-circles-*.sqlite3")
    assert mode(taken) == 0o600 and mode(install.backups) == 0o700
    # The guide restores a backup by the name it would have had on a night in November.
    named = re.search(r"--from (\S+)", restoring)
    assert named, "the restore names a backup"
    taken.rename(install.root / named.group(1))

    await install.add_feedback("written after the backup")
    [nightly] = [block.strip() for block in blocks(section("5. Backing up"), "") if "* * *" in block]
    *schedule, command = nightly.split(None, 5)
    assert schedule == ["0", "3", "*", "*", "*"]
    assert "%" not in command, "cron would read % as a line break"
    await install.run(command)
    assert len(list(install.backups.glob("practice-circles-*.sqlite3"))) == 2, "the nightly line added one"

    output = await install.run(restoring)
    assert "2 backup(s) in" in output and named.group(1).rsplit("/", 1)[-1] in output
    assert "Restored" in output
    assert install.calls() == ["start practice-circles", "stop practice-circles", "start practice-circles"]
    await sandbox.wait_for_ready(2, timeout=60)
    assert await install.feedback_count() == 1, "the database is the backup's again"
    [aside] = install.backups.glob("before-restore-*.sqlite3")
    with sqlite3.connect(aside) as kept:
        assert kept.execute("SELECT count(*) FROM feedback").fetchone()[0] == 2, "nothing was lost"
    assert mode(aside) == 0o600 and mode(install.database) == 0o600


async def test_check_live_runs_as_written(install: Install) -> None:
    [live] = [b for b in blocks(section("2. Configure")) if "--live" in b]
    output = await install.run(live)
    assert "[ok ] server" in output and "every channel, role and permission the bot needs is in place" in output
    assert install.sandbox.world.bot_token not in output
