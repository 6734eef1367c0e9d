"""What the sandbox's voice server heard: decrypted Opus frames per speaker, with arrival times.

A test asks `Capture` exactly which Opus packets a user sent to a channel, in what order, how they
were paced, and what they sound like (`to_wav`). `ogg_opus_packets` reads an Ogg/Opus file's packets
with its own parser, so comparing the two does not lean on the code under test.
"""

# The wait_for_* hooks take a deadline on purpose: a test names how long an event may take.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import struct
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from discord.opus import Decoder

# What discord.py (and Discord's docs) send five of when a transmission stops.
OPUS_SILENCE = b"\xf8\xff\xfe"
SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_WIDTH = 2  # 16-bit PCM

T = TypeVar("T")


class Changes:
    """Lets coroutines wait, without polling or sleeping, until some state satisfies a probe."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        """Wake every waiter so it re-checks its probe; call after each change."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:
        """Return the probe's first non-None result; TimeoutError naming `what` after `timeout` s."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while (result := probe()) is None:
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
                return result
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}") from None


@dataclass(frozen=True, slots=True)
class Frame:
    """One decrypted voice packet as it arrived."""

    guild_id: int
    channel_id: int
    user_id: int
    ssrc: int
    sequence: int  # RTP sequence number
    timestamp: int  # RTP timestamp (48 kHz units)
    nonce: int  # the transport-encryption counter the sender used
    arrival: float  # time.monotonic() when the datagram was read
    opus: bytes
    speaking: int  # the SPEAKING flags the sender had announced when this arrived

    @property
    def is_silence(self) -> bool:
        """True for the 3-byte Opus silence frame senders append when they stop."""
        return self.opus == OPUS_SILENCE


@dataclass(frozen=True, slots=True)
class Rejected:
    """A datagram that produced no frame, and why (`auth`, `unknown_ssrc`, `no_key`, ...)."""

    reason: str
    arrival: float
    size: int
    source: tuple[str, int]
    ssrc: int | None = None


class Capture:
    """Frames and rejected datagrams recorded by a voice server, queryable per user and channel."""

    def __init__(self) -> None:
        self._frames: list[Frame] = []
        self.rejected: list[Rejected] = []
        self._changes = Changes()

    def record(self, frame: Frame) -> None:
        """Store an accepted frame."""
        self._frames.append(frame)
        self._changes.notify()

    def reject(self, reason: str, size: int, source: tuple[str, int], ssrc: int | None = None) -> None:
        """Store why a datagram was refused."""
        self.rejected.append(Rejected(reason, time.monotonic(), size, source, ssrc))
        self._changes.notify()

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self._frames.clear()
        self.rejected.clear()

    def frames(self, user_id: int | None = None, channel_id: int | None = None) -> list[Frame]:
        """Frames in arrival order, optionally only one speaker's and/or one channel's."""
        return [
            frame
            for frame in self._frames
            if (user_id is None or frame.user_id == user_id) and (channel_id is None or frame.channel_id == channel_id)
        ]

    def silence_tail(self, user_id: int, channel_id: int | None = None) -> list[Frame]:
        """The run of silence frames at the end of a speaker's frames (discord.py sends five)."""
        frames = self.frames(user_id, channel_id)
        start = len(frames)
        while start > 0 and frames[start - 1].is_silence:
            start -= 1
        return frames[start:]

    def _audio(self, user_id: int, channel_id: int | None, strip_silence_tail: bool) -> list[Frame]:
        frames = self.frames(user_id, channel_id)
        if strip_silence_tail:
            # Only the trailing run: silence inside a recording is content and must stay.
            return frames[: len(frames) - len(self.silence_tail(user_id, channel_id))]
        return frames

    def opus_packets(
        self, user_id: int, channel_id: int | None = None, *, strip_silence_tail: bool = False
    ) -> list[bytes]:
        """The Opus payloads a speaker sent, in arrival order."""
        return [frame.opus for frame in self._audio(user_id, channel_id, strip_silence_tail)]

    def gaps_ms(self, user_id: int, channel_id: int | None = None, *, strip_silence_tail: bool = True) -> list[float]:
        """Milliseconds between consecutive arrivals; the silence tail is a burst, so left out by default."""
        frames = self._audio(user_id, channel_id, strip_silence_tail)
        return [(later.arrival - earlier.arrival) * 1000 for earlier, later in zip(frames, frames[1:], strict=False)]

    def mean_gap_ms(self, user_id: int, channel_id: int | None = None, *, strip_silence_tail: bool = True) -> float:
        """Mean inter-arrival time: (last - first) / (count - 1), so 20.0 for well-paced Opus."""
        gaps = self.gaps_ms(user_id, channel_id, strip_silence_tail=strip_silence_tail)
        if not gaps:
            raise ValueError(f"user {user_id} sent fewer than two frames")
        return sum(gaps) / len(gaps)

    def rejected_count(self, reason: str | None = None) -> int:
        """How many datagrams were refused, for one reason or in all."""
        return sum(1 for item in self.rejected if reason is None or item.reason == reason)

    async def wait_for_frames(self, n: int, timeout: float = 5.0, *, user_id: int | None = None) -> list[Frame]:
        """Wait until at least `n` frames (from `user_id`, if given) have arrived; return them."""

        def probe() -> list[Frame] | None:
            frames = self.frames(user_id)
            return frames if len(frames) >= n else None

        return await self._changes.wait_until(probe, timeout, f"{n} frames from {user_id or 'anyone'}")

    async def wait_for_rejected(self, n: int, reason: str | None = None, timeout: float = 5.0) -> int:
        """Wait until at least `n` datagrams were refused (for `reason`, if given)."""

        def probe() -> int | None:
            count = self.rejected_count(reason)
            return count if count >= n else None

        return await self._changes.wait_until(probe, timeout, f"{n} rejected datagrams ({reason or 'any'})")

    def to_wav(
        self,
        path: str | Path,
        user_id: int,
        channel_id: int | None = None,
        *,
        strip_silence_tail: bool = False,
    ) -> float:
        """Decode a speaker's frames with libopus into 48 kHz stereo 16-bit WAV; return its seconds."""
        pcm = bytearray()
        decoder: Decoder | None = None
        ssrc: int | None = None
        for frame in self._audio(user_id, channel_id, strip_silence_tail):
            if decoder is None or frame.ssrc != ssrc:
                # A new SSRC is a new connection and so a new Opus stream: decoder state must not carry over.
                decoder, ssrc = Decoder(), frame.ssrc
            pcm += decoder.decode(frame.opus, fec=False)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(CHANNELS)
            out.setsampwidth(SAMPLE_WIDTH)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(bytes(pcm))
        return len(pcm) / (SAMPLE_RATE * CHANNELS * SAMPLE_WIDTH)


