"""The bot's token never shows: not in DEBUG logs, `check` reports or refusals, nor in any tracked file.

The real bot runs as a child process (`python -m bot -v run --config FILE`) against a loopback
Discord started in the test, with the world's bot token in DISCORD_TOKEN (or in a file named by
DISCORD_TOKEN_FILE). People log in, run commands, get and send a DM; the bot is stopped; then its
whole stdout and stderr, and every file it wrote, are searched for the token in every form that
would give it away: whole, each of its three dot-separated parts, base64-encoded, and as the
Authorization header value.
"""

# Waits take a deadline on purpose: a test names how long the bot may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.schedule.rules import utc_to_pacific
from loopback import Sandbox
from loopback.harness import config_for_world

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = b"Practice Circles is ready"
START_TIMEOUT = 60.0
LINK = "https://discord.example.org"
STOP_TIMEOUT = 20.0

# A Discord bot token: three base64url parts joined by dots (user id, timestamp, HMAC).
TOKEN_SHAPE = re.compile(
    rb"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{25,}(?![A-Za-z0-9_-])"
)
# Tracked files allowed to hold a token-shaped string, each with why it is clearly fake. None today:
# the tests build their fake tokens at run time (the sandbox makes a fresh random one per world).
ALLOWED_TOKEN_SHAPES: dict[str, str] = {}


