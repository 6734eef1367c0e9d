"""Fixtures for tests that run the real discord.py client against the loopback Discord.

`sandbox` starts a `Sandbox` on the default world and, when the test is over, fails it if any
request broke Discord's OpenAPI spec, hit a route the sandbox does not serve (a test that
provokes one on purpose clears the list after checking it), or got a 2xx answer whose body does
not match the spec's response schema (the sandbox's own payloads are checked that way).
`run(client)` points discord.py at the sandbox, starts the client, waits until it is ready, and
cleans up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord
import pytest
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema import _keywords as keywords
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.adapters.bot import PracticeCirclesBot
from bot.adapters.endpoints import DiscordEndpoints, restore_production_endpoints
from bot.config import Config
from loopback import Sandbox, World
from loopback.harness import config_for_world, practice_bot
from loopback.rest import RequestRecord
from loopback.spec import ENV_VAR, default_spec_path

READY_TIMEOUT = 10.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the `sandbox` marker: keyword arguments for the `Sandbox` the fixture builds."""
    config.addinivalue_line("markers", "sandbox(**options): options for the sandbox fixture (e.g. clock=...)")
    config.addinivalue_line("markers", "practice_config(**sections): config.toml overrides for the practice bot")


@pytest.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A started sandbox on `World.default()`; spec violations and unknown routes fail the test."""
    marker = request.node.get_closest_marker("sandbox")
    options = dict(marker.kwargs) if marker else {}
    # Parametrised indirectly: a function returning more options (e.g. another world).
    more = getattr(request, "param", None)
    if callable(more):
        options.update(more())
    # A marker may name a world factory, so every test gets a world of its own.
    if callable(options.get("world")):
        options["world"] = options["world"]()
    options.setdefault("world", World.default())
    async with Sandbox(**options) as started:
        yield started
    assert not started.spec_violations, f"requests broke Discord's spec: {started.spec_violations}"
    assert not started.unknown_routes, f"requests to routes the sandbox does not serve: {started.unknown_routes}"
    schemas = response_schemas()
    if schemas is not None:
        problems = [p for record in started.request_log for p in schemas.problems(record)]
        sent = {(d.seq, d.event, id(d.data)): d for s in started.gateway.sessions.values() for d in s.history}
        problems += [p for d in sent.values() for p in schemas.dispatch_problems(d.event, d.data)]
        assert not problems, "sandbox payloads that do not match Discord's schemas:\n" + "\n".join(problems)


# The spec writes its unions as oneOf even where members overlap (a thread is also a channel);
# what matters here is that the reply matches one of them.
_ResponseValidator = validators.extend(Draft202012Validator, {"oneOf": keywords.anyOf})


_CHANNEL = "#/paths/~1channels~1{channel_id}/get/responses/200/content/application~1json/schema"
_EVENT = (
    "#/paths/~1guilds~1{guild_id}~1scheduled-events~1{guild_scheduled_event_id}/get/responses/200/content/"
    "application~1json/schema"
)
# Gateway dispatches whose body is a REST object (plus gateway-only extras like guild_id).
DISPATCH_SCHEMAS = {
    "MESSAGE_CREATE": "#/components/schemas/MessageResponse",
    "MESSAGE_UPDATE": "#/components/schemas/MessageResponse",
    "CHANNEL_UPDATE": _CHANNEL,
    "THREAD_CREATE": "#/components/schemas/ThreadResponse",
    "THREAD_UPDATE": "#/components/schemas/ThreadResponse",
    "VOICE_STATE_UPDATE": "#/components/schemas/VoiceStateResponse",
    "STAGE_INSTANCE_CREATE": "#/components/schemas/StageInstanceResponse",
    "STAGE_INSTANCE_UPDATE": "#/components/schemas/StageInstanceResponse",
    "STAGE_INSTANCE_DELETE": "#/components/schemas/StageInstanceResponse",
    "GUILD_SCHEDULED_EVENT_CREATE": _EVENT,
    "GUILD_SCHEDULED_EVENT_UPDATE": _EVENT,
    "GUILD_SCHEDULED_EVENT_DELETE": _EVENT,
    "GUILD_MEMBER_ADD": "#/components/schemas/GuildMemberResponse",
    "GUILD_MEMBER_UPDATE": "#/components/schemas/GuildMemberResponse",
}
# A file uploaded with a slash command, in an interaction's `data.resolved.attachments`.
UPLOAD_SCHEMA = "#/components/schemas/MessageAttachmentResponse"
# GUILD_CREATE's lists, item by item.
GUILD_CREATE_LISTS = {
    "channels": _CHANNEL,
    "threads": "#/components/schemas/ThreadResponse",
    "roles": "#/components/schemas/GuildRoleResponse",
    "members": "#/components/schemas/GuildMemberResponse",
    "stage_instances": "#/components/schemas/StageInstanceResponse",
    "guild_scheduled_events": _EVENT,
}


class ResponseSchemas:
    """Discord's OpenAPI response schemas, to check the sandbox's own bodies (REST and gateway) against."""

    def __init__(self, document: dict[str, Any]) -> None:
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource("urn:discord-spec", resource)
        self._paths = document["paths"]

    def problems(self, record: RequestRecord) -> list[str]:
        """What is wrong with one logged reply (nothing for errors, 204s and unmatched routes)."""
        if record.route is None or not 200 <= record.status < 300 or record.response is None:
            return []
        operation = self._paths.get(record.route, {}).get(record.method.lower(), {})
        content = operation.get("responses", {}).get(str(record.status), {}).get("content", {})
        where = f"{record.method} {record.route} -> {record.status}"
        if "application/json" not in content:
            return [f"{where}: the spec has no JSON body for this status"]
        route = record.route.replace("~", "~0").replace("/", "~1")
        pointer = f"urn:discord-spec#/paths/{route}/{record.method.lower()}/responses/{record.status}"
        validator = _ResponseValidator({"$ref": pointer + "/content/application~1json/schema"}, registry=self._registry)
        return [f"{where}: {_deepest(e)}" for e in validator.iter_errors(record.response)]

    def dispatch_problems(self, event: str, data: Any) -> list[str]:
        """What is wrong with one gateway dispatch whose body Discord's REST schemas describe."""
        if event == "GUILD_CREATE":
            return [
                problem
                for key, pointer in GUILD_CREATE_LISTS.items()
                for index, item in enumerate(data.get(key) or [])
                for problem in self._check(pointer, item, f"GUILD_CREATE {key}[{index}]")
            ]
        if event == "INTERACTION_CREATE":
            # Interactions are not a REST object, but the files people upload with a command are.
            uploads = ((data.get("data") or {}).get("resolved") or {}).get("attachments") or {}
            return [
                problem
                for key, item in uploads.items()
                for problem in self._check(UPLOAD_SCHEMA, item, f"INTERACTION_CREATE resolved.attachments[{key}]")
            ]
        pointer = DISPATCH_SCHEMAS.get(event)
        return self._check(pointer, data, event) if pointer else []

    def _check(self, pointer: str, instance: Any, where: str) -> list[str]:
        validator = _ResponseValidator({"$ref": "urn:discord-spec" + pointer}, registry=self._registry)
        return [f"{where}: {_deepest(e)}" for e in validator.iter_errors(instance)]


