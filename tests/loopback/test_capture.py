"""Capture's queries and WAV decoding, and the independent Ogg/Opus reader."""

from __future__ import annotations

import asyncio
import math
import shutil
import subprocess
import wave
from array import array
from pathlib import Path

import discord
import pytest

from loopback.capture import (
    OPUS_SILENCE,
    Capture,
    Changes,
    Frame,
    OggFormatError,
    ogg_opus_packets,
    ogg_packets,
)

needs_libopus = pytest.mark.skipif(
    not (discord.opus.is_loaded() or discord.opus._load_default()), reason="needs libopus"
)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def tone_pcm(seconds: float, frequency: float = 440.0) -> bytes:
    """48 kHz stereo 16-bit PCM of a sine tone."""
    samples = array("h")
    for n in range(int(48_000 * seconds)):
        value = int(12_000 * math.sin(2 * math.pi * frequency * n / 48_000))
        samples.extend((value, value))
    return samples.tobytes()


def encode(pcm: bytes) -> list[bytes]:
    """20 ms Opus packets with libopus, as discord.py's encoder makes them."""
    encoder = discord.opus.Encoder()
    size = discord.opus.Encoder.FRAME_SIZE
    return [encoder.encode(pcm[i : i + size], 960) for i in range(0, len(pcm) - size + 1, size)]


def frame(
    opus: bytes, index: int, *, user_id: int = 1, channel_id: int = 20, ssrc: int = 100, gap: float = 0.02
) -> Frame:
    return Frame(
        guild_id=10,
        channel_id=channel_id,
        user_id=user_id,
        ssrc=ssrc,
        sequence=index,
        timestamp=960 * index,
        nonce=index,
        arrival=100.0 + gap * index,
        opus=opus,
        speaking=1,
    )


def left_channel_crossings(path: Path) -> tuple[int, float]:
    """Zero crossings of the left channel and the duration in seconds."""
    with wave.open(str(path)) as wav:
        samples = array("h", wav.readframes(wav.getnframes()))
        seconds = wav.getnframes() / wav.getframerate()
    left = samples[::2]
    crossings = sum(1 for a, b in zip(left, left[1:], strict=False) if (a < 0) != (b < 0))
    return crossings, seconds


# --- Capture ---------------------------------------------------------------------------------


def test_queries_filter_by_speaker_and_channel_and_keep_arrival_order() -> None:
    capture = Capture()
    capture.record(frame(b"a", 0, user_id=1))
    capture.record(frame(b"b", 1, user_id=2))
    capture.record(frame(b"c", 2, user_id=1, channel_id=21))
    assert capture.opus_packets(1) == [b"a", b"c"]
    assert capture.opus_packets(1, 21) == [b"c"]
    assert [f.opus for f in capture.frames(channel_id=20)] == [b"a", b"b"]
    capture.clear()
    assert capture.frames() == []


def test_only_the_trailing_silence_run_is_the_tail() -> None:
    capture = Capture()
    # Silence inside a recording is content; only the run at the end is the sender's sign-off.
    for index, opus in enumerate([b"x", OPUS_SILENCE, b"y", *[OPUS_SILENCE] * 5]):
        capture.record(frame(opus, index))
    assert len(capture.silence_tail(1)) == 5
    assert capture.opus_packets(1, strip_silence_tail=True) == [b"x", OPUS_SILENCE, b"y"]
    assert len(capture.opus_packets(1)) == 8


def test_gaps_leave_out_the_silence_burst() -> None:
    capture = Capture()
    for index in range(4):
        capture.record(frame(b"x", index, gap=0.02))
    for _ in range(5):  # a burst right after the last audio frame
        capture.record(frame(OPUS_SILENCE, 3, gap=0.02))
    assert capture.gaps_ms(1) == pytest.approx([20.0, 20.0, 20.0])
    assert capture.mean_gap_ms(1) == pytest.approx(20.0)
    assert capture.mean_gap_ms(1, strip_silence_tail=False) == pytest.approx(60.0 / 8)
    with pytest.raises(ValueError, match="fewer than two"):
        capture.mean_gap_ms(2)


def test_rejections_are_counted_by_reason() -> None:
    capture = Capture()
    capture.reject("auth", 40, ("127.0.0.1", 1), 100)
    capture.reject("auth", 40, ("127.0.0.1", 1), 100)
    capture.reject("unknown_ssrc", 40, ("127.0.0.1", 1), 7)
    assert capture.rejected_count("auth") == 2
    assert capture.rejected_count() == 3