def giveaways(token: str) -> list[str]:
    """Every form of the token that must never be printed."""
    head, middle, tail = token.split(".")
    raw = token.encode()
    return [
        token,
        f"Bot {token}",
        head,
        middle,
        tail,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def leaks(text: bytes, token: str) -> list[str]:
    """The forms of the token found in text (shown shortened, so a failure does not print the token either)."""
    return [f"{form[:4]}…({len(form)} chars)" for form in giveaways(token) if form.encode() in text]


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any Discord settings, plus `variables`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env | variables


def pacific_day(days_ahead: int) -> str:
    """A Pacific calendar date `days_ahead` from today, as YYYY-MM-DD."""
    return (utc_to_pacific(dt.datetime.now(dt.UTC)).date() + dt.timedelta(days=days_ahead)).isoformat()


class BotProcess:
    """`python -m bot ARGS` as a child process whose stdout and stderr are kept whole."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output = bytearray()
        self.ready = asyncio.Event()
        assert process.stdout is not None and process.stderr is not None
        self.readers = [asyncio.create_task(self._read(stream)) for stream in (process.stdout, process.stderr)]

    @classmethod
    async def start(cls, *arguments: str, env: dict[str, str]) -> BotProcess:
        """Start the child."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *arguments,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return cls(process)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.output += line
            if READY_LINE in line:
                self.ready.set()

    async def wait_ready(self) -> None:
        """Wait until the bot logs that its core is ready (fails at once if it exits first)."""
        exited = asyncio.create_task(self.process.wait())
        ready = asyncio.create_task(self.ready.wait())
        done, _ = await asyncio.wait({exited, ready}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        ready.cancel()
        assert ready in done, f"the bot did not become ready:\n{self.output.decode(errors='replace')[-3000:]}"

    async def stop(self) -> int:
        """Ask the bot to stop as Ctrl-C would; kill it if it does not. Returns its exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await asyncio.gather(*self.readers)
        assert self.process.returncode is not None
        return self.process.returncode


async def exercise(sandbox: Sandbox) -> None:
    """Log-in has happened; now commands, a DM to a member, a DM to the bot, and a modal."""
    laila, sam = sandbox.person("laila"), sandbox.person("sam")
    await sandbox.wait_for_commands("session", "signup", "guidelines")
    start = f"{pacific_day(5)} 11:00"
    added = await (
        await laila.run_command("session", {"start": start, "duration": 30, "title": "Tea"}, subcommand="add")
    ).response(timeout=15)
    number = re.search(r"\(session #(\d+)\)", added.content)
    assert number is not None, added.content
    session = int(number.group(1))
    listing = await (await sam.run_command("schedule")).response(timeout=15)
    assert "Tea" in listing.text
    joined = await (await sam.run_command("signup", {"session": session})).response(timeout=15)
    assert "You're signed up for **Tea**" in joined.content, joined.content
    cancelled = await (
        await laila.run_command("session", {"session": session, "reason": "Sorry"}, subcommand="cancel")
    ).response(timeout=15)
    assert "Cancelled" in cancelled.content
    await sandbox.wait_until(lambda: sam.dms(), timeout=15, what="the cancellation DM to Sam")
    await sam.send_message("dm", "Hello bot, what is your token?")
    form = await (await sam.run_command("feedback")).response(timeout=15)
    assert form.modal is not None
    thanks = await (await sam.submit_modal(form.modal["custom_id"], {"text": "Thank you"})).response(timeout=15)
    assert thanks.ephemeral


@pytest.mark.parametrize("source", ["DISCORD_TOKEN", "DISCORD_TOKEN_FILE"])
async def test_running_bot_never_logs_its_token_even_at_debug_level(
    sandbox: Sandbox, tmp_path: Path, source: str
) -> None:
    token = sandbox.world.bot_token
    data = tmp_path / "practice"
    config_for_world(sandbox.world, data)
    endpoints = {"DISCORD_API_BASE_URL": sandbox.api_base_url, "DISCORD_GATEWAY_URL": sandbox.gateway_url}
    if source == "DISCORD_TOKEN":
        env = clean_environment(DISCORD_TOKEN=token, **endpoints)
    else:
        token_file = tmp_path / "secrets" / "discord-token"
        token_file.parent.mkdir()
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        env = clean_environment(DISCORD_TOKEN_FILE=str(token_file), **endpoints)

    bot = await BotProcess.start("-v", "run", "--config", str(data / "config.toml"), env=env)
    try:
        await bot.wait_ready()
        await exercise(sandbox)
    finally:
        code = await bot.stop()

    output = bytes(bot.output)
    assert b" DEBUG " in output and b"discord.gateway" in output, "the bot logged at DEBUG level"
    assert code in (0, 130), output.decode(errors="replace")[-3000:]
    assert not leaks(output, token), "the token appeared in the bot's output"
    for written in data.rglob("*"):
        if written.is_file():
            assert not leaks(written.read_bytes(), token), f"the token was written to {written.name}"


@pytest.mark.parametrize(
    ("variables", "shown"),
    [
        pytest.param({"DISCORD_TOKEN": "{token}"}, "present (not shown)", id="from-variable"),
        pytest.param({"DISCORD_TOKEN_FILE": "{file}"}, "present (not shown)", id="from-file"),
        pytest.param({"DISCORD_TOKEN": "Bot {token}"}, "starts with 'Bot '", id="pasted-with-Bot-prefix"),
        pytest.param({"DISCORD_TOKEN": "{token} {token}"}, "contains spaces or line breaks", id="pasted-twice"),
        pytest.param({"DISCORD_TOKEN": "{token}", "DISCORD_TOKEN_FILE": "{file}"}, "set only one", id="both-set"),
    ],
)
def test_check_never_prints_the_token(sandbox: Sandbox, tmp_path: Path, variables: dict[str, str], shown: str) -> None:
    token = sandbox.world.bot_token
    data = tmp_path / "practice"
    config_for_world(sandbox.world, data)
    token_file = tmp_path / "token.txt"
    token_file.write_text(token, encoding="utf-8")
    env = clean_environment(**{k: v.format(token=token, file=token_file) for k, v in variables.items()})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-v", "check", "--config", str(data / "config.toml")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shown.encode() in result.stdout
    assert b"Traceback" not in result.stderr
    assert not leaks(result.stdout + result.stderr, token)


@pytest.mark.parametrize(
    ("line", "section", "key"),
    [
        pytest.param('token = "{token}"', None, "token", id="top-level-token"),
        pytest.param('bot_token = "{token}"', "guild", "guild.bot_token", id="token-in-guild-section"),
        pytest.param('Token = """{token}"""', "links", "links.Token", id="multi-line-string"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_config_holding_a_token_is_refused_without_echoing_it(
    sandbox: Sandbox, tmp_path: Path, line: str, section: str | None, key: str, command: str
) -> None:
    token = sandbox.world.bot_token
    data = tmp_path / "practice"
    config_for_world(sandbox.world, data)
    path = data / "config.toml"
    text = path.read_text(encoding="utf-8")
    secret_line = line.format(token=token)
    if section is None:
        text = secret_line + "\n" + text
    else:
        text = text.replace(f"[{section}]\n", f"[{section}]\n{secret_line}\n", 1)
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()

    env = clean_environment(DISCORD_TOKEN=token)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-v", command, "--config", str(path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == (1 if command == "check" else 2)
    assert f"{key}: the bot's token must never be written in the config file".encode() in printed
    assert b"Traceback" not in printed
    assert not leaks(printed, token)
    assert path.read_bytes() == before, "the file is left for its owner to fix"
    assert not (data / "practice-circles.sqlite3").exists()


@pytest.mark.parametrize(
    ("section", "line", "variables", "key"),
    [
        pytest.param("links", 'community = "{token}"', {}, "links.community", id="link-key"),
        pytest.param("guild", 'id = "{token}"', {}, "guild.id", id="id-key"),
        pytest.param(None, None, {"DISCORD_API_BASE_URL": f"{LINK}/{{token}}"}, "DISCORD_API_BASE_URL", id="url"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_a_token_pasted_into_the_wrong_place_is_hidden_in_every_message(
    sandbox: Sandbox,
    tmp_path: Path,
    section: str | None,
    line: str | None,
    variables: dict[str, str],
    key: str,
    command: str,
) -> None:
    token = sandbox.world.bot_token
    data = tmp_path / "practice"
    config_for_world(sandbox.world, data)
    path = data / "config.toml"
    if section is not None and line is not None:
        name = line.split(" = ")[0]
        text = path.read_text(encoding="utf-8")
        rows = text.splitlines()
        kept = [row for row in rows if not (row.startswith(f"{name} = ") and _in_section(text, row, section))]
        path.write_text("\n".join(kept).replace(f"[{section}]", f"[{section}]\n{line.format(token=token)}", 1))

    env = clean_environment(DISCORD_TOKEN=token, **{k: v.format(token=token) for k, v in variables.items()})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-v", command, "--config", str(path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == (1 if command == "check" else 2), printed.decode(errors="replace")
    assert key.encode() in printed, "the message names where the value was"
    assert b"[hidden: looks like a Discord token]" in printed
    assert b"Traceback" not in printed
    assert not leaks(printed, token)


def _in_section(text: str, row: str, section: str) -> bool:
    """Whether `row` of a TOML text lies in `[section]`."""
    current = None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif line == row:
            return current == section
    return False


async def test_a_token_discord_refuses_is_reported_without_echoing_it(sandbox: Sandbox, tmp_path: Path) -> None:
    real = sandbox.world.bot_token
    head, middle, tail = real.split(".")
    wrong = f"{head}.{middle}.{tail[::-1]}"
    data = tmp_path / "practice"
    config_for_world(sandbox.world, data)
    env = clean_environment(
        DISCORD_TOKEN=wrong, DISCORD_API_BASE_URL=sandbox.api_base_url, DISCORD_GATEWAY_URL=sandbox.gateway_url
    )
    bot = await BotProcess.start("-v", "run", "--config", str(data / "config.toml"), env=env)
    try:
        code = await asyncio.wait_for(bot.process.wait(), START_TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            await bot.stop()
    output = bytes(bot.output)
    assert code == 2, output.decode(errors="replace")[-3000:]
    assert b"error: DISCORD_TOKEN: Discord refused this token" in output
    assert b"Traceback" not in output
    assert not leaks(output, wrong) and not leaks(output, real)


def test_no_tracked_file_holds_a_token_shaped_string() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, listed):
        path = REPO_ROOT / name.decode()
        if not path.is_file() or name.decode() in ALLOWED_TOKEN_SHAPES:
            continue
        for match in TOKEN_SHAPE.finditer(path.read_bytes()):
            found.append(f"{name.decode()}: {match.group()[:6]!r}… ({len(match.group())} chars)")
    assert not found, "token-shaped strings in tracked files:\n" + "\n".join(found)


def test_the_token_pattern_recognises_real_shapes(sandbox: Sandbox) -> None:
    user_id = base64.b64encode(b"198622483471925248").decode().rstrip("=")
    shaped = ".".join([user_id, "Cl2FMQ", "ZnCjm1XVW7vRze4b7Cq4se7kKWs" + "-abc_def0"])
    assert TOKEN_SHAPE.fullmatch(shaped.encode())
    assert TOKEN_SHAPE.fullmatch(sandbox.world.bot_token.encode())
    assert not TOKEN_SHAPE.search(b"loopback.harness practice_circles.egg-info 2026-03-08T02:30:00Z")
