"""Requests checked against Discord's official OpenAPI spec, built the way discord.py 2.7.1 builds them."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

import discord
import pytest
from discord import app_commands
from discord.http import HTTPClient, Route, handle_message_parameters
from discord.webhook.async_ import interaction_message_response_params, interaction_response_params

from loopback import spec as spec_module
from loopback.spec import OpenAPISpec

GUILD = 1100000000000000001
CHANNEL = 1100000000000000002
STAGE = 1100000000000000003
USER = 1100000000000000004
MESSAGE = 1100000000000000005
ROLE = 1100000000000000006
APP = 1100000000000000007
EVENT = 1100000000000000008
INTERACTION = 1100000000000000009
START = dt.datetime(2025, 3, 9, 17, 0, tzinfo=dt.UTC)

NO_SPEC = "Discord's OpenAPI spec was not found; set DISCORD_OPENAPI_SPEC to its openapi.json"


@pytest.fixture(scope="module")
def spec() -> OpenAPISpec:
    """The real spec, or skip: these tests mean nothing against a stand-in."""
    found = OpenAPISpec.locate()
    if found is None:
        pytest.skip(NO_SPEC)
    return found


# --- capturing what discord.py sends ---------------------------------------------------------------


@dataclass
class Sent:
    """One request as it would leave discord.py: method, path after /api/v10, query, body."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    content_type: str | None = None


class Recorder:
    """Stands in for HTTPClient.request and keeps what discord.py would have sent."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def __call__(
        self,
        route: Route,
        *,
        files: Any = None,
        form: list[dict[str, Any]] | None = None,
        params: dict[str, Any] | None = None,
        reason: str | None = None,
        **kwargs: Any,
    ) -> None:
        sent = Sent(route.method, route.url.removeprefix(Route.BASE))
        # aiohttp turns each query value into its str(), as here.
        sent.query = {k: [str(v)] for k, v in (params or {}).items()}
        if "json" in kwargs:
            sent.body, sent.content_type = kwargs["json"], "application/json"
        elif form:
            parts = {}
            for part in form:
                value = part["value"]
                parts[part["name"]] = value.read() if hasattr(value, "read") else value
            sent.body, sent.content_type = parts, "multipart/form-data; boundary=x"
        self.sent.append(sent)


@pytest.fixture
def http() -> Iterator[tuple[HTTPClient, Recorder]]:
    """A real HTTPClient whose request() only records."""
    client = HTTPClient(loop=cast(asyncio.AbstractEventLoop, None))
    recorder = Recorder()
    client.request = recorder  # type: ignore[method-assign,assignment]
    yield client, recorder


def check(spec: OpenAPISpec, sent: Sent) -> list[str]:
    """Validate one captured request."""
    return spec.validate(sent.method, sent.path, sent.query, sent.body, sent.content_type)


def _file() -> discord.File:
    """A small Ogg-looking upload."""
    return discord.File(io.BytesIO(b"OggS" + b"\0" * 60), filename="practice.ogg", description="Recording")


async def _commands() -> list[dict[str, Any]]:
    """The bulk-overwrite payload discord.py's CommandTree builds for two slash commands."""
    client = discord.Client(intents=discord.Intents.none())
    tree = app_commands.CommandTree(client)

    @tree.command(name="circle", description="Show the next practice circle")
    @app_commands.describe(weeks="How many weeks ahead")
    async def circle(interaction: discord.Interaction, weeks: app_commands.Range[int, 1, 8] = 1) -> None:
        """Unused: only the payload matters."""

    @tree.command(name="remind", description="Choose reminders")
    @app_commands.choices(kind=[app_commands.Choice(name="Day before", value="day")])
    @app_commands.default_permissions(manage_events=True)
    @app_commands.guild_only()
    async def remind(interaction: discord.Interaction, kind: str, on: bool, role: discord.Role) -> None:
        """Unused: only the payload matters."""

    payload = [command.to_dict(tree) for command in tree.get_commands()]
    await client.close()
    return payload


