"""Gateway v10 over a websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME, intents, zlib-stream.

One `GatewaySession` per IDENTIFY: it numbers its dispatches and keeps them, so a client that
RESUMEs gets what it missed. A `Connection` is one websocket; a session outlives its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any

from aiohttp import WSMsgType, web

from loopback import payloads
from loopback.signals import Signals
from loopback.world import ApplicationFlag, Guild, World

log = logging.getLogger(__name__)


class Intent(IntFlag):
    """Gateway intents."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    AUTO_MODERATION_CONFIGURATION = 1 << 20
    AUTO_MODERATION_EXECUTION = 1 << 21
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25


ALL_INTENTS = sum(int(i) for i in Intent)

# Which intent a guild dispatch needs. Events not listed (READY, RESUMED, INTERACTION_CREATE,
# VOICE_SERVER_UPDATE, GUILD_MEMBERS_CHUNK) are always sent.
_GUILD_EVENT_INTENTS: dict[str, Intent] = {
    "GUILD_CREATE": Intent.GUILDS,
    "GUILD_UPDATE": Intent.GUILDS,
    "GUILD_DELETE": Intent.GUILDS,
    "GUILD_ROLE_CREATE": Intent.GUILDS,
    "GUILD_ROLE_UPDATE": Intent.GUILDS,
    "GUILD_ROLE_DELETE": Intent.GUILDS,
    "CHANNEL_CREATE": Intent.GUILDS,
    "CHANNEL_UPDATE": Intent.GUILDS,
    "CHANNEL_DELETE": Intent.GUILDS,
    "THREAD_CREATE": Intent.GUILDS,
    "THREAD_UPDATE": Intent.GUILDS,
    "THREAD_DELETE": Intent.GUILDS,
    "THREAD_MEMBER_UPDATE": Intent.GUILDS,
    "THREAD_MEMBERS_UPDATE": Intent.GUILDS,
    "STAGE_INSTANCE_CREATE": Intent.GUILDS,
    "STAGE_INSTANCE_UPDATE": Intent.GUILDS,
    "STAGE_INSTANCE_DELETE": Intent.GUILDS,
    "GUILD_MEMBER_ADD": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": Intent.GUILD_MEMBERS,
    "VOICE_STATE_UPDATE": Intent.GUILD_VOICE_STATES,
    "GUILD_SCHEDULED_EVENT_CREATE": Intent.GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_UPDATE": Intent.GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_DELETE": Intent.GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_ADD": Intent.GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_REMOVE": Intent.GUILD_SCHEDULED_EVENTS,
    "MESSAGE_CREATE": Intent.GUILD_MESSAGES,
    "MESSAGE_UPDATE": Intent.GUILD_MESSAGES,
    "MESSAGE_DELETE": Intent.GUILD_MESSAGES,
    "TYPING_START": Intent.GUILD_MESSAGE_TYPING,
}
_DM_EVENT_INTENTS: dict[str, Intent] = {
    "MESSAGE_CREATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_UPDATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_DELETE": Intent.DIRECT_MESSAGES,
    "CHANNEL_PINS_UPDATE": Intent.DIRECT_MESSAGES,
    "TYPING_START": Intent.DIRECT_MESSAGE_TYPING,
}
# What a message event carries without MESSAGE_CONTENT (the poll is left out altogether).
_BLANKED_CONTENT: dict[str, Any] = {"content": "", "embeds": [], "attachments": [], "components": []}


def intent_for(event: str, *, in_guild: bool) -> Intent | None:
    """The intent a dispatch needs, or None when every session receives it."""
    table = _GUILD_EVENT_INTENTS if in_guild else _DM_EVENT_INTENTS
    return table.get(event)


class Op:
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Close:
    """Gateway close codes."""

    UNKNOWN_ERROR = 4000
    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SEQ = 4007
    SESSION_TIMED_OUT = 4009
    INVALID_SHARD = 4010
    INVALID_API_VERSION = 4012
    INVALID_INTENTS = 4013
    DISALLOWED_INTENTS = 4014


@dataclass
class Dispatch:
    """One numbered dispatch kept for RESUME."""

    seq: int
    event: str
    data: Any


