"""Helpers for the fault tests: a crowded world, the bot as a child process, a kill switch, counting reminders.

The sandbox runs in the test process and outlives every bot it serves; the bot runs as
`python -m bot run --config FILE`, pointed at the sandbox by DISCORD_API_BASE_URL and
DISCORD_GATEWAY_URL, so it can be killed with SIGKILL at any moment and started again.
"""

# Waits take a deadline on purpose: a test names how long the bot may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.config import Config
from bot.delivery.ledger import Ledger
from bot.media.recordings import add_recording
from bot.model import DeliveryKey, DeliveryRow
from bot.storage import Database
from loopback import Sandbox, World
from loopback.harness import copy_shipped_recordings
from loopback.world import Member

REPO_ROOT = Path(__file__).resolve().parents[2]
API_PREFIX = "/api/v10"
MESSAGE_POST = re.compile(rf"{API_PREFIX}/channels/(?P<channel>[0-9]+)/messages")
DM_OPEN_PATH = f"{API_PREFIX}/users/@me/channels"
MENTION_AT_START = re.compile(r"<@(?P<user>[0-9]+)>")
READY_LINE = "Practice Circles is ready"


def recordings_with_short_tones(data_dir: Path, scratch: Path, *, practice_seconds: float = 1.4) -> Path:
    """The shipped recordings plus a short welcome reading and a short practice (sine tones made with sox)."""
    recordings = copy_shipped_recordings(data_dir)
    for kind, title, seconds, hertz in (
        ("welcome-reading", "Welcome words (short tone for tests)", 1.0, 330),
        ("practice", "Kind breathing (short tone for tests)", practice_seconds, 440),
    ):
        wav = scratch / f"{kind}.wav"
        subprocess.run(
            ["sox", "-n", "-r", "48000", "-c", "2", str(wav), "synth", str(seconds), "sine", str(hertz), "vol", "0.2"],
            check=True,
            capture_output=True,
        )
        add_recording(wav, recordings_path=recordings, title=title, kind=kind, source="fault tests")
    return recordings


def crowd_world(count: int, *, closed_dms: Iterable[int] = ()) -> tuple[World, list[Member]]:
    """World.default() plus `count` members (member000, member001, ...); those at `closed_dms` refuse DMs."""
    world = World.default()
    closed = set(closed_dms)
    members = [world.add_member(f"member{i:03d}", f"Member {i}", dms_closed=i in closed) for i in range(count)]
    return world, members


async def seed_reminder_session(
    config: Config, members: Sequence[Member], *, offset: int, lead: dt.timedelta, thread_preferred: Iterable[int] = ()
) -> int:
    """Before the bot starts: a session whose `offset`-minute reminder falls due after `lead`, everyone signed up."""
    async with Database.open(config.storage.database) as db:
        start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=offset) + lead
        stage = config.channels.default_session
        session = await db.add_one_off(start=start, duration_minutes=45, channel_id=stage, title="Evening practice")
        async with db.transaction():
            for member in members:
                await db.sign_up(session.id, member.id, "button")
            for index in thread_preferred:
                await db.set_member(members[index].id, reminder_channel="thread")
        return session.id


def reminder_channel_ids(world: World) -> set[int]:
    """The channels member reminders go to: the bot's DMs and the threads under the announcements channel."""
    schedule = world.find_channel("schedule").id
    threads = {c.id for c in world.guild.channels.values() if c.is_thread and c.parent_id == schedule}
    return set(world.dm_channel_objects) | threads


def reminders_by_member(world: World) -> Counter[int]:
    """How many messages each member received from the bot: DMs, plus thread messages that mention them."""
    counts: Counter[int] = Counter()
    bot_id = world.bot_user.id
    for user_id, channel_id in world.dm_channels.items():
        counts[user_id] += sum(1 for m in world.history(channel_id) if m.author_id == bot_id)
    schedule = world.find_channel("schedule").id
    for channel in list(world.guild.channels.values()):
        if not (channel.is_thread and channel.parent_id == schedule):
            continue
        for message in world.history(channel.id):
            mention = MENTION_AT_START.match(message.content)
            if message.author_id == bot_id and mention is not None:
                counts[int(mention["user"])] += 1
    return counts


def reminder_messages(world: World) -> int:
    """How many member reminders exist in the world."""
    return sum(reminders_by_member(world).values())