class Buttons(discord.ui.View):
    """A view like the bot's RSVP buttons."""

    @discord.ui.button(label="I'll come", style=discord.ButtonStyle.success, custom_id="rsvp:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[Buttons]) -> None:
        """Unused."""

    @discord.ui.select(
        custom_id="rsvp:when",
        options=[
            discord.SelectOption(label="This week", value="1"),
            discord.SelectOption(label="Next", value="2"),
        ],
    )
    async def when(self, interaction: discord.Interaction, select: discord.ui.Select[Buttons]) -> None:
        """Unused."""


# --- valid requests ------------------------------------------------------------------------------------

Build = Callable[[HTTPClient], Any]

VALID: dict[str, Build] = {
    "send plain message with nonce": lambda h: h.send_message(
        CHANNEL,
        params=handle_message_parameters(
            content="The circle starts <t:1741539600:R>.",
            nonce="pc-42-7-reminder-1",
            allowed_mentions=discord.AllowedMentions.none(),
        ),
    ),
    "send message with embed and mentions": lambda h: h.send_message(
        CHANNEL,
        params=handle_message_parameters(
            content="<@1100000000000000004> welcome",
            embed=discord.Embed(title="Tonight", description="Self-compassion break", colour=0x5865F2)
            .add_field(name="When", value="<t:1741539600:F>")
            .set_footer(text="Practice Circles"),
            allowed_mentions=discord.AllowedMentions(everyone=False, users=[discord.Object(USER)], roles=False),
            mention_author=False,
            flags=discord.MessageFlags(suppress_notifications=True),
        ),
    ),
    "send message with a file (multipart)": lambda h: h.send_message(
        CHANNEL, params=handle_message_parameters(content="Tonight's recording", file=_file())
    ),
    "edit message": lambda h: h.edit_message(
        CHANNEL, MESSAGE, params=handle_message_parameters(content="Moved to 18:00", embeds=[])
    ),
    "open DM channel": lambda h: h.start_private_message(USER),
    "trigger typing": lambda h: h.send_typing(CHANNEL),
    "delete message": lambda h: h.delete_message(CHANNEL, MESSAGE),
    "add reaction": lambda h: h.add_reaction(CHANNEL, MESSAGE, "🙏"),
    "pin message": lambda h: h.pin_message(CHANNEL, MESSAGE),
    "history": lambda h: h.logs_from(CHANNEL, 50, before=MESSAGE),
    "get guild": lambda h: h.get_guild(GUILD),
    "get member": lambda h: h.get_member(GUILD, USER),
    "get user": lambda h: h.get_user(USER),
    "guild channels": lambda h: h.get_all_guild_channels(GUILD),
    "add role": lambda h: h.add_role(GUILD, USER, ROLE, reason="joined a circle"),
    "remove role": lambda h: h.remove_role(GUILD, USER, ROLE),
    "mute member": lambda h: h.edit_member(GUILD, USER, mute=True),
    "time out member": lambda h: h.edit_member(
        GUILD, USER, communication_disabled_until=(START + dt.timedelta(minutes=10)).isoformat()
    ),
    # Member.edit(suppress=False) on someone else, byte for byte (naive utcnow() included).
    "unsuppress other speaker": lambda h: h.edit_voice_state(
        GUILD,
        USER,
        {
            "suppress": False,
            "channel_id": STAGE,
            "request_to_speak_timestamp": dt.datetime.utcnow().isoformat(),  # noqa: DTZ003
        },
    ),
    "unsuppress self": lambda h: h.edit_my_voice_state(
        GUILD, {"suppress": False, "channel_id": STAGE, "request_to_speak_timestamp": None}
    ),
    # StageChannel.create_instance's payload.
    "create stage instance": lambda h: h.create_stage_instance(
        channel_id=STAGE,
        topic="Evening practice",
        privacy_level=2,
        send_start_notification=False,
        reason=None,
    ),
    # Guild.create_scheduled_event's payloads for a stage, a voice and an external event.
    "scheduled event on stage": lambda h: h.create_guild_scheduled_event(
        GUILD,
        name="Evening practice",
        scheduled_start_time=START.isoformat(),
        entity_type=1,
        privacy_level=2,
        description="Drop in any time",
        channel_id=STAGE,
    ),
    "scheduled event in voice": lambda h: h.create_guild_scheduled_event(
        GUILD,
        name="Morning practice",
        scheduled_start_time=START.isoformat(),
        entity_type=2,
        privacy_level=2,
        channel_id=CHANNEL,
    ),
    "external scheduled event": lambda h: h.create_guild_scheduled_event(
        GUILD,
        name="Retreat",
        scheduled_start_time=START.isoformat(),
        scheduled_end_time=(START + dt.timedelta(hours=2)).isoformat(),
        entity_type=3,
        privacy_level=2,
        entity_metadata={"location": "Online"},
    ),
    "scheduled event status": lambda h: h.edit_scheduled_event(GUILD, EVENT, status=2),
    "list scheduled events": lambda h: h.get_scheduled_events(GUILD, True),
    "entitlements with comma-joined sku_ids": lambda h: h.get_entitlements(
        APP, sku_ids=[1, 2], exclude_ended=True, limit=10
    ),
}


@pytest.mark.parametrize("name", list(VALID))
def test_discord_py_requests_are_valid(spec: OpenAPISpec, http: tuple[HTTPClient, Recorder], name: str) -> None:
    client, recorder = http
    VALID[name](client)
    assert len(recorder.sent) == 1
    assert check(spec, recorder.sent[0]) == []


async def test_message_with_view_is_valid(spec: OpenAPISpec, http: tuple[HTTPClient, Recorder]) -> None:
    client, recorder = http
    # The recorder returns None, not the coroutine discord.py's typing promises.
    _ = client.send_message(CHANNEL, params=handle_message_parameters(content="Coming?", view=Buttons()))
    assert check(spec, recorder.sent[0]) == []


async def test_command_bulk_overwrite_is_valid(spec: OpenAPISpec, http: tuple[HTTPClient, Recorder]) -> None:
    client, recorder = http
    payload = await _commands()
    _ = client.bulk_upsert_global_commands(APP, payload)
    _ = client.bulk_upsert_guild_commands(APP, GUILD, payload)
    assert [check(spec, sent) for sent in recorder.sent] == [[], []]


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        (
            "message",
            interaction_message_response_params(type=4, content="Saved.", flags=discord.MessageFlags(ephemeral=True)),
        ),
        ("defer", interaction_response_params(type=5, data={"flags": 64})),
    ],
)
def test_interaction_callback_is_valid(spec: OpenAPISpec, kind: str, params: Any) -> None:
    # The webhook adapter posts this payload with ?with_response=1 (discord/webhook/async_.py).
    path = f"/interactions/{INTERACTION}/{quote('aW50ZXJhY3Rpb24:token-ü', safe='')}/callback"
    assert spec.validate("POST", path, {"with_response": ["1"]}, params.payload, "application/json") == []