@dataclass
class GatewaySession:
    """An identified session: its intents, sequence and the dispatches it was sent."""

    id: str
    intents: int
    shard: list[int] | None
    history: deque[Dispatch] = field(default_factory=lambda: deque(maxlen=5000))
    seq: int = 0
    connection: Connection | None = None
    invalid: bool = False
    presence: dict[str, Any] | None = None

    def has(self, intent: Intent) -> bool:
        """Whether this session asked for `intent`."""
        return bool(self.intents & intent)


class Connection:
    """One websocket: encodes (and zlib-stream compresses) frames in order through a writer task."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self.compress = compress
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop())
        self.session: GatewaySession | None = None
        self.close_code: int | None = None

    def send(self, payload: dict[str, Any]) -> None:
        """Queue a payload; frames leave in the order they were queued."""
        self._outbox.put_nowait(payload)

    def encode(self, payload: dict[str, Any]) -> bytes | str:
        """JSON text, or one zlib-stream chunk ending in the Z_SYNC_FLUSH marker 00 00 ff ff."""
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is None:
            return text
        return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    async def _write_loop(self) -> None:
        while True:
            payload = await self._outbox.get()
            if payload is None:
                return
            frame = self.encode(payload)
            try:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return

    async def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then close the socket with `code`."""
        self.close_code = code
        self._outbox.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._writer
        await self.ws.close(code=code, message=reason.encode())

    def stop_writer(self) -> None:
        """Stop the writer task (the socket is already gone)."""
        self._writer.cancel()


VoiceHandler = Callable[[GatewaySession, dict[str, Any]], Awaitable[None]]