def wake_on_marks(sandbox: Sandbox, ledger: Ledger) -> None:
    """Wake the sandbox's waiters whenever the bot marks a row sent, so a wait can watch the ledger too."""
    mark_sent = ledger.mark_sent

    async def marked(key: DeliveryKey, message_id: int | None) -> DeliveryRow:
        row = await mark_sent(key, message_id)
        sandbox.signals.poke()
        return row

    ledger.mark_sent = marked  # type: ignore[method-assign]


def ledger_statuses(database: Path) -> Counter[str]:
    """Delivery rows by status, read through a read-only connection (safe while the bot runs)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    return Counter(dict(rows))


def query(database: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one read-only query against the bot's database."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return list(connection.execute(sql, params).fetchall())


class BotProcess:
    """The real bot as a child process against the sandbox; each log line it writes wakes the sandbox's waiters."""

    def __init__(
        self,
        sandbox: Sandbox,
        config_path: Path,
        *,
        token: str | None = None,
        module: str = "bot",
        env: dict[str, str] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.config_path = config_path
        self.token = token or sandbox.world.bot_token
        # `python -m MODULE run ...`: the bot itself, or a wrapper such as tests.faults.die_at.
        self.module = module
        self.extra_env = env or {}
        self.lines: list[str] = []
        self.stdout: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None, "start() first"
        return self.process.pid

    @property
    def exited(self) -> bool:
        """True once the child has ended (and its output has been read)."""
        return self.process is not None and self.process.returncode is not None

    async def start(self) -> BotProcess:
        """Run `python -m bot run --config FILE` with the token and the sandbox's addresses in its environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
        env.update(
            DISCORD_TOKEN=self.token,
            DISCORD_API_BASE_URL=self.sandbox.api_base_url,
            DISCORD_GATEWAY_URL=self.sandbox.gateway_url,
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            "run",
            "--config",
            str(self.config_path),
            cwd=REPO_ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=1 << 20,
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.process.stderr, self.lines)),
            asyncio.create_task(self._read(self.process.stdout, self.stdout)),
        ]
        return self

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        async for raw in stream:
            into.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self.sandbox.signals.poke()

    def kill(self) -> None:
        """SIGKILL, at once: no clean-up of any kind runs in the bot."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    async def wait_exit(self, timeout: float = 15.0) -> int:
        """Wait for the child to end and its output to be read; return its exit code."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
            await asyncio.gather(*self._readers)
        self.sandbox.signals.poke()
        return code

    async def stop(self, timeout: float = 15.0) -> int:
        """Ask the bot to stop as an operator's Ctrl-C would (SIGINT), and wait for it."""
        if not self.exited:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)
        return await self.wait_exit(timeout)

    async def wait_for_line(self, text: str, *, count: int = 1, timeout: float = 20.0) -> str:
        """Wait for the `count`-th log line containing `text`; fails early if the bot exits first."""

        def seen() -> str | None:
            found = [line for line in self.lines if text in line]
            if len(found) >= count:
                return found[count - 1]
            if self.exited:
                raise AssertionError(f"the bot exited before logging {text!r}:\n" + "\n".join(self.lines[-30:]))
            return None

        return await self.sandbox.wait_until(seen, timeout=timeout, what=f"the bot to log {text!r}")

    def log_text(self) -> str:
        """Everything the bot logged (stderr), one line each."""
        return "\n".join(self.lines)


# The moments of one reminder's life at which the bot can be killed, in order:
# - "dm-opened": the bot's request to open a member's DM was answered (row claimed, message not sent);
# - "arrived": a message POST reached Discord, which never handles it (the bot died as it sent);
# - "created": Discord created the message, and the bot dies before the answer is written back;
# - "answered": the answer was written back, and the bot dies before it can mark the row sent.
KILL_KINDS = ("dm-opened", "arrived", "created", "answered")


@dataclass(frozen=True)
class KillPoint:
    """Kill the bot once `at` member reminders exist (or the `at`-th is on its way), at moment `kind`."""

    at: int
    kind: str


def spread_kill_points(total: int, kills: int) -> list[KillPoint]:
    """`kills` points spread evenly from the first to the last of `total` reminders, cycling through the kinds."""
    return [
        KillPoint(at=1 + round(k * (total - 1) / (kills - 1)), kind=KILL_KINDS[k % len(KILL_KINDS)])
        for k in range(kills)
    ]


@dataclass
class Kill:
    """One kill that happened: its point, and how many member reminders existed at that moment."""

    point: KillPoint
    reminders: int