# --- malformed requests ----------------------------------------------------------------------------

MESSAGES = f"/channels/{CHANNEL}/messages"


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "expected"),
    [
        (
            "POST",
            MESSAGES,
            {},
            {"content": "hi", "allowed_mentions": {"parse": ["everybody"]}},
            "POST /channels/{channel_id}/messages: body.allowed_mentions.parse[0]: 'everybody' is not one of "
            "['users', 'roles', 'everyone']",
        ),
        ("POST", MESSAGES, {}, {"content": 5}, "body.content: 5 is not of type 'string', 'null'"),
        ("POST", MESSAGES, {}, {"tts": "yes"}, "body.tts: 'yes' is not of type 'boolean', 'null'"),
        ("POST", MESSAGES, {}, {"content": "x" * 4001}, "body.content: 'xxxxxxxx"),
        ("POST", MESSAGES, {}, {"nonce": "n" * 26}, "body.nonce:"),
        ("POST", MESSAGES, {}, None, "body: required but missing"),
        (
            "POST",
            MESSAGES,
            {},
            {"components": [{"type": 1, "components": [{"type": 2, "style": 9}]}]},
            "body.components[0].components[0].style: 9 is not one of [1, 2, 3, 4, 5, 6]",
        ),
        (
            "POST",
            "/stage-instances",
            {},
            {"channel_id": STAGE},
            "POST /stage-instances: body: 'topic' is a required property",
        ),
        (
            "POST",
            "/stage-instances",
            {},
            {"channel_id": "general", "topic": "x"},
            "body.channel_id: 'general' does not match '^(0|[1-9][0-9]*)$'",
        ),
        (
            "PATCH",
            f"/guilds/{GUILD}/members/{USER}",
            {},
            {"mute": "true"},
            "body.mute: 'true' is not of type 'boolean', 'null'",
        ),
        (
            "PATCH",
            f"/guilds/{GUILD}/voice-states/{USER}",
            {},
            {"suppress": 0},
            "body.suppress: 0 is not of type 'boolean', 'null'",
        ),
        (
            "POST",
            f"/guilds/{GUILD}/scheduled-events",
            {},
            {"name": "x", "entity_type": 2, "privacy_level": 1, "scheduled_start_time": START.isoformat()},
            "body.privacy_level: 1 is not one of [2]",
        ),
        (
            "POST",
            f"/guilds/{GUILD}/scheduled-events",
            {},
            {"name": "x", "entity_type": 2, "privacy_level": 2, "scheduled_start_time": "next Tuesday"},
            "body.scheduled_start_time: 'next Tuesday' is not an RFC 3339 date-time",
        ),
        (
            "POST",
            f"/interactions/{INTERACTION}/tok/callback",
            {},
            {"type": 4, "data": {"flags": "64"}},
            "body.data.flags: '64' is not of type 'integer', 'null'",
        ),
        (
            "PUT",
            f"/applications/{APP}/commands",
            {},
            [{"name": "x" * 40, "description": "d"}],
            "body[0].name: 'xxxxxxxx",
        ),
        ("GET", MESSAGES, {"limit": ["500"]}, None, "query.limit: 500 is greater than the maximum of 100"),
        ("GET", MESSAGES, {"limit": ["ten"]}, None, "query.limit: 'ten' is not of type 'integer'"),
        ("GET", MESSAGES, {"before": ["-1"]}, None, "query.before: '-1' does not match"),
        ("GET", MESSAGES, {"limt": ["5"]}, None, "query.limt: not a query parameter of this route"),
        (
            "GET",
            f"/guilds/{GUILD}",
            {"with_counts": ["maybe"]},
            None,
            "query.with_counts: 'maybe' is not of type",
        ),
        ("GET", f"/guilds/{GUILD}/members/search", {}, None, "query.query: required parameter is missing"),
        ("GET", "/channels/general/messages", {}, None, "path.channel_id: 'general' does not match"),
        (
            "GET",
            f"/channels/{2**64}/messages",
            {},
            None,
            "path.channel_id: '18446744073709551616' is not a snowflake",
        ),
        ("GET", f"/channels/{CHANNEL}/message", {}, None, f"GET /channels/{CHANNEL}/message: no such route"),
        ("GET", "/circles", {}, None, "no such route in Discord's API v10"),
        (
            "PUT",
            MESSAGES,
            {},
            {"content": "x"},
            "PUT /channels/{channel_id}/messages: method not allowed (allowed: GET, POST)",
        ),
        ("POST", f"/channels/{CHANNEL}/typing", {}, {"x": 1}, "body: this route takes no request body"),
    ],
)
def test_malformed_requests_are_reported(
    spec: OpenAPISpec, method: str, path: str, query: dict[str, list[str]], body: Any, expected: str
) -> None:
    problems = spec.validate(method, path, query, body, "application/json")
    assert any(expected in p for p in problems), problems