def _deepest(error: ValidationError) -> str:
    """The most specific complaint inside a failed union, with where it is."""
    while error.context:
        error = best_match(error.context)
    return f"/{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"


@functools.cache
def response_schemas() -> ResponseSchemas | None:
    """The response checker, or None when the spec file is not there (as OpenAPISpec.locate)."""
    path = Path(os.environ.get(ENV_VAR) or default_spec_path())
    if not path.is_file():
        return None
    return ResponseSchemas(json.loads(path.read_text(encoding="utf-8")))


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
        done, _ = await asyncio.wait({task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker, hand this worker's spec tally to the controller that prints the summary."""
    from loopback.rest import SPEC_TALLY

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["spec_tally"] = dict(SPEC_TALLY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """In the xdist controller, add up what each worker validated against the spec."""
    from loopback.rest import SPEC_TALLY

    for key, count in getattr(node, "workeroutput", {}).get("spec_tally", {}).items():
        SPEC_TALLY[key] = SPEC_TALLY.get(key, 0) + count


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many REST requests the suite checked against Discord's OpenAPI spec."""
    from loopback.rest import SPEC_TALLY

    if SPEC_TALLY["validated"] == 0 and SPEC_TALLY["refused"] == 0:
        return  # no test in this run spoke to the loopback Discord
    if Path(os.environ.get(ENV_VAR) or default_spec_path()).is_file():
        terminalreporter.write_line(
            f"Discord OpenAPI spec: {SPEC_TALLY['validated']} REST requests validated against it, "
            f"{SPEC_TALLY['refused']} refused"
        )
    else:
        terminalreporter.write_line(
            "Discord OpenAPI spec not found (set DISCORD_OPENAPI_SPEC or put it in ../shared/discord-api-spec); "
            "REST requests were not validated"
        )


@pytest.fixture
def practice_config(sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """A config.toml for the sandbox's world (override keys with `@pytest.mark.practice_config(section={...})`)."""
    marker = request.node.get_closest_marker("practice_config")
    sections = dict(marker.kwargs) if marker else {}
    return config_for_world(sandbox.world, tmp_path / "practice", sections=sections)


@pytest.fixture
async def practice(sandbox: Sandbox, practice_config: Config) -> AsyncIterator[PracticeCirclesBot]:
    """The real Practice Circles bot, running against the sandbox, with its commands registered."""
    async with practice_bot(sandbox, practice_config) as bot:
        yield bot