async def test_waiting_for_frames_wakes_on_arrival_and_times_out_with_a_reason() -> None:
    capture = Capture()
    waiter = asyncio.create_task(capture.wait_for_frames(2, timeout=5, user_id=1))
    capture.record(frame(b"a", 0))
    await asyncio.sleep(0)  # let the waiter see one frame and park again
    assert not waiter.done()
    capture.record(frame(b"b", 1))
    assert [f.opus for f in await waiter] == [b"a", b"b"]
    assert len(await capture.wait_for_frames(1, timeout=0.01)) == 2  # already true: no wait
    with pytest.raises(TimeoutError, match="3 frames from 1"):
        await capture.wait_for_frames(3, timeout=0.05, user_id=1)


async def test_changes_returns_the_probe_result() -> None:
    changes = Changes()
    box: list[int] = []
    waiter = asyncio.create_task(changes.wait_until(lambda: box[0] if box else None, 5, "a value"))
    await asyncio.sleep(0)
    box.append(7)
    changes.notify()
    assert await waiter == 7


@needs_libopus
def test_to_wav_decodes_what_was_sent(tmp_path: Path) -> None:
    packets = encode(tone_pcm(1.0))
    capture = Capture()
    for index, opus in enumerate([*packets, *[OPUS_SILENCE] * 5]):
        capture.record(frame(opus, index))
    seconds = capture.to_wav(tmp_path / "out.wav", 1, strip_silence_tail=True)
    assert seconds == pytest.approx(1.0)
    crossings, duration = left_channel_crossings(tmp_path / "out.wav")
    assert duration == pytest.approx(1.0)
    assert abs(crossings - 880) <= 10  # a 440 Hz tone crosses zero twice a cycle
    assert capture.to_wav(tmp_path / "all.wav", 1) == pytest.approx(1.1)  # five 20 ms silence frames


@needs_libopus
def test_to_wav_starts_a_new_decoder_for_a_new_ssrc(tmp_path: Path) -> None:
    capture = Capture()
    first, second = encode(tone_pcm(0.2)), encode(tone_pcm(0.2, 880))
    for index, opus in enumerate(first):
        capture.record(frame(opus, index, ssrc=100))
    for index, opus in enumerate(second):
        capture.record(frame(opus, index, ssrc=101))
    assert capture.to_wav(tmp_path / "both.wav", 1) == pytest.approx(0.4)


# --- Ogg/Opus reader -------------------------------------------------------------------------


def ffmpeg_opus(path: Path, seconds: float, bitrate: str, comment_bytes: int = 0) -> Path:
    pcm = path.with_suffix(".raw")
    pcm.write_bytes(tone_pcm(seconds))
    metadata = ["-metadata", "comment=" + "m" * comment_bytes] if comment_bytes else []
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", "48000", "-ac", "2", "-i", str(pcm)]
        + ["-c:a", "libopus", "-b:a", bitrate, *metadata, str(path)],
        check=True,
        capture_output=True,
    )
    return path


def oggparse_packets(path: Path) -> list[bytes]:
    with path.open("rb") as file:
        return list(discord.oggparse.OggStream(file).iter_packets())


@needs_ffmpeg
@pytest.mark.parametrize("bitrate", ["32k", "320k"])  # 320k makes packets longer than one lacing value
def test_packets_match_discord_oggparse(tmp_path: Path, bitrate: str) -> None:
    path = ffmpeg_opus(tmp_path / "tone.opus", 1.0, bitrate)
    packets = ogg_opus_packets(path)
    assert packets == oggparse_packets(path)[2:]
    assert len(packets) == 51  # 1 s plus libopus's 312-sample pre-skip, in 20 ms packets
    if bitrate == "320k":
        assert max(map(len, packets)) > 255


@needs_ffmpeg
def test_a_header_spanning_pages_is_reassembled(tmp_path: Path) -> None:
    path = ffmpeg_opus(tmp_path / "tagged.opus", 0.2, "64k", comment_bytes=100_000)
    everything = ogg_packets(path.read_bytes())
    assert everything[1].startswith(b"OpusTags") and len(everything[1]) > 100_000  # > one page's 65,025 bytes
    assert ogg_opus_packets(path) == oggparse_packets(path)[2:]


@needs_ffmpeg
def test_damage_is_reported(tmp_path: Path) -> None:
    path = ffmpeg_opus(tmp_path / "tone.opus", 0.2, "64k")
    data = bytearray(path.read_bytes())
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    with pytest.raises(OggFormatError, match="CRC"):
        ogg_packets(bytes(flipped))
    with pytest.raises(OggFormatError, match="truncated"):
        ogg_packets(bytes(data[:-10]))
    with pytest.raises(OggFormatError, match="no Ogg page"):
        ogg_packets(b"RIFF" + bytes(40))
    not_opus = tmp_path / "not-opus.ogg"
    not_opus.write_bytes(b"")
    with pytest.raises(OggFormatError, match="OpusHead"):
        ogg_opus_packets(not_opus)
