"""Voice session state: who may connect, who is connected where, SSRCs, keys and v8 message buffers.

No sockets here. `VoiceSessions` validates IDENTIFY, RESUME, SELECT_PROTOCOL and SPEAKING payloads
and raises `VoiceProtocolError` with the close code Discord would use; `voice.VoiceServer` does the I/O.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from loopback.voice_protocol import (
    SUPPORTED_MODES,
    VoiceClose,
    VoiceOp,
    VoiceProtocolError,
)

# Unacknowledged numbered messages kept per session for buffered resume; past this, resume fails.
BUFFER_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Expected:
    """A voice connection the main gateway announced (VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE)."""

    guild_id: int
    channel_id: int
    user_id: int
    session_id: str
    token: str


@dataclass(eq=False)
class VoiceSession:
    """One user's voice session in one guild; it outlives a dropped websocket so RESUME can find it."""

    guild_id: int
    channel_id: int
    user_id: int
    session_id: str
    token: str
    ssrc: int
    secret_key: bytes | None = None
    mode: str | None = None
    client_address: tuple[str, int] | None = None  # what SELECT_PROTOCOL announced
    speaking: int = 0
    attached: bool = False  # a websocket currently speaks for this session
    seq: int = 0  # number of the latest numbered message sent to this client
    seq_ack: int = -1  # latest number the client acknowledged (heartbeat or resume)
    heartbeats: int = 0
    resumes: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BUFFER_LIMIT))

    @property
    def connected(self) -> bool:
        """True once the client has a key and a live websocket, like discord.py's `connected` state."""
        return self.attached and self.secret_key is not None

    def number(self, message: dict[str, Any]) -> dict[str, Any]:
        """Give a server message its v8 `seq` and keep it until acknowledged, for buffered resume."""
        self.seq += 1
        numbered = {**message, "seq": self.seq}
        self.buffer.append(numbered)
        return numbered

    def acknowledge(self, seq_ack: int) -> None:
        """Drop buffered messages the client has confirmed."""
        self.seq_ack = max(self.seq_ack, seq_ack)
        while self.buffer and self.buffer[0]["seq"] <= seq_ack:
            self.buffer.popleft()

    def missed_since(self, seq_ack: int) -> list[dict[str, Any]] | None:
        """Messages after `seq_ack` (-1: none seen) to re-deliver on resume; None if some are gone."""
        if seq_ack > self.seq:
            return None
        missed = [message for message in self.buffer if message["seq"] > seq_ack]
        if len(missed) != self.seq - max(seq_ack, 0):
            return None
        return missed


def _snowflake(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, f"{key} must be a snowflake")
    try:
        return int(value)
    except ValueError:
        raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, f"{key} must be a snowflake") from None


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, f"{key} must be a non-empty string")
    return value


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, f"{what} payload must be an object")
    return data


