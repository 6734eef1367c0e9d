"""The only way audio reaches Discord: approved recordings, verified as they are read, passed through as Opus.

`open_approved` reads a recording's file once, into memory, and hashes exactly those bytes against
the allow-list's sha256, so the bytes played are the bytes hashed: a file changed or swapped after
the check cannot be played. It also parses the Ogg/Opus stream (RFC 3533 pages, RFC 7845 mapping)
with the reader below and refuses anything Discord cannot take as-is (not mono/stereo, not 20 ms
packets; Opus in Ogg always plays at 48 kHz, OpusHead's input rate is only informational).
`OggOpusPassthrough` hands those packets to discord.py one per 20 ms tick: no ffmpeg, no decoding,
no re-encoding at play time. `Player` verifies immediately before each playback and waits for
discord.py's `after` callback, which runs on the audio thread, through `loop.call_soon_threadsafe`.

Gentle stop: a fade would mean decoding and re-encoding, so instead playback ends at a packet
boundary at most one second ahead, right after the smallest packet in that second (VBR Opus spends
the fewest bytes on near-silence, so that is the likeliest pause between words); the caller may
then pass an approved bell to mark the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord

from bot.errors import ConflictError, RecordingError
from bot.media.recordings import ADD_COMMAND
from bot.model import Recording

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.020
# Opus timestamps always count 48 kHz samples (RFC 7845 section 4), whatever OpusHead's input rate says.
FRAME_SAMPLES = 960
PACKETS_PER_SECOND = 50
# At most one second of a recording still plays after a gentle stop is asked for.
GENTLE_STOP_PACKETS = PACKETS_PER_SECOND
# A recording is held in memory while it plays (~0.7 MB per minute at 96 kbit/s); three hours fit easily.
MAX_RECORDING_BYTES = 256 * 1024 * 1024

OnRefused = Callable[[Recording, str], Awaitable[None]]


# --- Ogg pages and packets (RFC 3533) -------------------------------------------------------------

# capture pattern, version, header type, granule position, serial, page sequence, CRC, segment count
_PAGE_HEADER = struct.Struct("<4sBBqIIIB")
_CONTINUED = 0x01
_BEGINNING = 0x02
_CRC_FIELD = slice(22, 26)
# Ogg's CRC-32 is zlib's polynomial unreflected. Reflecting every byte, running zlib's (reflected) CRC
# with its initial and final inversions undone, and reflecting the 32-bit result gives Ogg's CRC at C speed.
_REFLECTED_BYTES = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


class OggError(ValueError):
    """The bytes are not a well-formed single-stream Ogg/Opus file that Discord can play as-is."""


def ogg_crc(data: bytes) -> int:
    """Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, initial value 0, no reflection, no final XOR."""
    reflected = zlib.crc32(data.translate(_REFLECTED_BYTES), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def ogg_packets(data: bytes) -> list[bytes]:
    """The packets of one logical Ogg stream, every page's CRC and sequence checked; OggError otherwise."""
    packets: list[bytes] = []
    pieces: list[bytes] = []  # a packet that continues onto the next page
    serial: int | None = None
    sequence = 0
    offset = 0
    while offset < len(data):
        if len(data) - offset < _PAGE_HEADER.size:
            raise OggError(f"the data ends inside an Ogg page header at byte {offset}")
        pattern, version, flags, _granule, page_serial, page_sequence, crc, count = _PAGE_HEADER.unpack_from(
            data, offset
        )
        if pattern != b"OggS" or version != 0:
            raise OggError(f"there is no Ogg page at byte {offset}")
        body = offset + _PAGE_HEADER.size + count
        lacing = data[offset + _PAGE_HEADER.size : body]
        end = body + sum(lacing)
        if len(lacing) != count or end > len(data):
            raise OggError(f"the Ogg page at byte {offset} is cut short")
        page = bytearray(data[offset:end])
        page[_CRC_FIELD] = bytes(4)  # the checksum is computed with its own field zeroed
        if ogg_crc(bytes(page)) != crc:
            raise OggError(f"the Ogg page at byte {offset} is damaged (its checksum does not match)")
        if serial is None:
            if not flags & _BEGINNING:
                raise OggError("the first Ogg page does not begin a stream")
            serial, sequence = page_serial, page_sequence
        elif page_serial != serial or flags & _BEGINNING:
            # A chained or multiplexed file could carry a second stream that nobody listened to.
            raise OggError(f"the file holds more than one Ogg stream (at byte {offset})")
        if page_sequence != sequence:
            raise OggError(f"Ogg page {sequence} is missing (found page {page_sequence} at byte {offset})")
        sequence += 1
        if bool(flags & _CONTINUED) != bool(pieces):
            raise OggError(f"the Ogg page at byte {offset} disagrees about continuing a packet")
        position = body
        for size in lacing:
            pieces.append(data[position : position + size])
            position += size
            if size < 255:  # a lacing value below 255 ends the packet
                packets.append(b"".join(pieces))
                pieces = []
        offset = end
    if pieces:
        raise OggError("the last packet is unfinished")
    return packets