@dataclass
class KillSwitch:
    """Kills the bot process from inside the sandbox's request handling, at an exact moment of its fan-out."""

    # It wraps the sandbox's REST handler (its one entry point), so the kill happens synchronously
    # while a request is being answered: nothing the bot does can slip in between.

    sandbox: Sandbox
    kills: list[Kill] = field(default_factory=list)
    _armed: tuple[KillPoint, Callable[[], None]] | None = None

    def install(self) -> None:
        """Wrap the REST handler; call before the sandbox starts (it registers the handler then)."""
        rest = self.sandbox._rest
        original: Callable[[web.Request], Awaitable[web.StreamResponse]] = rest.handle

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, original)

        rest.handle = handle  # type: ignore[method-assign]

    def arm(self, point: KillPoint, kill: Callable[[], None]) -> None:
        """Kill (with `kill`) at `point`; the switch disarms once it fires."""
        self._armed = (point, kill)

    @property
    def armed(self) -> bool:
        """True until the armed point fires."""
        return self._armed is not None

    def _fire(self) -> None:
        assert self._armed is not None
        point, kill = self._armed
        self._armed = None
        kill()
        self.kills.append(Kill(point, reminder_messages(self.sandbox.world)))
        self.sandbox.signals.poke()

    def _is_reminder_post(self, request: web.Request) -> bool:
        found = MESSAGE_POST.fullmatch(request.path)
        return (
            request.method == "POST"
            and found is not None
            and int(found["channel"]) in reminder_channel_ids(self.sandbox.world)
        )

    async def _handle(
        self, request: web.Request, original: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        armed = self._armed
        if armed is None:
            return await original(request)
        point = armed[0]
        world = self.sandbox.world
        if point.kind == "arrived" and self._is_reminder_post(request) and reminder_messages(world) >= point.at - 1:
            self._fire()
            # The bot died as it sent: the request never reaches Discord's handlers.
            return web.Response(status=503)
        is_reminder_post = self._is_reminder_post(request)
        response = await original(request)
        if self._armed is not armed:
            return response
        if point.kind == "dm-opened":
            opened = request.method == "POST" and request.path == DM_OPEN_PATH and response.status == 200
            if opened and reminder_messages(world) >= point.at - 1:
                self._after_writing(response, armed)
            return response
        if not (is_reminder_post and response.status == 200 and self._created_a_message()):
            return response
        if reminder_messages(world) < point.at:
            return response
        if point.kind == "created":
            self._fire()
        elif point.kind == "answered":
            self._after_writing(response, armed)
        return response

    def _created_a_message(self) -> bool:
        """Whether the request just answered created a message (rather than returning one by its nonce)."""
        record = self.sandbox.request_log[-1]
        message_id = int(record.response["id"])
        return not (self.sandbox.nonce_hits and self.sandbox.nonce_hits[-1] == message_id)

    def _after_writing(self, response: web.StreamResponse, armed: tuple[KillPoint, Callable[[], None]]) -> None:
        """Fire once the answer has been handed to the socket, if `armed` is still the armed point."""
        write_eof = response.write_eof

        async def write_eof_then_kill(data: bytes = b"") -> None:
            await write_eof(data)
            if self._armed is armed:
                self._fire()

        response.write_eof = write_eof_then_kill  # type: ignore[method-assign]


class RequestGate:
    """Holds every REST request `holds(request)` picks until `open()`: Discord slow to answer, as the bot sees it.

    Install before the sandbox starts (it wraps the REST handler, as KillSwitch does).
    """

    def __init__(self, sandbox: Sandbox, holds: Callable[[web.Request], bool]) -> None:
        self.opened = asyncio.Event()
        self.held = 0
        rest = sandbox._rest
        original: Callable[[web.Request], Awaitable[web.StreamResponse]] = rest.handle

        async def handle(request: web.Request) -> web.StreamResponse:
            if holds(request):
                self.held += 1
                sandbox.signals.poke()
                await self.opened.wait()
            return await original(request)

        rest.handle = handle  # type: ignore[method-assign]

    def open(self) -> None:
        """Let the held requests and all later ones through."""
        self.opened.set()


@contextlib.asynccontextmanager
async def none_left_running(bots: list[BotProcess]) -> AsyncIterator[None]:
    """On the way out (a failed wait included), SIGKILL every bot process still running, so none outlives its test."""
    try:
        yield
    finally:
        for bot in bots:
            if bot.process is not None and not bot.exited:
                bot.kill()
