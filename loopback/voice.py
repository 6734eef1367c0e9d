"""The sandbox's voice server: Discord's voice gateway v8 (aiohttp websocket) and voice UDP on loopback.

The main gateway calls `expect()` when it sends VOICE_SERVER_UPDATE and `disconnect()` when a user
leaves voice or is kicked. Tests read `capture` (decrypted Opus frames) and await the `wait_for_*`
hooks instead of sleeping. Validation and state live in `voice_sessions`, wire formats in
`voice_protocol`; this module only moves bytes between them and the sockets.
"""

# The wait_for_* hooks take a deadline on purpose: a test names how long an event may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from loopback.capture import Capture, Changes, Frame
from loopback.voice_protocol import (
    GATEWAY_VERSION,
    RTP_PAYLOAD_TYPE_OPUS,
    ForgedPacket,
    MalformedPacket,
    SpeakingFlag,
    VoiceClose,
    VoiceOp,
    VoiceProtocolError,
    heartbeat_ack,
    heartbeat_nonce,
    hello,
    ip_discovery_response,
    is_rtcp,
    is_rtp,
    open_xchacha20_rtpsize,
    parse_ip_discovery_request,
    ready,
    resumed,
)
from loopback.voice_sessions import Expected, VoiceSession, VoiceSessions

_log = logging.getLogger(__name__)

T = TypeVar("T")

# Client ops we accept and record but need not act on: DAVE replies (we never start DAVE) and
# discord.py's legacy CLIENT_CONNECT.
_IGNORED_OPS = frozenset({VoiceOp.CLIENT_CONNECT, VoiceOp.DAVE_TRANSITION_READY, VoiceOp.MLS_INVALID_COMMIT_WELCOME})


@dataclass(frozen=True, slots=True)
class Received:
    """A message a client sent on its voice websocket (binary ones keep their raw payload)."""

    arrival: float
    user_id: int | None  # None before IDENTIFY/RESUME
    op: int
    data: Any


class _Link:
    """One open voice websocket and the session it speaks for."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.session: VoiceSession | None = None
        self._lock = asyncio.Lock()  # several tasks (peers' handlers) may send to one socket

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message, never interleaved with another sender's."""
        async with self._lock:
            await self.ws.send_json(message)


