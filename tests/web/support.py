"""A real web server on 127.0.0.1 over a real database, with a clock the test sets; and an HTTP client."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from multidict import CIMultiDict

from bot.config import Config, load_config
from bot.services.calendars import CalendarFeeds
from bot.storage import Database
from bot.web import WebServer

AT = "@"  # kept apart so no tool mistakes the test address for a real one
PUBLIC_URL = "https://calendar.community.test/practice"
JOIN_URL = "https://discord.gg/practice-circles-test"
GUILD_ID = 100000000000000001
CHANNELS = {100000000000000005: "Evening Stage", 100000000000000006: "Quiet room"}


@dataclass
class Clock:
    """The time the bot believes it is; a test moves it by hand."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


def free_port() -> int:
    """A TCP port nobody listens on at the moment (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, *, port: int, web: dict[str, str] | None = None) -> Config:
    """A usable config.toml with a [web] section (keys overridden as TOML text) in `folder`."""
    sections = {
        "guild": {"id": str(GUILD_ID)},
        "channels": {
            "announcements": "100000000000000002",
            "teachers": "100000000000000003",
            "coordinators": "100000000000000004",
            "sessions": f"[{', '.join(str(channel) for channel in CHANNELS)}]",
        },
        "roles": {"coordinator": "100000000000000007", "teacher": "100000000000000008"},
        "links": {
            "community": '"https://community.test/join"',
            "coordinators": f'"mailto:coordinators{AT}community.test"',
            "donate": '"https://community.test/donate"',
            "share": '"https://community.test/share"',
        },
        "storage": {"database": '"data/bot.sqlite3"'},
        "web": {
            "host": '"127.0.0.1"',
            "port": str(port),
            "public_url": f'"{PUBLIC_URL}"',
            "join_url": f'"{JOIN_URL}"',
            **(web or {}),
        },
    }
    lines: list[str] = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in keys.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(path)


@dataclass
class Site:
    """A running web server and what it serves from."""

    config: Config
    db: Database
    clock: Clock
    feeds: CalendarFeeds
    server: WebServer
    client: aiohttp.ClientSession
    channel_names: dict[int, str] = field(default_factory=lambda: dict(CHANNELS))

    @property
    def base(self) -> str:
        """The server's own address on this machine."""
        return f"http://127.0.0.1:{self.server.port}"

    def local(self, public_url: str) -> str:
        """A link the bot hands out (at its public https address), as reached on this machine."""
        assert public_url.startswith(PUBLIC_URL), public_url
        return self.base + public_url.removeprefix(PUBLIC_URL)

    async def get(self, path: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
        """GET a path (or a full address); the status, headers and body."""
        url = path if path.startswith("http") else self.base + path
        async with self.client.get(url, headers=headers) as response:
            return response.status, response.headers.copy(), await response.read()


@contextlib.asynccontextmanager
async def running_site(
    folder: Path, clock: Clock, *, horizon: dt.timedelta = dt.timedelta(days=56)
) -> AsyncIterator[Site]:
    """The web server on a free port over a fresh database, with an HTTP client; all closed after."""
    config = write_config(folder, port=free_port())
    db = await Database.open(config.storage.database, clock=clock)
    feeds = CalendarFeeds(db, config, horizon=horizon, clock=clock)
    names: dict[int, str] = dict(CHANNELS)
    lookup: Callable[[int], str | None] = names.get
    server = WebServer(config, feeds, lookup)
    await server.start()
    try:
        async with aiohttp.ClientSession() as client:
            yield Site(config, db, clock, feeds, server, client, names)
    finally:
        await server.stop()
        await db.close()
