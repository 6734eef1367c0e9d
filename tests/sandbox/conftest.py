"""Fixtures for tests that run the real discord.py client against the loopback Discord.

`sandbox` starts a `Sandbox` on the default world and, when the test is over, fails it if any
request broke Discord's OpenAPI spec or hit a route the sandbox does not serve (a test that
provokes one on purpose clears the list after checking it). `run(client)` points discord.py at
the sandbox, starts the client, waits until it is ready, and cleans up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import discord
import pytest

from bot.discord_endpoints import DiscordEndpoints, restore_production_endpoints
from bot.sandbox import Sandbox, World

READY_TIMEOUT = 10.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the `sandbox` marker: keyword arguments for the `Sandbox` the fixture builds."""
    config.addinivalue_line("markers", "sandbox(**options): options for the sandbox fixture (e.g. clock=...)")


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A started sandbox on `World.default()`; spec violations and unknown routes fail the test."""
    marker = request.node.get_closest_marker("sandbox")
    options = dict(marker.kwargs) if marker else {}
    options.setdefault("world", World.default())
    async with Sandbox(**options) as started:
        yield started
    assert not started.spec_violations, f"requests broke Discord's spec: {started.spec_violations}"
    assert not started.unknown_routes, (
        f"requests to routes the sandbox does not serve: {started.unknown_routes}"
    )


@pytest.fixture
def run(
    sandbox: Sandbox,
) -> Callable[[discord.Client], contextlib.AbstractAsyncContextManager[discord.Client]]:
    """`async with run(client) as client:` runs a discord.py client against the sandbox."""
    return lambda client: running(client, sandbox)


@contextlib.asynccontextmanager
async def running(client: discord.Client, sandbox: Sandbox) -> AsyncIterator[discord.Client]:
    """Run `client` against `sandbox` until the block ends; yields once the client is ready."""
    DiscordEndpoints(sandbox.api_base_url, sandbox.gateway_url).apply(client)
    task = asyncio.create_task(client.start(sandbox.world.bot_token))
    try:
        ready = asyncio.create_task(_ready(client, sandbox))
        done, _ = await asyncio.wait(
            {task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
            raise AssertionError(f"the client was not ready within {READY_TIMEOUT}s")
        yield client
    finally:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, timeout=5)
        restore_production_endpoints()


async def _ready(client: discord.Client, sandbox: Sandbox) -> None:
    # READY is sent after login, so the client's ready event exists by then.
    await sandbox.wait_for_ready(timeout=READY_TIMEOUT)
    await client.wait_until_ready()