def test_wrong_content_type_and_bad_multipart(spec: OpenAPISpec) -> None:
    assert "not accepted" in spec.validate("POST", MESSAGES, {}, {"content": "x"}, "text/plain")[0]
    parts = {"payload_json": '{"content": 5}', "files[0]": b"OggS", "files[10]": b"OggS"}
    problems = spec.validate("POST", MESSAGES, {}, parts, "multipart/form-data; boundary=b")
    assert any("body.content: 5 is not of type" in p for p in problems), problems
    assert any(
        "body.files[10]: not a file part this route accepts (accepts: files[0]..files[9])" in p for p in problems
    )
    bad_json = {"payload_json": "{nope", "files[0]": b"x"}
    assert "payload_json: not valid JSON" in spec.validate("POST", MESSAGES, {}, bad_json, "multipart/form-data")[0]


# --- routing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/users/@me", "/users/@me"),
        ("GET", f"/users/{USER}", "/users/{user_id}"),
        ("GET", f"/channels/{CHANNEL}/messages/pins", "/channels/{channel_id}/messages/pins"),
        ("GET", f"/channels/{CHANNEL}/messages/{MESSAGE}", "/channels/{channel_id}/messages/{message_id}"),
        ("PATCH", f"/guilds/{GUILD}/voice-states/@me", "/guilds/{guild_id}/voice-states/@me"),
        ("PATCH", f"/guilds/{GUILD}/voice-states/{USER}", "/guilds/{guild_id}/voice-states/{user_id}"),
        (
            "PUT",
            f"/channels/{CHANNEL}/messages/{MESSAGE}/reactions/%F0%9F%99%8F/@me",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
        ),
        ("GET", f"/api/v10/channels/{CHANNEL}", "/channels/{channel_id}"),
        (
            "PATCH",
            f"/webhooks/{APP}/tok/messages/@original",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        ),
        ("GET", "/users/me", None),
        ("GET", f"/channels/{CHANNEL}/", None),
        ("DELETE", f"/channels/{CHANNEL}/messages/pins", None),
    ],
)
def test_route_template(spec: OpenAPISpec, method: str, path: str, template: str | None) -> None:
    assert spec.route_template(method, path) == template


# --- finding the spec ----------------------------------------------------------------------------------