# --- Ogg/Opus reading (RFC 3533 pages, RFC 7845 Opus mapping), independent of discord.oggparse ---

# capture pattern, version, flags, granule position, serial, page sequence, CRC, segment count
_PAGE_HEADER = struct.Struct("<4sBBqIIIB")
_CONTINUED = 0x01
_BEGINNING = 0x02


class OggFormatError(ValueError):
    """The file is not a well-formed single-stream Ogg/Opus file."""


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _crc_table()


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, zero initial value, no reflection, no final XOR."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[(crc >> 24) ^ byte]
    return crc


def ogg_packets(data: bytes) -> list[bytes]:
    """All packets of the first logical stream in Ogg data, each page's CRC checked."""
    packets: list[bytes] = []
    partial: bytearray | None = None
    serial: int | None = None
    offset = 0
    while offset < len(data):
        if len(data) - offset < _PAGE_HEADER.size:
            raise OggFormatError(f"truncated page header at byte {offset}")
        pattern, version, flags, _granule, page_serial, _sequence, crc, count = _PAGE_HEADER.unpack_from(data, offset)
        if pattern != b"OggS" or version != 0:
            raise OggFormatError(f"no Ogg page at byte {offset}")
        lacing = data[offset + _PAGE_HEADER.size : offset + _PAGE_HEADER.size + count]
        body_start = offset + _PAGE_HEADER.size + count
        end = body_start + sum(lacing)
        if len(lacing) != count or end > len(data):
            raise OggFormatError(f"truncated page at byte {offset}")
        page = bytearray(data[offset:end])
        page[22:26] = bytes(4)  # the CRC is computed with its own field zeroed
        if ogg_crc(bytes(page)) != crc:
            raise OggFormatError(f"CRC mismatch in page at byte {offset}")
        if serial is None and flags & _BEGINNING:
            serial = page_serial
        if page_serial == serial:
            if bool(flags & _CONTINUED) != (partial is not None):
                raise OggFormatError(f"continuation flag disagrees with packet state at byte {offset}")
            position = body_start
            for size in lacing:
                if partial is None:
                    partial = bytearray()
                partial += data[position : position + size]
                position += size
                if size < 255:  # a lacing value below 255 ends the packet
                    packets.append(bytes(partial))
                    partial = None
        offset = end
    if partial is not None:
        raise OggFormatError("the last packet is unfinished")
    return packets


def ogg_opus_packets(path: str | Path) -> list[bytes]:
    """The Opus audio packets of an Ogg/Opus file, without the OpusHead and OpusTags headers."""
    packets = ogg_packets(Path(path).read_bytes())
    if len(packets) < 2 or not packets[0].startswith(b"OpusHead") or not packets[1].startswith(b"OpusTags"):
        raise OggFormatError(f"{path}: not Ogg/Opus (missing OpusHead/OpusTags)")
    return packets[2:]
