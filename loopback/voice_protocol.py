"""Wire formats of Discord's voice gateway v8 and voice UDP: opcodes, close codes, RTP, IP discovery, crypto.

Pure functions and constants, no I/O: `voice_sessions` keeps the state and `voice` moves the bytes.
Sources: Discord's voice-connections docs (gateway v8, buffered resume, IP discovery, transport
encryption modes) and what discord.py 2.7 actually sends (`DiscordVoiceWebSocket`, `VoiceClient`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import CryptoError

GATEWAY_VERSION = 8

# The only transport mode we can decrypt; Discord lists it as "Available (Required)" for every client.
XCHACHA20_RTPSIZE = "aead_xchacha20_poly1305_rtpsize"
SUPPORTED_MODES: tuple[str, ...] = (XCHACHA20_RTPSIZE,)

RTP_PAYLOAD_TYPE_OPUS = 0x78  # 120, the dynamic payload type Discord uses for Opus
RTP_FIXED_HEADER = 12
AEAD_TAG = 16  # Poly1305 tag appended to the ciphertext
NONCE_SUFFIX = 4  # rtpsize modes append a 32-bit big-endian counter to each packet

IP_DISCOVERY_SIZE = 74
IP_DISCOVERY_LENGTH = 70  # the Length field counts everything after Type and Length
IP_DISCOVERY_REQUEST = 0x1
IP_DISCOVERY_RESPONSE = 0x2
_IP_DISCOVERY = struct.Struct(">HHI64sH")


class VoiceOp(IntEnum):
    """Voice gateway opcodes (text frames unless noted)."""

    IDENTIFY = 0
    SELECT_PROTOCOL = 1
    READY = 2
    HEARTBEAT = 3
    SESSION_DESCRIPTION = 4
    SPEAKING = 5
    HEARTBEAT_ACK = 6
    RESUME = 7
    HELLO = 8
    RESUMED = 9
    CLIENTS_CONNECT = 11
    CLIENT_CONNECT = 12  # legacy video op; discord.py can send it, Discord ignores it
    CLIENT_DISCONNECT = 13
    DAVE_PREPARE_TRANSITION = 21
    DAVE_EXECUTE_TRANSITION = 22
    DAVE_TRANSITION_READY = 23
    DAVE_PREPARE_EPOCH = 24
    MLS_EXTERNAL_SENDER = 25  # binary
    MLS_KEY_PACKAGE = 26  # binary
    MLS_PROPOSALS = 27  # binary
    MLS_COMMIT_WELCOME = 28  # binary
    MLS_ANNOUNCE_COMMIT_TRANSITION = 29  # binary
    MLS_WELCOME = 30  # binary
    MLS_INVALID_COMMIT_WELCOME = 31


class VoiceClose(IntEnum):
    """Voice gateway close codes that this server uses."""

    UNKNOWN_OPCODE = 4001
    FAILED_TO_DECODE = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    SESSION_NO_LONGER_VALID = 4006
    SESSION_TIMEOUT = 4009
    SERVER_NOT_FOUND = 4011
    UNKNOWN_PROTOCOL = 4012
    DISCONNECTED = 4014
    VOICE_SERVER_CRASHED = 4015
    UNKNOWN_ENCRYPTION_MODE = 4016
    BAD_REQUEST = 4020


class VoiceProtocolError(Exception):
    """A client broke the protocol; the websocket must close with `code`."""

    def __init__(self, code: VoiceClose, reason: str) -> None:
        super().__init__(f"{int(code)} {reason}")
        self.code = code
        self.reason = reason


class SpeakingFlag(IntEnum):
    """Bits of the SPEAKING payload's `speaking` field."""

    NONE = 0
    MICROPHONE = 1 << 0
    SOUNDSHARE = 1 << 1
    PRIORITY = 1 << 2


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """The fields of an RTP header (RFC 3550 section 5.1) that matter to Discord voice."""

    version: int
    padding: bool
    extension: bool
    csrc_count: int
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    size: int  # bytes left unencrypted by the rtpsize modes: fixed part, CSRCs, extension preamble


class MalformedPacket(ValueError):
    """A UDP datagram that is neither valid RTP nor IP discovery."""


class ForgedPacket(ValueError):
    """A voice packet whose AEAD tag does not verify: wrong key, wrong nonce, or altered bytes."""


def is_rtp(datagram: bytes) -> bool:
    """True when the first byte carries RTP version 2 (IP discovery starts with a zero byte)."""
    return len(datagram) >= RTP_FIXED_HEADER and datagram[0] >> 6 == 2


def is_rtcp(datagram: bytes) -> bool:
    """True for RTCP (payload types 200-204 fill the second byte whole, marker bit included)."""
    return is_rtp(datagram) and 200 <= datagram[1] <= 204


def parse_rtp_header(packet: bytes) -> RtpHeader:
    """Parse the RTP header, including how much of it the rtpsize modes leave in the clear."""
    if not is_rtp(packet):
        raise MalformedPacket("not an RTP version 2 packet")
    first, second, sequence, timestamp, ssrc = struct.unpack_from(">BBHII", packet)
    csrc_count = first & 0x0F
    extension = bool(first & 0x10)
    # Like SRTP (RFC 3711 3.1): CSRCs and the 4-byte extension preamble stay in the clear; the
    # extension body is encrypted along with the payload.
    size = RTP_FIXED_HEADER + 4 * csrc_count + (4 if extension else 0)
    if len(packet) < size:
        raise MalformedPacket("RTP header longer than the packet")
    return RtpHeader(
        version=first >> 6,
        padding=bool(first & 0x20),
        extension=extension,
        csrc_count=csrc_count,
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        size=size,
    )