def test_locate_missing_spec_returns_none_and_says_why(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "nowhere" / "openapi.json"
    with caplog.at_level(logging.WARNING, logger="loopback.spec"):
        assert OpenAPISpec.locate({"DISCORD_OPENAPI_SPEC": str(missing)}) is None
    assert caplog.messages == [
        f"Discord's OpenAPI spec was not found (looked in {missing}); REST requests will not be validated. "
        "Set DISCORD_OPENAPI_SPEC to its path."
    ]


def test_locate_uses_env_var_and_caches(spec: OpenAPISpec) -> None:
    assert spec.path is not None
    again = OpenAPISpec.locate({"DISCORD_OPENAPI_SPEC": str(spec.path)})
    assert again is spec


def test_default_location_is_beside_the_repo() -> None:
    path = spec_module.default_spec_path()
    assert path.parts[-3:] == ("shared", "discord-api-spec", "openapi.json")
    if not path.is_file():
        pytest.skip(NO_SPEC)
    assert OpenAPISpec.locate({}) is OpenAPISpec.load(path)


def test_unknown_fields_pass_because_the_spec_allows_them(spec: OpenAPISpec) -> None:
    # Documented limit: Discord's schemas do not set additionalProperties: false.
    assert spec.validate("POST", MESSAGES, {}, {"content": "x", "contnet": "typo"}, "application/json") == []


UNION_CASES: list[tuple[str, str, Any]] = [
    (
        "POST",
        MESSAGES,
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "ok", "custom_id": "a"}]}]},
    ),
    ("POST", MESSAGES, {"components": [{"type": 1, "components": [{"type": 2, "style": 9}]}]}),
    ("POST", MESSAGES, {"components": [{"type": 99}]}),
    ("POST", MESSAGES, {"components": [{"type": True, "components": []}]}),
    ("POST", MESSAGES, {"components": [{"type": [1]}]}),
    ("POST", MESSAGES, {"allowed_mentions": {"parse": ["users", "everybody", None]}}),
    (
        "PUT",
        f"/applications/{APP}/commands",
        [
            {
                "name": "a",
                "description": "b",
                "options": [{"type": 3, "name": "x", "description": "y", "min_length": -1}],
            }
        ],
    ),
    (
        "PUT",
        f"/applications/{APP}/commands",
        [{"name": "a", "description": "b", "options": [{"type": 42, "name": "x"}]}],
    ),
    ("POST", f"/interactions/{INTERACTION}/tok/callback", {"type": 4, "data": {"content": "x" * 2001}}),
    ("POST", f"/interactions/{INTERACTION}/tok/callback", {"type": 3}),
    (
        "POST",
        f"/interactions/{INTERACTION}/tok/callback",
        {"type": 9, "data": {"custom_id": "m", "title": "t"}},
    ),
    (
        "POST",
        f"/guilds/{GUILD}/scheduled-events",
        {"name": "x", "entity_type": 2, "privacy_level": 2, "scheduled_start_time": START.isoformat()},
    ),
    (
        "POST",
        f"/guilds/{GUILD}/scheduled-events",
        {"name": "x", "entity_type": 3, "privacy_level": 2, "scheduled_start_time": START.isoformat()},
    ),
    (
        "POST",
        f"/guilds/{GUILD}/scheduled-events",
        {"name": "x", "entity_type": 7, "privacy_level": 2, "scheduled_start_time": START.isoformat()},
    ),
]


def test_union_shortcut_gives_the_same_answers_as_plain_jsonschema(
    spec: OpenAPISpec, http: tuple[HTTPClient, Recorder]
) -> None:
    assert spec.path is not None
    plain = OpenAPISpec(json.loads(spec.path.read_text(encoding="utf-8")), fast_unions=False)
    client, recorder = http
    for build in VALID.values():
        build(client)
    requests = [(s.method, s.path, s.query, s.body, s.content_type) for s in recorder.sent]
    requests += [(m, p, {}, body, "application/json") for m, p, body in UNION_CASES]
    for request in requests:
        assert spec.validate(*request) == plain.validate(*request), request


def test_permission_bit_sets_may_be_strings_as_discord_documents(spec: OpenAPISpec) -> None:
    path = "/channels/1234567890123456/permissions/2234567890123456"
    assert spec.validate("PUT", path, {}, {"allow": "1024", "deny": "0", "type": 0}, "application/json") == []
    assert spec.validate("PUT", path, {}, {"allow": 1024, "deny": 0, "type": 0}, "application/json") == []
    problems = spec.validate("PUT", path, {}, {"allow": "lots", "deny": "0", "type": 0}, "application/json")
    assert problems and "allow" in problems[0]
