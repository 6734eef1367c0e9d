"""The loopback Discord: REST v10 under /api/v10, the gateway at /gateway, voice beside them.

    async with Sandbox(world=World.default()) as sandbox:
        DiscordEndpoints(sandbox.api_base_url, sandbox.gateway_url).apply(client)  # bot.adapters.endpoints
        await client.start(sandbox.world.bot_token)

Everything listens on 127.0.0.1 with ephemeral ports. The sandbox keeps what tests check:
`request_log`, `spec_violations`, `unknown_routes`, `invalid_requests`, and awaitable waits.
`clock` (monotonic seconds) times the 3-second interaction deadline, token lifetimes and rate
limits; a compressed demo passes a faster one. Wall-clock time (snowflakes, nonce window, event
times) comes from `World(now=...)`.
"""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from loopback.events import Events
from loopback.gateway import Gateway, GatewaySession
from loopback.people import SimulatedPerson
from loopback.ratelimit import FaultPlan, InvalidRequestCounter, RateLimiter
from loopback.rest import API_PREFIX, RequestRecord, RestApi, SpecViolation
from loopback.routes import build_router
from loopback.rules import RuleState, sweep
from loopback.signals import Signals
from loopback.spec import OpenAPISpec
from loopback.voice import VoiceServer
from loopback.world import Channel, Guild, Message, Permission, World

log = logging.getLogger(__name__)

T = TypeVar("T")
_AUTO: Any = object()


