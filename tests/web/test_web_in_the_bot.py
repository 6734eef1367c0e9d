"""The web server inside the real bot on the loopback Discord: on with [web], off without, stopped with the bot."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.config import Config
from bot.errors import ConfigError
from bot.model import Actor
from bot.schedule.rules import utc_to_pacific
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from tests.web.support import free_port

PUBLIC_URL = "https://calendar.community.test"


def with_web(sandbox: Sandbox, folder: Path, port: int) -> Config:
    web = {"port": port, "public_url": PUBLIC_URL, "join_url": "https://discord.gg/practice"}
    return config_for_world(sandbox.world, folder, sections={"web": web})


def port_is_free(port: int) -> bool:
    try:
        with socket.create_server(("127.0.0.1", port)):
            return True
    except OSError:
        return False


async def test_the_web_server_starts_and_stops_with_the_bot(sandbox: Sandbox, tmp_path: Path) -> None:
    port = free_port()
    async with practice_bot(sandbox, with_web(sandbox, tmp_path / "bot", port)) as bot:
        assert bot.web is not None and bot.web.port == port
        async with aiohttp.ClientSession() as client:
            for path in ("/", "/calendar.ics", "/healthz"):
                async with client.get(f"http://127.0.0.1:{port}{path}") as answer:
                    assert answer.status == 200, path
        assert not port_is_free(port)
    assert port_is_free(port), "the port is let go when the bot stops"


async def test_without_a_web_section_nothing_listens(sandbox: Sandbox, practice_config: Config) -> None:
    async with practice_bot(sandbox, practice_config) as bot:
        assert practice_config.web is None and bot.web is None


async def test_a_port_in_use_stops_the_start_with_a_message_naming_the_key(sandbox: Sandbox, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            async with practice_bot(sandbox, with_web(sandbox, tmp_path / "bot", port)):
                pytest.fail("the bot started although its web port was taken")
    assert caught.value.key == "web.port"
    assert f"port {port} on 127.0.0.1 is already in use" in str(caught.value)
    # Stopped before it identified on the gateway: no one saw it come online.
    assert sandbox.gateway.sessions == {}


async def test_a_session_added_in_discord_is_in_the_feed_at_the_next_fetch(sandbox: Sandbox, tmp_path: Path) -> None:
    port = free_port()
    async with practice_bot(sandbox, with_web(sandbox, tmp_path / "bot", port)) as bot:
        world = sandbox.world
        laila = world.find_member("laila")
        actor = Actor.of(laila.id, [world.find_role("Coordinator").id])
        url = f"http://127.0.0.1:{port}/calendar.ics"
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as answer:
                etag = answer.headers["ETag"]
            start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
            session = await bot.core.sessions.add_session(
                actor, start=utc_to_pacific(start).strftime("%Y-%m-%d %H:%M"), duration_minutes=30, title="New sit"
            )
            async with client.get(url, headers={"If-None-Match": etag}) as answer:
                assert answer.status == 200
                assert f"UID:session-{session.id}@practice-circles" in await answer.text()