# --- Opus in Ogg (RFC 7845) and Opus packet durations (RFC 6716 section 3.1) -----------------------


@dataclass(frozen=True)
class OpusStream:
    """An Ogg/Opus file's header fields and its audio packets (OpusHead and OpusTags left out)."""

    channels: int
    pre_skip: int
    packets: tuple[bytes, ...]


def opus_packet_samples(packet: bytes) -> int:
    """How many 48 kHz samples an Opus packet holds, from its TOC byte; OggError if it cannot say."""
    if not packet:
        raise OggError("an audio packet is empty")
    config, code = packet[0] >> 3, packet[0] & 0x03
    if config < 12:  # SILK-only: 10, 20, 40, 60 ms
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:  # hybrid: 10, 20 ms
        frame = (480, 960)[config % 2]
    else:  # CELT-only: 2.5, 5, 10, 20 ms
        frame = (120, 240, 480, 960)[config % 4]
    if code == 0:
        return frame
    if code in (1, 2):
        return 2 * frame
    if len(packet) < 2:
        raise OggError("an audio packet is cut short")
    return (packet[1] & 0x3F) * frame


def parse_ogg_opus(data: bytes) -> OpusStream:
    """Ogg/Opus bytes -> header fields and audio packets; OggError unless Discord can play them as-is."""
    packets = ogg_packets(data)
    if len(packets) < 2 or not packets[0].startswith(b"OpusHead") or not packets[1].startswith(b"OpusTags"):
        raise OggError("it is not Ogg/Opus audio (the OpusHead and OpusTags headers are missing)")
    head = packets[0]
    if len(head) < 19 or head[8] >> 4 != 0:
        raise OggError("its OpusHead header is of an unknown version")
    channels, pre_skip, family = head[9], struct.unpack_from("<H", head, 10)[0], head[18]
    if family != 0 or channels not in (1, 2):
        raise OggError(f"it has {channels} channels (mapping family {family}); Discord plays mono or stereo")
    audio = tuple(packets[2:])
    if not audio:
        raise OggError("it holds no audio")
    for number, packet in enumerate(audio, start=1):
        # discord.py sends one packet per 20 ms tick, so any other length would play too fast or too slow;
        # an empty packet would also read as the end of the recording.
        samples = opus_packet_samples(packet)
        if samples != FRAME_SAMPLES:
            raise OggError(f"audio packet {number} lasts {samples / 48:g} ms; Discord needs 20 ms packets")
    return OpusStream(channels=channels, pre_skip=pre_skip, packets=audio)


# --- verified audio -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedAudio:
    """A recording's bytes as read once and found equal to the allow-list's sha256, split into Opus packets."""

    recording: Recording
    sha256: str
    channels: int
    packets: tuple[bytes, ...]

    @property
    def duration_seconds(self) -> float:
        """Playing time at 20 ms per packet."""
        return len(self.packets) * FRAME_SECONDS


def _require_recording(recording: object) -> Recording:
    """Only an approved Recording (from a RecordingCatalog) can be played: no paths, no URLs."""
    if not isinstance(recording, Recording):
        raise TypeError(
            f"only approved recordings from the recordings list can be played, not {type(recording).__name__}"
        )
    return recording