@dataclass(frozen=True, slots=True)
class OpenedPacket:
    """A transport-decrypted voice packet: its header, the 32-bit nonce counter and the Opus payload."""

    header: RtpHeader
    nonce: int
    payload: bytes


def open_xchacha20_rtpsize(packet: bytes, secret_key: bytes) -> OpenedPacket:
    """Authenticate and decrypt an `aead_xchacha20_poly1305_rtpsize` packet; ForgedPacket if it fails."""
    # Layout, as discord.py's `_encrypt_aead_xchacha20_poly1305_rtpsize` writes it: the clear RTP
    # header, which is also the AEAD additional data; the ciphertext with its 16-byte tag; then the
    # 4-byte big-endian nonce counter, which is the start of a 24-byte nonce that is otherwise zero.
    # nacl insists on bytes (and reports a bytearray as a CryptoError, which would read as forgery).
    packet, secret_key = bytes(packet), bytes(secret_key)
    header = parse_rtp_header(packet)
    if len(packet) < header.size + AEAD_TAG + NONCE_SUFFIX:
        raise MalformedPacket("packet too short for tag and nonce")
    nonce_bytes = packet[-NONCE_SUFFIX:]
    nonce = nonce_bytes + bytes(24 - NONCE_SUFFIX)
    aad = packet[: header.size]
    ciphertext = packet[header.size : -NONCE_SUFFIX]
    try:
        plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, secret_key)
    except CryptoError as exc:
        raise ForgedPacket("authentication tag does not verify") from exc
    if header.extension:
        # The extension length (in 32-bit words) is the last field of the clear preamble.
        (words,) = struct.unpack_from(">H", packet, header.size - 2)
        plaintext = plaintext[4 * words :]
    if header.padding and plaintext:
        plaintext = plaintext[: -plaintext[-1]]
    return OpenedPacket(header=header, nonce=struct.unpack(">I", nonce_bytes)[0], payload=plaintext)


@dataclass(frozen=True, slots=True)
class DiscoveryRequest:
    """An IP discovery request: the sender's SSRC."""

    ssrc: int


def parse_ip_discovery_request(datagram: bytes) -> DiscoveryRequest | None:
    """Return the request if `datagram` is a 74-byte IP discovery request, else None."""
    # Discord stopped answering the old 70-byte form in March 2023, so only 74 bytes count.
    if len(datagram) != IP_DISCOVERY_SIZE:
        return None
    kind, length, ssrc, _address, _port = _IP_DISCOVERY.unpack(datagram)
    if kind != IP_DISCOVERY_REQUEST or length != IP_DISCOVERY_LENGTH:
        return None
    return DiscoveryRequest(ssrc=ssrc)


def ip_discovery_response(ssrc: int, address: str, port: int) -> bytes:
    """Build the 74-byte reply: type 0x2, length 70, SSRC, NUL-padded address text, port."""
    encoded = address.encode("ascii")
    if len(encoded) >= 64:
        raise ValueError("address does not fit the 64-byte field with its terminating NUL")
    return _IP_DISCOVERY.pack(IP_DISCOVERY_RESPONSE, IP_DISCOVERY_LENGTH, ssrc, encoded, port)


def parse_ip_discovery_response(datagram: bytes) -> tuple[int, str, int]:
    """Read (ssrc, address, port) from a reply; the tests use it to check what we send."""
    kind, length, ssrc, address, port = _IP_DISCOVERY.unpack(datagram)
    if kind != IP_DISCOVERY_RESPONSE or length != IP_DISCOVERY_LENGTH:
        raise MalformedPacket("not an IP discovery response")
    return ssrc, address.split(b"\0", 1)[0].decode("ascii"), port


def hello(heartbeat_interval_ms: float) -> dict[str, object]:
    """Opcode 8 HELLO: sent first, never numbered."""
    return {"op": VoiceOp.HELLO, "d": {"heartbeat_interval": heartbeat_interval_ms}}


def ready(ssrc: int, ip: str, port: int) -> dict[str, object]:
    """Opcode 2 READY: the SSRC and UDP address to use and the encryption modes on offer."""
    return {
        "op": VoiceOp.READY,
        "d": {"ssrc": ssrc, "ip": ip, "port": port, "modes": list(SUPPORTED_MODES), "experiments": []},
    }


def heartbeat_ack(nonce: object) -> dict[str, object]:
    """Opcode 6 HEARTBEAT_ACK echoing the client's `t` (v8 shape)."""
    return {"op": VoiceOp.HEARTBEAT_ACK, "d": {"t": nonce}}


def resumed() -> dict[str, object]:
    """Opcode 9 RESUMED."""
    return {"op": VoiceOp.RESUMED, "d": None}


def heartbeat_nonce(data: object) -> tuple[object, int | None]:
    """Read (t, seq_ack) from a heartbeat's `d`: a v8 object, or the bare integer of older versions."""
    if isinstance(data, dict):
        seq_ack = data.get("seq_ack")
        return data.get("t"), seq_ack if isinstance(seq_ack, int) else None
    return data, None
