"""Approved audio as it is played: read once, hashed, and parsed as Ogg/Opus (RFC 3533 pages, RFC 7845 mapping).

`open_approved` reads a recording's file once, into memory, and hashes exactly those bytes against
the allow-list's sha256, so the bytes played are the bytes hashed: a file changed or swapped after
the check cannot be played. It also parses the Ogg/Opus stream with the reader below and refuses
anything Discord cannot take as-is (not mono/stereo, not 20 ms packets; Opus in Ogg always plays
at 48 kHz, OpusHead's input rate is only informational).
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zlib
from dataclasses import dataclass

from bot.errors import RecordingError
from bot.media.recordings import ADD_COMMAND
from bot.model import Recording

FRAME_SECONDS = 0.020
# Opus timestamps always count 48 kHz samples (RFC 7845 section 4), whatever OpusHead's input rate says.
FRAME_SAMPLES = 960
PACKETS_PER_SECOND = 50
# A recording is held in memory while it plays (~0.7 MB per minute at 96 kbit/s); three hours fit easily.
MAX_RECORDING_BYTES = 256 * 1024 * 1024

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


def require_recording(recording: object) -> Recording:
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
        raise RecordingError(
            recording.id, (f"its file {recording.file} now leads outside the folder of the recordings list ({base})")
        )
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
        raise RecordingError(
            recording.id,
            (
                f"its file {recording.file} is larger than {MAX_RECORDING_BYTES // (1024 * 1024)} MB, "
                "far more than any approved recording"
            ),
        )
    return data


def open_approved(recording: Recording) -> ApprovedAudio:
    """Read the file once and check those very bytes against the sha256 and the Opus format; RecordingError if not."""
    # Blocking (it reads and hashes the whole file): async code runs it with asyncio.to_thread, as Player does.
    recording = require_recording(recording)
    data = _read_once(recording)
    actual = hashlib.sha256(data).hexdigest()
    if actual != recording.sha256:
        raise RecordingError(
            recording.id,
            (
                f"its file {recording.file} has changed since it was approved: sha256 should start "
                f"{recording.sha256[:12]}, but the file now starts {actual[:12]}. Restore the approved file, or "
                f"if the new file is approved, remove the entry and run `{ADD_COMMAND}` again"
            ),
        )
    try:
        stream = parse_ogg_opus(data)
    except OggError as error:
        raise RecordingError(
            recording.id,
            (
                f"its file {recording.file} cannot be sent to Discord as it is: {error}. Add the original "
                f"with `{ADD_COMMAND}`, which converts it"
            ),
        ) from None
    return ApprovedAudio(recording=recording, sha256=actual, channels=stream.channels, packets=stream.packets)