def _read_once(recording: Recording) -> bytes:
    """The file's bytes from one open file descriptor; refused if it left the list's folder or is not a file."""
    base = recording.base_dir.resolve()
    path = (recording.base_dir / recording.file).resolve()
    if not path.is_relative_to(base):
        raise RecordingError(recording.id, (
            f"its file {recording.file} now leads outside the folder of the recordings list ({base})"
        ))
    try:
        # O_NOFOLLOW: a link swapped in after resolve() is refused; O_NONBLOCK: a FIFO cannot hang us.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise RecordingError(recording.id, f"its file {recording.file} is missing (looked for {path})") from None
    except OSError as error:
        raise RecordingError(recording.id, f"its file {recording.file} cannot be opened: {error.strerror}") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise RecordingError(recording.id, f"its file {recording.file} is not an ordinary file")
        data = stream.read(MAX_RECORDING_BYTES + 1)
    if len(data) > MAX_RECORDING_BYTES:
        raise RecordingError(recording.id, (
            f"its file {recording.file} is larger than {MAX_RECORDING_BYTES // (1024 * 1024)} MB, "
            "far more than any approved recording"
        ))
    return data


def open_approved(recording: Recording) -> ApprovedAudio:
    """Read the file once and check those very bytes against the sha256 and the Opus format; RecordingError if not."""
    # Blocking (it reads and hashes the whole file): async code runs it with asyncio.to_thread, as Player does.
    recording = _require_recording(recording)
    data = _read_once(recording)
    actual = hashlib.sha256(data).hexdigest()
    if actual != recording.sha256:
        raise RecordingError(recording.id, (
            f"its file {recording.file} has changed since it was approved: sha256 should start "
            f"{recording.sha256[:12]}, but the file now starts {actual[:12]}. Restore the approved file, or "
            f"if the new file is approved, remove the entry and run `{ADD_COMMAND}` again"
        ))
    try:
        stream = parse_ogg_opus(data)
    except OggError as error:
        raise RecordingError(recording.id, (
            f"its file {recording.file} cannot be sent to Discord as it is: {error}. Add the original "
            f"with `{ADD_COMMAND}`, which converts it"
        )) from None
    return ApprovedAudio(recording=recording, sha256=actual, channels=stream.channels, packets=stream.packets)


# --- the audio source -----------------------------------------------------------------------------


class OggOpusPassthrough(discord.AudioSource):
    """Verified Opus packets for discord.py, one per read(), as they are; b"" at the end."""

    def __init__(self, approved: ApprovedAudio, *, start_packet: int = 0) -> None:
        if start_packet < 0:
            raise ValueError("start_packet must not be negative")
        self.recording = approved.recording
        self._packets = approved.packets
        self._next = min(start_packet, len(self._packets))
        self._end = len(self._packets)
        # read() runs on discord.py's audio thread, end_within() on the event loop.
        self._lock = threading.Lock()
        self.sent = 0

    def read(self) -> bytes:
        """The next Opus packet, or b"" once the recording (or a gentle stop) has reached its end."""
        with self._lock:
            if self._next >= self._end:
                return b""
            packet = self._packets[self._next]
            self._next += 1
            self.sent += 1
            return packet

    def is_opus(self) -> bool:
        """The packets are Opus already: discord.py must not encode them."""
        return True

    @property
    def remaining(self) -> int:
        """Packets still to be read before the end."""
        with self._lock:
            return self._end - self._next

    @property
    def finished(self) -> bool:
        """True once the recording's last packet was read (not cut short by a stop)."""
        with self._lock:
            return self._next == len(self._packets)

    def end_within(self, max_packets: int = GENTLE_STOP_PACKETS) -> int:
        """End at the quietest packet boundary within the next `max_packets`; return how many packets still play."""
        with self._lock:
            limit = min(self._next + max_packets, self._end)
            if limit < len(self._packets):
                # End right after the smallest packet in reach (stopping now counts): the last sound is the quietest.
                packets = self._packets
                self._end = min(
                    range(self._next, limit + 1), key=lambda end: (len(packets[end - 1]) if end else 0, end)
                )
            return self._end - self._next


# --- the player -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybackResult:
    """How one playback ended."""

    finished: bool  # the recording's last packet was sent
    refused: bool = False  # it failed verification: nothing was sent
    stopped: bool = False  # stop() was asked for while it played
    reason: str = ""
    packets_sent: int = 0


@dataclass(eq=False)
class _Playback:
    """The playback in progress, shared between play() and stop()."""

    recording: Recording
    voice_client: discord.VoiceClient
    source: OggOpusPassthrough | None = None
    stop_requested: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def _settle(future: asyncio.Future[Exception | None], error: Exception | None) -> None:
    """Complete the playback's future on the event loop (unless a cancelled play() has gone already)."""
    if not future.done():
        future.set_result(error)