class VoiceSessions:
    """All expected and live voice sessions of one voice server, keyed by (guild, user) and by SSRC."""

    def __init__(self, first_ssrc: int = 100) -> None:
        self._expected: dict[tuple[int, int], Expected] = {}
        self._sessions: dict[tuple[int, int], VoiceSession] = {}
        self._by_ssrc: dict[int, VoiceSession] = {}
        self._ssrcs = itertools.count(first_ssrc)

    def expect(self, expected: Expected) -> None:
        """Authorise the next IDENTIFY of this user in this guild (replaces an older authorisation)."""
        self._expected[(expected.guild_id, expected.user_id)] = expected

    def identify(self, data: object) -> tuple[VoiceSession, VoiceSession | None]:
        """Check an IDENTIFY; return the new session and the one it replaces, if any."""
        payload = _object(data, "IDENTIFY")
        guild_id = _snowflake(payload, "server_id")
        user_id = _snowflake(payload, "user_id")
        session_id = _text(payload, "session_id")
        token = _text(payload, "token")
        expected = self._expected.get((guild_id, user_id))
        if expected is None or not secrets.compare_digest(expected.token, token):
            raise VoiceProtocolError(VoiceClose.AUTHENTICATION_FAILED, "Authentication failed.")
        if expected.session_id != session_id:
            raise VoiceProtocolError(VoiceClose.SESSION_NO_LONGER_VALID, "Session is no longer valid.")
        replaced = self._drop(guild_id, user_id)
        session = VoiceSession(
            guild_id=guild_id,
            channel_id=expected.channel_id,
            user_id=user_id,
            session_id=session_id,
            token=token,
            ssrc=next(self._ssrcs),
        )
        self._sessions[(guild_id, user_id)] = session
        self._by_ssrc[session.ssrc] = session
        return session, replaced

    def resume(self, data: object) -> tuple[VoiceSession, list[dict[str, Any]]]:
        """Check a RESUME; return the session and the numbered messages the client missed."""
        payload = _object(data, "RESUME")
        guild_id = _snowflake(payload, "server_id")
        session_id = _text(payload, "session_id")
        token = _text(payload, "token")
        seq_ack = payload.get("seq_ack", -1)
        if isinstance(seq_ack, bool) or not isinstance(seq_ack, int):
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "seq_ack must be an integer")
        session = next(
            (s for s in self._sessions.values() if s.guild_id == guild_id and s.session_id == session_id),
            None,
        )
        if session is None or not secrets.compare_digest(session.token, token):
            raise VoiceProtocolError(VoiceClose.SESSION_NO_LONGER_VALID, "Session is no longer valid.")
        missed = session.missed_since(seq_ack)
        if missed is None:
            # Discord closes the session when its buffer no longer holds a missed message.
            self._drop(session.guild_id, session.user_id)
            raise VoiceProtocolError(VoiceClose.SESSION_NO_LONGER_VALID, "Missed messages are gone.")
        session.acknowledge(seq_ack)
        session.resumes += 1
        return session, missed

    def select_protocol(self, session: VoiceSession, data: object) -> dict[str, Any]:
        """Check SELECT_PROTOCOL, make the session's key, and return the SESSION_DESCRIPTION to send."""
        payload = _object(data, "SELECT_PROTOCOL")
        if payload.get("protocol") != "udp":
            raise VoiceProtocolError(VoiceClose.UNKNOWN_PROTOCOL, "Unknown protocol.")
        udp = _object(payload.get("data"), "SELECT_PROTOCOL data")
        mode = udp.get("mode")
        if mode not in SUPPORTED_MODES:
            raise VoiceProtocolError(VoiceClose.UNKNOWN_ENCRYPTION_MODE, "Unknown encryption mode.")
        address, port = udp.get("address"), udp.get("port")
        if not isinstance(address, str) or isinstance(port, bool) or not isinstance(port, int):
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "address and port are required")
        session.mode = mode
        session.client_address = (address, port)
        session.secret_key = secrets.token_bytes(32)
        return {
            "op": VoiceOp.SESSION_DESCRIPTION,
            "d": {
                "mode": mode,
                "secret_key": list(session.secret_key),
                # Version 0: transport encryption only, no DAVE end-to-end layer to negotiate.
                "dave_protocol_version": 0,
                "audio_codec": "opus",
                "video_codec": None,
                "media_session_id": secrets.token_hex(16),
            },
        }

    def speaking(self, session: VoiceSession, data: object) -> dict[str, Any]:
        """Record a client's SPEAKING and return the op 5 to relay to others in its channel."""
        payload = _object(data, "SPEAKING")
        flags = payload.get("speaking")
        if isinstance(flags, bool) or not isinstance(flags, int) or flags < 0:
            raise VoiceProtocolError(VoiceClose.FAILED_TO_DECODE, "speaking must be a non-negative bitmask")
        if payload.get("ssrc", session.ssrc) != session.ssrc:
            raise VoiceProtocolError(VoiceClose.BAD_REQUEST, "SPEAKING names an SSRC not given to this session")
        session.speaking = flags
        return {
            "op": VoiceOp.SPEAKING,
            "d": {"user_id": str(session.user_id), "ssrc": session.ssrc, "speaking": flags},
        }

    def leave(self, user_id: int, guild_id: int | None = None) -> list[VoiceSession]:
        """Forget a user's authorisations and sessions (in one guild, or all): kicked, left, or moved."""
        for key in [key for key in self._expected if key[1] == user_id and guild_id in (None, key[0])]:
            del self._expected[key]
        gone = self.of_user(user_id, guild_id)
        for session in gone:
            self._drop(session.guild_id, session.user_id)
        return gone

    def end(self, session: VoiceSession) -> None:
        """Forget one session (it timed out or its resume failed) but keep the authorisation."""
        if self._sessions.get((session.guild_id, session.user_id)) is session:
            self._drop(session.guild_id, session.user_id)

    def _drop(self, guild_id: int, user_id: int) -> VoiceSession | None:
        session = self._sessions.pop((guild_id, user_id), None)
        if session is not None:
            self._by_ssrc.pop(session.ssrc, None)
        return session

    def get(self, user_id: int, guild_id: int | None = None) -> VoiceSession | None:
        """A user's session (in `guild_id`, or in any guild when None)."""
        for (guild, user), session in self._sessions.items():
            if user == user_id and (guild_id is None or guild == guild_id):
                return session
        return None

    def of_user(self, user_id: int, guild_id: int | None = None) -> list[VoiceSession]:
        """All of a user's sessions (a bot can be in voice in several guilds)."""
        return [
            session
            for (guild, user), session in self._sessions.items()
            if user == user_id and (guild_id is None or guild == guild_id)
        ]

    def by_ssrc(self, ssrc: int) -> VoiceSession | None:
        """The session that owns an SSRC."""
        return self._by_ssrc.get(ssrc)

    def peers(self, session: VoiceSession) -> list[VoiceSession]:
        """Other sessions in the same voice channel."""
        return [
            other
            for other in self._sessions.values()
            if other is not session and other.guild_id == session.guild_id and other.channel_id == session.channel_id
        ]