class _UdpProtocol(asyncio.DatagramProtocol):
    """Hands every datagram to the server; keeps no state of its own."""

    def __init__(self, server: VoiceServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._server._on_datagram(data, addr)


class VoiceServer:
    """Loopback Discord voice server: websocket handshake, IP discovery, and decryption into `capture`."""

    def __init__(self, *, heartbeat_interval_ms: float = 13_750.0) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.capture = Capture()
        self.sessions = VoiceSessions()
        self.received: list[Received] = []
        self.discoveries: list[tuple[int, tuple[str, int]]] = []  # (ssrc, source) of answered requests
        self._changes = Changes()
        self._links: dict[VoiceSession, _Link] = {}
        self._open: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # closes started by the synchronous expect()
        self._runner: web.AppRunner | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._host = "127.0.0.1"
        self._ws_port = 0
        self._udp_port = 0
        # Users whose UDP path is down (their packets are lost) and whose voice websocket is refused.
        self.udp_down: set[int] = set()
        self.refused: set[int] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1") -> None:
        """Listen for voice websockets and UDP on ephemeral ports of `host`."""
        self._host = host
        app = web.Application()
        app.router.add_get("/", self._handle_websocket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        self._ws_port = self._runner.addresses[0][1]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=(host, 0))
        self._udp = transport
        self._udp_port = transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        """Close every websocket, the listener and the UDP socket."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._open):
            await ws.close(code=1001, message=b"Voice server stopping.")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    @property
    def endpoint(self) -> str:
        """`host:port` of the voice websocket, as VOICE_SERVER_UPDATE's `endpoint` carries it."""
        if not self._ws_port:
            raise RuntimeError("VoiceServer.start() has not been awaited")
        return f"{self._host}:{self._ws_port}"

    @property
    def udp_address(self) -> tuple[str, int]:
        """Where clients send voice packets (READY's `ip` and `port`)."""
        return self._host, self._udp_port

    # --- what the main gateway calls -------------------------------------------------------

    def expect(self, guild_id: int, channel_id: int, user_id: int, session_id: str, token: str) -> None:
        """Authorise the voice IDENTIFY that this VOICE_STATE_UPDATE/VOICE_SERVER_UPDATE pair allows."""
        stale = self.sessions.get(user_id, guild_id)
        self.sessions.expect(Expected(guild_id, channel_id, user_id, session_id, token))
        if stale is not None and stale.token != token:
            # A new VOICE_SERVER_UPDATE (a channel move, a re-join) ends the old voice connection
            # with 4014; discord.py relies on that close to re-identify with the new token.
            self.sessions.end(stale)
            task = asyncio.get_running_loop().create_task(self._end_connection(stale, b"Voice server changed."))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def disconnect(self, user_id: int, guild_id: int | None = None) -> bool:
        """End a user's voice sessions like a kick: close 4014, tell the channel; False if none existed."""
        gone = self.sessions.leave(user_id, guild_id)
        for session in gone:
            await self._end_connection(session, b"Disconnected.")
        return bool(gone)

    async def _end_connection(self, session: VoiceSession, reason: bytes) -> None:
        link = self._detach(session)
        if link is not None:
            await link.ws.close(code=VoiceClose.DISCONNECTED, message=reason)
        for peer in self.sessions.peers(session):
            await self._send_numbered(peer, {"op": VoiceOp.CLIENT_DISCONNECT, "d": {"user_id": str(session.user_id)}})
        self._changes.notify()

    # --- test hooks ------------------------------------------------------------------------

    async def crash(self, user_id: int, guild_id: int | None = None) -> bool:
        """Close a user's voice websocket with 4015 (server crashed) but keep the session to RESUME."""
        session = self.sessions.get(user_id, guild_id)
        link = self._detach(session) if session is not None else None
        if link is None:
            return False
        await link.ws.close(code=VoiceClose.VOICE_SERVER_CRASHED, message=b"Voice server crashed.")
        self._changes.notify()
        return True

    async def outage(self, user_id: int, guild_id: int | None = None) -> bool:
        """The network path to a user breaks: UDP lost, websocket closed, new ones refused until `end_outage`."""
        self.udp_down.add(user_id)
        self.refused.add(user_id)
        session = self.sessions.get(user_id, guild_id)
        link = self._detach(session) if session is not None else None
        if session is not None:
            self.sessions.end(session)  # nothing left to RESUME: the client must connect afresh
        if link is not None:
            # 4006 "session no longer valid": discord.py has no special case for it and reconnects.
            await link.ws.close(code=VoiceClose.SESSION_NO_LONGER_VALID, message=b"Session is no longer valid.")
        self._changes.notify()
        return link is not None

    def drop_udp(self, user_id: int) -> None:
        """Only the UDP path breaks: the user's voice packets are lost, the websocket carries on."""
        self.udp_down.add(user_id)
        self._changes.notify()

    def end_outage(self, user_id: int) -> None:
        """The network path is back: packets flow and connections are accepted again."""
        self.udp_down.discard(user_id)
        self.refused.discard(user_id)
        self._changes.notify()

    def send_udp(self, datagram: bytes, address: tuple[str, int]) -> None:
        """Send a raw datagram from the voice UDP address (clients' sockets only accept that source)."""
        if self._udp is None:
            raise RuntimeError("VoiceServer.start() has not been awaited")
        self._udp.sendto(datagram, address)

    def session(self, user_id: int, guild_id: int | None = None) -> VoiceSession | None:
        """A user's current voice session, if any."""
        return self.sessions.get(user_id, guild_id)

    async def wait_until(self, probe: Callable[[], T | None], timeout: float = 5.0, what: str = "") -> T:
        """Wait for any server-side state (re-checked after each websocket event) to satisfy `probe`."""
        return await self._changes.wait_until(probe, timeout, what or "a voice server condition")

    async def wait_for_connection(
        self, user_id: int, guild_id: int | None = None, timeout: float = 5.0
    ) -> VoiceSession:
        """Wait until the user has a key and a live websocket (handshake through SESSION_DESCRIPTION)."""

        def probe() -> VoiceSession | None:
            session = self.sessions.get(user_id, guild_id)
            return session if session is not None and session.connected else None

        return await self.wait_until(probe, timeout, f"user {user_id} to connect to voice")

    async def wait_for_speaking(
        self,
        user_id: int,
        speaking: int = SpeakingFlag.MICROPHONE,
        guild_id: int | None = None,
        timeout: float = 5.0,
    ) -> VoiceSession:
        """Wait until the user's announced SPEAKING flags equal `speaking` (0 waits for silence)."""

        def probe() -> VoiceSession | None:
            session = self.sessions.get(user_id, guild_id)
            return session if session is not None and session.speaking == speaking else None

        return await self.wait_until(probe, timeout, f"user {user_id} SPEAKING {speaking}")

    # --- websocket -------------------------------------------------------------------------

    async def _handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.query.get("v") != str(GATEWAY_VERSION):
            # Message shapes differ by version; this server speaks only what discord.py 2.7 asks for.
            await ws.close(code=VoiceClose.BAD_REQUEST, message=b"Only voice gateway v8 is served.")
            return ws
        link = _Link(ws)
        self._open.add(ws)
        try:
            await link.send(hello(self.heartbeat_interval_ms))
            await self._serve(link)
        except VoiceProtocolError as exc:
            _log.info("closing voice websocket: %s", exc)
            await ws.close(code=exc.code, message=exc.reason.encode())
        except ConnectionResetError:
            _log.debug("voice websocket went away mid-send")
        finally:
            self._open.discard(ws)
            if link.session is not None and self._links.get(link.session) is link:
                self._detach(link.session)
            self._changes.notify()
        return ws

    async def _serve(self, link: _Link) -> None:
        # Discord ends a session that misses heartbeats; 1.5 intervals leaves room for jitter.
        timeout = self.heartbeat_interval_ms / 1000 * 1.5
        while True:
            try:
                message = await link.ws.receive(timeout=timeout)
            except TimeoutError:
                if link.session is not None:
                    self.sessions.end(link.session)
                raise VoiceProtocolError(VoiceClose.SESSION_TIMEOUT, "Session timed out.") from None
            if message.type is WSMsgType.TEXT:
                await self._on_text(link, message.data)
            elif message.type is WSMsgType.BINARY:
                self._on_binary(link, message.data)
            else:  # CLOSE, CLOSING, CLOSED, ERROR: the client is gone
                return
            self._changes.notify()

    async def _on_text(self, link: _Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "Invalid JSON.") from None
        if (
            not isinstance(message, dict)
            or isinstance(message.get("op"), bool)
            or not isinstance(message.get("op"), int)
        ):
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "A payload needs an integer op.")
        op, data = message["op"], message.get("d")
        session = link.session
        self.received.append(Received(time.monotonic(), session.user_id if session else None, op, data))

        if op == VoiceOp.HEARTBEAT:
            nonce, seq_ack = heartbeat_nonce(data)
            if session is not None:
                session.heartbeats += 1
                if seq_ack is not None:
                    session.acknowledge(seq_ack)
            await link.send(heartbeat_ack(nonce))
        elif op == VoiceOp.IDENTIFY:
            await self._identify(link, data)
        elif op == VoiceOp.RESUME:
            await self._resume(link, data)
        elif session is None:
            raise VoiceProtocolError(VoiceClose.NOT_AUTHENTICATED, "Not authenticated.")
        elif op == VoiceOp.SELECT_PROTOCOL:
            await self._send_numbered(session, self.sessions.select_protocol(session, data))
        elif op == VoiceOp.SPEAKING:
            relay = self.sessions.speaking(session, data)
            for peer in self.sessions.peers(session):
                await self._send_numbered(peer, relay)
        elif op not in _IGNORED_OPS:
            raise VoiceProtocolError(VoiceClose.UNKNOWN_OPCODE, f"Unknown opcode {op}.")

    def _on_binary(self, link: _Link, payload: bytes) -> None:
        # Client binary frames are opcode + body (DAVE/MLS); with DAVE version 0 none are expected.
        if not payload:
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "Empty binary message.")
        user_id = link.session.user_id if link.session else None
        self.received.append(Received(time.monotonic(), user_id, payload[0], payload[1:]))

    async def _identify(self, link: _Link, data: object) -> None:
        if link.session is not None:
            raise VoiceProtocolError(VoiceClose.ALREADY_AUTHENTICATED, "Already authenticated.")
        if isinstance(data, dict) and str(data.get("user_id", "")).isdigit() and int(data["user_id"]) in self.refused:
            raise VoiceProtocolError(VoiceClose.SESSION_NO_LONGER_VALID, "Session is no longer valid.")
        session, replaced = self.sessions.identify(data)
        if replaced is not None:
            old = self._detach(replaced)
            if old is not None:
                await old.ws.close(code=VoiceClose.DISCONNECTED, message=b"Replaced by a new session.")
        self._attach(link, session)
        host, port = self.udp_address
        await link.send(ready(session.ssrc, host, port))
        peers = self.sessions.peers(session)
        if peers:
            ids = [str(peer.user_id) for peer in peers]
            await self._send_numbered(session, {"op": VoiceOp.CLIENTS_CONNECT, "d": {"user_ids": ids}})
        for peer in peers:
            joined = {"op": VoiceOp.CLIENTS_CONNECT, "d": {"user_ids": [str(session.user_id)]}}
            await self._send_numbered(peer, joined)

    async def _resume(self, link: _Link, data: object) -> None:
        if link.session is not None:
            raise VoiceProtocolError(VoiceClose.ALREADY_AUTHENTICATED, "Already authenticated.")
        session, missed = self.sessions.resume(data)
        old = self._detach(session)
        if old is not None:
            await old.ws.close(code=VoiceClose.SESSION_NO_LONGER_VALID, message=b"Resumed elsewhere.")
        self._attach(link, session)
        await link.send(resumed())
        for message in missed:
            await link.send(message)

    def _attach(self, link: _Link, session: VoiceSession) -> None:
        link.session = session
        self._links[session] = link
        session.attached = True

    def _detach(self, session: VoiceSession) -> _Link | None:
        session.attached = False
        return self._links.pop(session, None)

    async def _send_numbered(self, session: VoiceSession, message: dict[str, Any]) -> None:
        numbered = session.number(message)
        link = self._links.get(session)
        if link is not None:
            # A socket closing under us loses nothing: the message stays buffered for RESUME.
            with contextlib.suppress(ConnectionResetError):
                await link.send(numbered)

    # --- UDP -------------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if is_rtcp(data):
            self.capture.reject("rtcp", len(data), source)
        elif is_rtp(data):
            self._on_voice_packet(data, source)
        else:
            self._on_ip_discovery(data, source)

    def _on_ip_discovery(self, data: bytes, source: tuple[str, int]) -> None:
        request = parse_ip_discovery_request(data)
        if request is None:
            self.capture.reject("malformed", len(data), source)
            return
        if self.sessions.by_ssrc(request.ssrc) is None:
            self.capture.reject("unknown_ssrc", len(data), source, request.ssrc)
            return
        # The reply carries the address the request came from, which is the point of discovery.
        if self._udp is None:  # stopped while the datagram was queued
            return
        self._udp.sendto(ip_discovery_response(request.ssrc, source[0], source[1]), source)
        self.discoveries.append((request.ssrc, source))
        self._changes.notify()

    def _on_voice_packet(self, data: bytes, source: tuple[str, int]) -> None:
        arrival = time.monotonic()
        ssrc = int.from_bytes(data[8:12], "big")
        session = self.sessions.by_ssrc(ssrc)
        if session is None:
            self.capture.reject("unknown_ssrc", len(data), source, ssrc)
            return
        if session.user_id in self.udp_down:
            self.capture.reject("path_down", len(data), source, ssrc)
            return
        if session.secret_key is None:
            self.capture.reject("no_key", len(data), source, ssrc)
            return
        try:
            packet = open_xchacha20_rtpsize(data, session.secret_key)
        except ForgedPacket:
            self.capture.reject("auth", len(data), source, ssrc)
            return
        except MalformedPacket:
            self.capture.reject("malformed", len(data), source, ssrc)
            return
        if packet.header.payload_type != RTP_PAYLOAD_TYPE_OPUS:
            self.capture.reject("payload_type", len(data), source, ssrc)
            return
        self.capture.record(
            Frame(
                guild_id=session.guild_id,
                channel_id=session.channel_id,
                user_id=session.user_id,
                ssrc=ssrc,
                sequence=packet.header.sequence,
                timestamp=packet.header.timestamp,
                nonce=packet.nonce,
                arrival=arrival,
                opus=packet.payload,
                speaking=session.speaking,
            )
        )