class Gateway:
    """The gateway endpoint: sessions, dispatch with intent filtering, and the test hooks."""

    def __init__(
        self,
        world: World,
        signals: Signals,
        url: Callable[[], str],
        *,
        heartbeat_interval_ms: int = 41250,
        on_voice_state: VoiceHandler | None = None,
    ) -> None:
        self.world = world
        self.signals = signals
        self._url = url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.on_voice_state = on_voice_state
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[Connection] = set()
        self.received: list[dict[str, Any]] = []
        self.last_resume_replayed = 0
        self._open = asyncio.Event()
        self._open.set()

    # ---- the websocket endpoint ----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket until it closes."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress")
        connection = Connection(ws, compress)
        self.connections.add(connection)
        self.signals.bump("connect")
        try:
            problem = self._check_query(request)
            if problem is not None:
                await connection.close(*problem)
                return ws
            await self._open.wait()
            connection.send(
                {
                    "op": Op.HELLO,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["sandbox-gateway"]},
                    "s": None,
                    "t": None,
                }
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    raw: str | bytes = msg.data
                elif msg.type is WSMsgType.BINARY:
                    raw = msg.data
                else:
                    break
                try:
                    payload = json.loads(raw)
                except ValueError:
                    await connection.close(Close.DECODE_ERROR, "Decode error")
                    break
                await self._receive(connection, payload)
                if ws.closed:
                    break
        finally:
            self.connections.discard(connection)
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
            connection.stop_writer()
            self.signals.bump("disconnect")
        return ws

    def _check_query(self, request: web.Request) -> tuple[int, str] | None:
        if request.query.get("v") not in (None, "10"):
            return Close.INVALID_API_VERSION, "Invalid API version"
        if request.query.get("encoding", "json") != "json":
            return 1003, "the sandbox gateway speaks encoding=json only"
        if request.query.get("compress") not in (None, "zlib-stream"):
            return 1003, "the sandbox gateway supports compress=zlib-stream only"
        return None

    async def _receive(self, connection: Connection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        self.received.append(payload)
        if op == Op.HEARTBEAT:
            connection.send({"op": Op.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            self.signals.bump("heartbeat")
        elif op == Op.IDENTIFY:
            await self._identify(connection, data or {})
        elif op == Op.RESUME:
            await self._resume(connection, data or {})
        elif connection.session is None:
            await connection.close(Close.NOT_AUTHENTICATED, "Not authenticated.")
        elif op == Op.VOICE_STATE_UPDATE:
            self.signals.bump("op4")
            if self.on_voice_state is not None:
                await self.on_voice_state(connection.session, data or {})
        elif op == Op.REQUEST_GUILD_MEMBERS:
            self._request_members(connection.session, data or {})
        elif op == Op.PRESENCE_UPDATE:
            connection.session.presence = data
        else:
            await connection.close(Close.UNKNOWN_OPCODE, "Unknown opcode.")

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await connection.close(Close.ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if data.get("token") != self.world.bot_token:
            await connection.close(Close.AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            await connection.close(Close.INVALID_INTENTS, "Invalid intent(s).")
            return
        if not self._privileged_allowed(intents):
            await connection.close(Close.DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is not None and (len(shard) != 2 or not 0 <= shard[0] < shard[1] or shard[1] != 1):
            await connection.close(Close.INVALID_SHARD, "Invalid shard.")
            return
        self.signals.bump("identify")
        session = GatewaySession(id=secrets.token_hex(16), intents=intents, shard=shard, presence=data.get("presence"))
        self.sessions[session.id] = session
        session.connection = connection
        connection.session = session
        world = self.world
        ready = {
            "v": 10,
            "user": payloads.current_user(world),
            "guilds": [payloads.unavailable_guild(world, guild) for guild in world.bot_guilds()],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._url(),
            "application": {"id": str(world.application.id), "flags": int(world.application.flags)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["sandbox"],
            "_trace": ["sandbox-gateway"],
        }
        if shard is not None:
            ready["shard"] = shard
        self._send_dispatch(session, "READY", ready)
        self.signals.bump("ready")
        if session.has(Intent.GUILDS):
            for guild in world.bot_guilds():
                self._send_dispatch(
                    session,
                    "GUILD_CREATE",
                    payloads.guild_create(world, member_ids=self._initial_members(session, guild), g=guild),
                )

    def _privileged_allowed(self, intents: int) -> bool:
        app = self.world.application
        checks = (
            (
                Intent.GUILD_MEMBERS,
                ApplicationFlag.GATEWAY_GUILD_MEMBERS,
                ApplicationFlag.GATEWAY_GUILD_MEMBERS_LIMITED,
            ),
            (
                Intent.GUILD_PRESENCES,
                ApplicationFlag.GATEWAY_PRESENCE,
                ApplicationFlag.GATEWAY_PRESENCE_LIMITED,
            ),
            (
                Intent.MESSAGE_CONTENT,
                ApplicationFlag.GATEWAY_MESSAGE_CONTENT,
                ApplicationFlag.GATEWAY_MESSAGE_CONTENT_LIMITED,
            ),
        )
        return all(not intents & intent or app.allows(full, limited) for intent, full, limited in checks)

    def _initial_members(self, session: GatewaySession, guild: Guild) -> list[int]:
        """GUILD_CREATE lists all members only with GUILD_PRESENCES; else the bot and people in voice."""
        if session.has(Intent.GUILD_PRESENCES):
            return list(guild.members)
        ids = [self.world.bot_user.id, *guild.voice_states]
        return list(dict.fromkeys(ids))

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            await connection.close(Close.ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if data.get("token") != self.world.bot_token:
            await connection.close(Close.AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.invalid or not isinstance(seq, int):
            self.signals.bump("invalid_session")
            connection.send({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if seq > session.seq:
            await connection.close(Close.INVALID_SEQ, "Invalid seq.")
            return
        missed = [d for d in session.history if d.seq > seq]
        if session.seq > seq and (not missed or missed[0].seq != seq + 1):
            # The history no longer reaches back far enough.
            self.signals.bump("invalid_session")
            connection.send({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        old = session.connection
        if old is not None and old is not connection:
            old.session = None
            await old.close(Close.UNKNOWN_ERROR, "Session resumed elsewhere.")
        session.connection = connection
        connection.session = session
        for dispatch in missed:
            connection.send({"op": Op.DISPATCH, "t": dispatch.event, "s": dispatch.seq, "d": dispatch.data})
        self.last_resume_replayed = len(missed)
        self._send_dispatch(session, "RESUMED", {"_trace": ["sandbox-gateway"]})
        self.signals.bump("resumed")

    def _request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or self.world.guild.id), self.world.guild)
        query = str(data.get("query") or "").casefold()
        limit = int(data.get("limit") or 0)
        user_ids = {int(u) for u in data.get("user_ids") or []} if data.get("user_ids") is not None else None
        found = []
        if session.has(Intent.GUILD_MEMBERS) or user_ids is not None or query:
            for m in guild.members.values():
                if user_ids is not None and m.id not in user_ids:
                    continue
                names = (m.user.username, m.user.global_name or "", m.nick or "")
                if query and not any(n.casefold().startswith(query) for n in names):
                    continue
                found.append(m)
        if limit:
            found = found[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [payloads.member(self.world, m) for m in found],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if user_ids is not None:
            chunk["not_found"] = [str(u) for u in user_ids if u not in guild.members]
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ---- dispatch ------------------------------------------------------------------------------

    def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        session.seq += 1
        session.history.append(Dispatch(session.seq, event, data))
        if session.connection is not None:
            session.connection.send({"op": Op.DISPATCH, "t": event, "s": session.seq, "d": data})
        self.signals.bump(f"dispatch:{event}")

    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        in_guild: bool = True,
        content_exempt: bool = True,
        only: Callable[[GatewaySession], bool] | None = None,
    ) -> int:
        """Send an event to every live (or resumable) session that asked for it; returns how many got it.

        `content_exempt=False` marks a message event whose content fields are blanked for sessions
        without MESSAGE_CONTENT (Discord exempts the bot's own messages, DMs and mentions).
        """
        needed = intent_for(event, in_guild=in_guild)
        delivered = 0
        for session in list(self.sessions.values()):
            if session.invalid:
                continue
            if needed is not None and not session.has(needed):
                continue
            if only is not None and not only(session):
                continue
            body = data
            if not content_exempt and not session.has(Intent.MESSAGE_CONTENT):
                body = {key: value for key, value in data.items() if key != "poll"} | _BLANKED_CONTENT
            self._send_dispatch(session, event, body)
            delivered += 1
        return delivered

    def send_op(self, session: GatewaySession, op: int, data: Any) -> None:
        """Send a non-dispatch opcode (e.g. RECONNECT) on the session's live connection."""
        if session.connection is not None:
            session.connection.send({"op": op, "d": data, "s": None, "t": None})

    # ---- test hooks -----------------------------------------------------------------------------

    def live_sessions(self) -> list[GatewaySession]:
        """Sessions that currently have a connection."""
        return [s for s in self.sessions.values() if s.connection is not None and not s.invalid]

    async def drop(self, *, resumable: bool, code: int | None = None) -> int:
        """Close every live connection; non-resumable also invalidates the sessions. Returns how many."""
        connections = [c for c in list(self.connections) if c.session is not None]
        for connection in connections:
            session = connection.session
            if session is not None and not resumable:
                session.invalid = True
            close_code = code if code is not None else (Close.UNKNOWN_ERROR if resumable else Close.SESSION_TIMED_OUT)
            await connection.close(close_code, "sandbox: dropped by the test")
        return len(connections)

    async def invalidate(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9) on every live connection, as Discord does on a bad session."""
        for session in self.live_sessions():
            if not resumable:
                session.invalid = True
            self.send_op(session, Op.INVALID_SESSION, resumable)

    def request_reconnect(self) -> None:
        """Send RECONNECT (op 7): the client should reconnect and RESUME."""
        for session in self.live_sessions():
            self.send_op(session, Op.RECONNECT, None)

    @contextlib.asynccontextmanager
    async def outage(self, *, resumable: bool, code: int | None = None) -> AsyncIterator[None]:
        """Drop the connections and hold new ones before HELLO until the block ends."""
        self._open.clear()
        try:
            await self.drop(resumable=resumable, code=code)
            yield
        finally:
            self._open.set()

    async def close_all(self) -> None:
        """Close every connection (server shutdown)."""
        self._open.set()
        for connection in list(self.connections):
            with contextlib.suppress(Exception):
                await connection.close(1001, "sandbox shutting down")