class Sandbox:
    """A Discord (REST, gateway, voice) on loopback for the real discord.py client."""

    def __init__(
        self,
        world: World | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        spec: OpenAPISpec | None = _AUTO,
        rate_limiter: RateLimiter | None = _AUTO,
        voice: bool | VoiceServer = True,
        heartbeat_interval_ms: int = 41250,
        interaction_deadline: float = 3.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.world = world if world is not None else World.default()
        self.clock = clock
        self.host = host
        self.interaction_deadline = interaction_deadline
        self.spec: OpenAPISpec | None = OpenAPISpec.locate() if spec is _AUTO else spec
        self.rate_limiter: RateLimiter | None = RateLimiter(clock=clock) if rate_limiter is _AUTO else rate_limiter
        self.faults = FaultPlan()
        self.invalid_requests = InvalidRequestCounter(clock=clock)
        if isinstance(voice, VoiceServer):
            self.voice: VoiceServer | None = voice
        else:
            self.voice = VoiceServer() if voice else None
        self.signals = Signals()
        self.validated_requests = 0
        self.spec_violations: list[SpecViolation] = []
        self.request_log: list[RequestRecord] = []
        self.unknown_routes: list[tuple[str, str]] = []
        self.late_callbacks: list[int] = []
        self.nonce_hits: list[int] = []
        self.voice_refusals: list[dict[str, Any]] = []
        # Discord may hand a joining client a second voice server (a new token) before the first is
        # reached; set by tests to send one more VOICE_SERVER_UPDATE after the bot's next join.
        self.reassign_voice_server_once = False
        self.cdn_requests: list[str] = []
        self.gateway = Gateway(
            self.world,
            self.signals,
            lambda: self.gateway_url,
            heartbeat_interval_ms=heartbeat_interval_ms,
            on_voice_state=self._on_voice_state,
        )
        self.events = Events(self.world, self.gateway, lambda: self.base_url)
        self._rest = RestApi(self, build_router())
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._people: dict[int, SimulatedPerson] = {}
        self.rule_state = RuleState()
        self._rules_task: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on an ephemeral loopback port (and start the voice server)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest.handle)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        for prefix in ("", "/media"):
            route = prefix + "/ephemeral-attachments/{application_id}/{attachment_id}/{filename}"
            app.router.add_get(route, self._upload)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        if self.voice is not None:
            await self.voice.start(self.host)
        self._rules_task = asyncio.create_task(self._keep_rules(), name="loopback-discord-rules")
        log.info("sandbox Discord listening on %s (gateway %s)", self.api_base_url, self.gateway_url)

    async def stop(self) -> None:
        """Close the gateway connections, the listener and the voice server."""
        if self._rules_task is not None:
            self._rules_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rules_task
            self._rules_task = None
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.voice is not None:
            await self.voice.stop()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _keep_rules(self) -> None:
        """Discord's timed rules (loopback.rules): Stages without a speaker end, unstarted events are cancelled."""
        while True:
            await asyncio.sleep(self.world.rules.sweep_seconds)
            sweep(self.world, self.events, self.rule_state)
            self.rule_state.sweeps += 1
            self.signals.poke()  # also lets a test wait, event by event, for time to pass on the world's clock

    def enforce_voice_permissions(self, channel: Channel) -> None:
        """Permissions changed: whoever in the channel lost Video has their camera and screen share stopped."""
        for state in list(self.world.guild.voice_states.values()):
            if state.channel_id != channel.id or not (state.self_video or state.self_stream):
                continue
            member = self.world.guild.members.get(state.user_id)
            if member is None or self.world.permissions_in(member, channel) & Permission.STREAM:
                continue
            state.self_video = state.self_stream = False
            self.events.voice_state_changed(state)

    # ---- addresses ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT."""
        if not self._port:
            raise RuntimeError("Sandbox.start() has not been awaited")
        return f"http://{self.host}:{self._port}"

    @property
    def api_base_url(self) -> str:
        """The REST base, for discord.http.Route.BASE."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The gateway websocket URL (GET /gateway/bot and READY's resume_gateway_url give it too)."""
        return f"ws://{self.host}:{self._port}/gateway"

    # ---- people and reading the world ------------------------------------------------------------

    def person(self, who: int | str, guild: Guild | None = None) -> SimulatedPerson:
        """A simulated member, by user id or name; in another guild than the first when `guild` is given."""
        if guild is not None and guild is not self.world.guild:
            user_id = who if isinstance(who, int) else self.world.find_member(who).id
            return SimulatedPerson(self, self.world.member(user_id, guild))
        member = self.world.find_member(who)
        if member.id not in self._people:
            self._people[member.id] = SimulatedPerson(self, member)
        return self._people[member.id]

    async def join_guild(
        self, username: str, name: str | None = None, *, roles: Iterable[str] = (), dms_closed: bool = False
    ) -> SimulatedPerson:
        """Someone new joins the guild (GUILD_MEMBER_ADD); returns them as a simulated person."""
        member = self.world.add_member(
            username, name, roles=[self.world.find_role(r) for r in roles], dms_closed=dms_closed
        )
        self.events.member_added(member)
        return self.person(member.id)

    def channel_messages(self, channel: int | str | Channel) -> list[Message]:
        """A channel's visible messages, oldest first."""
        return self.world.history(self.world.find_channel(channel).id)

    # ---- waiting --------------------------------------------------------------------------------

    async def wait_until(
        self, condition: Callable[[], T | None], *, timeout: float = 5.0, what: str = "a condition"
    ) -> T:
        """Wait (event-driven) until `condition()` is truthy; fails the test after `timeout`."""
        return await self.signals.wait_until(condition, timeout=timeout, what=what)

    async def wait_for_identify(self, count: int = 1, *, timeout: float = 10.0) -> int:
        """Wait for the `count`-th IDENTIFY."""
        return await self.signals.wait_count("identify", count, timeout=timeout)

    async def wait_for_ready(self, count: int = 1, *, timeout: float = 10.0) -> int:
        """Wait until READY has been sent `count` times."""
        return await self.signals.wait_count("ready", count, timeout=timeout)

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 10.0) -> int:
        """Wait until `count` sessions have been RESUMED."""
        return await self.signals.wait_count("resumed", count, timeout=timeout)

    async def wait_for_dispatch(self, event: str, count: int = 1, *, timeout: float = 10.0) -> int:
        """Wait until the `count`-th dispatch of `event` (e.g. 'VOICE_SERVER_UPDATE')."""
        return await self.signals.wait_count(f"dispatch:{event}", count, timeout=timeout)

    async def wait_for_commands(self, *names: str, timeout: float = 10.0) -> None:
        """Wait until the bot has registered commands with these names."""
        await self.wait_until(
            lambda: set(names) <= {c.name for c in self.world.commands.values()},
            timeout=timeout,
            what=f"commands {sorted(names)} to be registered",
        )

    # ---- gateway test hooks -----------------------------------------------------------------------

    async def drop_gateway(self, resumable: bool = True, *, code: int | None = None) -> int:
        """Close the bot's gateway socket: 4000 (resumable) or invalidate the session and close 4009."""
        return await self.gateway.drop(resumable=resumable, code=code)

    def gateway_outage(
        self, resumable: bool = True, *, code: int | None = None
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Drop the gateway and hold reconnections until the block ends (events meanwhile wait for RESUME)."""
        return self.gateway.outage(resumable=resumable, code=code)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9) to the connected bot."""
        await self.gateway.invalidate(resumable=resumable)

    def request_reconnect(self) -> None:
        """Send RECONNECT (op 7) to the connected bot."""
        self.gateway.request_reconnect()

    # ---- voice ----------------------------------------------------------------------------------

    async def _on_voice_state(self, session: GatewaySession, data: dict[str, Any]) -> None:
        """Op 4 from the bot: join, move or leave voice; then VOICE_STATE_UPDATE (+ VOICE_SERVER_UPDATE)."""
        world = self.world
        bot_id = world.bot_user.id
        if str(data.get("guild_id")) != str(world.guild.id):
            self.voice_refusals.append({"reason": "unknown guild", **data})
            return
        channel_id = data.get("channel_id")
        if channel_id is None:
            left = world.leave_voice(bot_id)
            if left is not None:
                self.events.voice_state_changed(left, left=True)
                await self.voice_left(bot_id)
            return
        try:
            channel = world.channel(int(channel_id))
        except Exception:  # noqa: BLE001 - an unknown channel is ignored, as Discord does
            self.voice_refusals.append({"reason": "unknown channel", **data})
            return
        needed = Permission.VIEW_CHANNEL | Permission.CONNECT
        if not channel.is_voice or world.permissions_in(world.bot_member(), channel) & needed != needed:
            log.warning("sandbox gateway: ignoring op 4 to channel %s (not voice, or no CONNECT)", channel_id)
            self.voice_refusals.append({"reason": "not a voice channel or no CONNECT", **data})
            return
        previous = world.voice_state(bot_id)
        state = world.join_voice(
            bot_id,
            channel,
            session.id,
            self_mute=bool(data.get("self_mute")),
            self_deaf=bool(data.get("self_deaf")),
        )
        self.events.voice_state_changed(state)
        if previous is not None and previous.channel_id == channel.id:
            return
        for _ in range(2 if self.reassign_voice_server_once else 1):
            token = secrets.token_hex(8)
            endpoint = None
            if self.voice is not None:
                self.voice.expect(world.guild.id, channel.id, bot_id, session.id, token)
                endpoint = self.voice.endpoint
            self.events.voice_server_update(token, endpoint, session_id=session.id)
        self.reassign_voice_server_once = False

    async def voice_left(self, user_id: int) -> None:
        """Tell the voice server someone left voice (their voice connection ends)."""
        if self.voice is not None:
            await self.voice.disconnect(user_id, self.world.guild.id)

    # ---- attachments ----------------------------------------------------------------------------

    async def _attachment(self, request: web.Request) -> web.Response:
        """Serve an attachment's bytes (the URL in attachment payloads points here)."""
        attachment_id = int(request.match_info["attachment_id"])
        for message in self.world.messages.values():
            for attachment in message.attachments:
                if attachment.id == attachment_id:
                    return web.Response(
                        body=attachment.data,
                        content_type=attachment.content_type or "application/octet-stream",
                    )
        raise web.HTTPNotFound()

    async def _upload(self, request: web.Request) -> web.Response:
        """Serve a file uploaded with a slash command, as Discord's CDN does: only at an unexpired signed link."""
        self.cdn_requests.append(str(request.rel_url))
        path = request.rel_url.raw_path.removeprefix("/media")
        attachment = self.world.served_upload(path, dict(request.rel_url.query))
        if attachment is None:
            # Discord's CDN answers a bad or expired link with a plain 404 page like this one.
            return web.Response(status=404, text="This content is no longer available.")
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    # ---- recording for tests ----------------------------------------------------------------------

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        """Logged requests for a spec route template, e.g. ('POST', '/channels/{channel_id}/messages')."""
        return [r for r in self.request_log if r.method == method and r.route == route]