async def _log_refusal(recording: Recording, reason: str) -> None:
    """The default for a bell refused after a gentle stop: the log says why it was not played."""
    log.warning("recording %r was not played: %s", recording.id, reason)


class Player:
    """Plays approved recordings on one voice connection, one at a time, verifying each immediately before."""

    def __init__(self) -> None:
        self._current: _Playback | None = None

    @property
    def is_playing(self) -> bool:
        """True from the start of play() (verification included) until its playback has ended."""
        return self._current is not None

    @property
    def current(self) -> Recording | None:
        """The recording being verified or played, if any."""
        return self._current.recording if self._current is not None else None

    async def play(
        self,
        voice_client: discord.VoiceClient,
        recording: Recording,
        *,
        on_refused: OnRefused,
        skip_seconds: float = 0.0,
    ) -> PlaybackResult:
        """Verify the recording, then play it to its end or until stopped; a refused one sends nothing at all."""
        # skip_seconds resumes part-way after a restart. Raises ConflictError while another playback runs, and
        # discord.ClientException (from voice_client.play) when the connection is gone.
        recording = _require_recording(recording)
        if skip_seconds < 0:
            raise ValueError("skip_seconds must not be negative")
        if self._current is not None:
            raise ConflictError(
                f"already playing {self._current.recording.id!r}; stop it before playing {recording.id!r}"
            )
        playback = _Playback(recording, voice_client)
        self._current = playback
        try:
            return await self._play(playback, on_refused, skip_seconds)
        finally:
            self._current = None
            playback.ended.set()

    async def _play(self, playback: _Playback, on_refused: OnRefused, skip_seconds: float) -> PlaybackResult:
        recording = playback.recording
        try:
            approved = await asyncio.to_thread(open_approved, recording)
        except RecordingError as error:
            log.warning("refused to play recording %r: %s", recording.id, error.problem)
            await on_refused(recording, error.problem)
            return PlaybackResult(finished=False, refused=True, reason=error.problem)
        if playback.stop_requested:
            return PlaybackResult(finished=False, stopped=True)
        source = OggOpusPassthrough(approved, start_packet=round(skip_seconds * PACKETS_PER_SECOND))
        if source.remaining == 0:
            return PlaybackResult(finished=True)  # resumed past the end: nothing is left to send

        loop = asyncio.get_running_loop()
        done: asyncio.Future[Exception | None] = loop.create_future()

        def after(error: Exception | None) -> None:
            # discord.py calls this on its audio thread; a future may only be touched on its loop's thread.
            with contextlib.suppress(RuntimeError):  # the loop is already closed at shutdown
                loop.call_soon_threadsafe(_settle, done, error)

        playback.source = source
        playback.voice_client.play(source, after=after)
        try:
            failure = await done
        except asyncio.CancelledError:
            playback.voice_client.stop()
            raise
        if failure is not None:
            log.warning("playing recording %r failed: %s", recording.id, failure)
        return PlaybackResult(
            finished=failure is None and source.finished,
            stopped=playback.stop_requested,
            reason=str(failure) if failure is not None else "",
            packets_sent=source.sent,
        )

    async def stop(
        self,
        voice_client: discord.VoiceClient | None = None,
        *,
        gently: bool = True,
        bell: Recording | None = None,
        on_refused: OnRefused | None = None,
    ) -> None:
        """Stop the playback and wait for its end: gently = at the quietest packet boundary within 1 s, then `bell`."""
        # Given a voice_client, only a playback on that connection is stopped (the caller may hold several).
        playback = self._current
        if playback is None or (voice_client is not None and voice_client is not playback.voice_client):
            return
        first = not playback.stop_requested
        playback.stop_requested = True
        if playback.source is not None:
            if gently:
                playback.source.end_within(GENTLE_STOP_PACKETS)
                try:
                    # A paused player never reads its end; allow the window plus a second, then insist.
                    async with asyncio.timeout(GENTLE_STOP_PACKETS * FRAME_SECONDS + 1.0):
                        await playback.ended.wait()
                except TimeoutError:
                    playback.voice_client.stop()
            else:
                playback.voice_client.stop()
        await playback.ended.wait()
        if first and gently and bell is not None:
            await self.play(playback.voice_client, bell, on_refused=on_refused or _log_refusal)
