"""Ogg/Opus probing and one-time conversion with ffmpeg; local files only, fixed argument lists.

Discord voice carries Opus at 48 kHz. discord.py passes an Ogg/Opus file through packet by packet,
one packet every 20 ms, so a file is ready to play as-is only when it is Ogg/Opus with 20 ms frames.
Everything else is converted once, when it is added to the approved list, with even loudness.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.oggopus import OggOpus

from bot.errors import RecordingError

OPUS_SAMPLE_RATE = 48_000
DISCORD_FRAME_SECONDS = 0.020
# Speech recordings at -16 LUFS match podcast practice; TP/LRA keep peaks and range gentle.
LOUDNORM = "loudnorm=I=-16:TP=-1.5:LRA=11"
PROBE_TIMEOUT_SECONDS = 60
CONVERT_TIMEOUT_SECONDS = 30 * 60
# Demuxers a teacher's recording plausibly arrives in. Anything else (notably HLS/concat playlists,
# which can make ffmpeg open other files) is refused by ffmpeg itself.
INPUT_FORMATS = "wav,w64,ogg,mp3,flac,mov,matroska,aiff,aac,caf"
# A "scheme:" prefix makes ffmpeg pick a protocol (http:, concat:, pipe:, file:...); plain paths only.
# How many packets frame_seconds looks at; they show the frame size used throughout.
_FRAME_SAMPLE_PACKETS = 50
_PROTOCOL_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about the first audio stream of a file."""

    codec: str
    sample_rate: int
    channels: int
    duration_seconds: float
    container: str


def local_file(path: str | os.PathLike[str]) -> Path:
    """Return the absolute path of an existing regular local file; refuse URLs, '-' and protocols."""
    text = os.fspath(path)
    if not text or text == "-" or _PROTOCOL_PREFIX.match(text):
        raise RecordingError(
            text,
            (
                "only a file on this computer can be used, given as a plain path such as "
                "'recordings/breathing.wav' (not a web address, '-' or a 'name:' prefix). "
                "Download the file first if it is online."
            ),
        )
    resolved = Path(text).expanduser().absolute()
    if not resolved.exists():
        raise RecordingError(text, f"there is no file at {resolved}")
    # Pipes and devices could block ffmpeg forever; only ordinary files are read.
    if not resolved.is_file():
        raise RecordingError(text, f"{resolved} is not an ordinary file")
    return resolved


def _ffmpeg_url(path: Path) -> str:
    """An explicit file: URL so ffmpeg can never read the path as another protocol."""
    return f"file:{path}"


def _run(argv: list[str], what: str, name: str, timeout: int) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg/ffprobe with a fixed argument list; turn failures into a RecordingError."""
    try:
        result = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    except FileNotFoundError:
        raise RecordingError(name, f"{argv[0]} is not installed; run scripts/setup to install it") from None
    except subprocess.TimeoutExpired:
        raise RecordingError(name, f"{what} took longer than {timeout} seconds and was stopped") from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        raise RecordingError(name, f"{what} failed: {detail}")
    return result


def _ffprobe(source: Path, *asks: str) -> list[str]:
    """An ffprobe command over the first audio stream of a local file only, answering in JSON."""
    return [
        "ffprobe",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        INPUT_FORMATS,
        "-select_streams",
        "a:0",
        "-print_format",
        "json",
        *asks,
        _ffmpeg_url(source),
    ]


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Describe the first audio stream of a local file with ffprobe."""
    source = local_file(path)
    result = _run(
        _ffprobe(source, "-show_format", "-show_streams"),
        "reading it as audio (wav, mp3, m4a, flac, ogg, webm, aiff or aac)",
        source.name,
        PROBE_TIMEOUT_SECONDS,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise RecordingError(source.name, "ffprobe gave an unreadable answer") from None
    streams = report.get("streams") or []
    if not streams:
        raise RecordingError(source.name, "has no sound in it that ffprobe can find")
    stream, container = streams[0], report.get("format") or {}
    codec = str(stream.get("codec_name", "unknown"))
    format_name = str(container.get("format_name", "unknown"))
    if codec == "opus" and format_name == "ogg":
        duration = ogg_opus_duration(source)
    else:
        duration = _seconds(container.get("duration")) or _seconds(stream.get("duration")) or 0.0
    if duration <= 0:
        raise RecordingError(source.name, "ffprobe cannot tell how long it is; it may be damaged")
    return AudioInfo(
        codec=codec,
        sample_rate=int(stream.get("sample_rate") or 0),
        channels=int(stream.get("channels") or 0),
        duration_seconds=duration,
        container=format_name,
    )


def _seconds(value: Any) -> float | None:
    """ffprobe's duration text ('12.345000' or 'N/A') as seconds."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def is_ogg_opus_48k(path: str | os.PathLike[str]) -> bool:
    """True when the file is Opus at 48 kHz in an Ogg container."""
    info = probe(path)
    return info.container == "ogg" and info.codec == "opus" and info.sample_rate == OPUS_SAMPLE_RATE


def frame_seconds(path: str | os.PathLike[str]) -> set[float]:
    """The distinct packet durations among the first packets of the audio stream, in seconds."""
    source = local_file(path)
    result = _run(
        _ffprobe(source, "-read_intervals", f"%+#{_FRAME_SAMPLE_PACKETS}", "-show_entries", "packet=duration_time"),
        "reading the file's packets with ffprobe",
        source.name,
        PROBE_TIMEOUT_SECONDS,
    )
    packets = json.loads(result.stdout).get("packets") or []
    if 1 < len(packets) < _FRAME_SAMPLE_PACKETS:
        # The whole file was read: its final packet is trimmed by the end position, so it looks short.
        packets = packets[:-1]
    return {round(seconds, 4) for p in packets if (seconds := _seconds(p.get("duration_time")))}


def ready_for_discord(path: str | os.PathLike[str]) -> bool:
    """True when the file can be streamed to Discord as-is: Ogg/Opus 48 kHz, 20 ms frames, ≤ 2 channels."""
    info = probe(path)
    return (
        info.container == "ogg"
        and info.codec == "opus"
        and info.sample_rate == OPUS_SAMPLE_RATE
        and info.channels in (1, 2)
        and frame_seconds(path) == {DISCORD_FRAME_SECONDS}
    )


def ogg_opus_duration(path: str | os.PathLike[str]) -> float:
    """Playing time of an Ogg/Opus file, read from its last page (pre-skip accounted for)."""
    source = Path(path)
    try:
        info = OggOpus(source).info
    except (mutagen.MutagenError, OSError) as error:
        raise RecordingError(source.name, f"is not a readable Ogg/Opus file ({error})") from None
    if info is None:
        raise RecordingError(source.name, "is not a readable Ogg/Opus file")
    return float(info.length)


def convert_to_ogg_opus(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> AudioInfo:
    """Convert a local audio file once to Ogg/Opus 48 kHz with even loudness; dst appears atomically."""
    source = local_file(src)
    target_text = os.fspath(dst)
    if not target_text or target_text == "-" or _PROTOCOL_PREFIX.match(target_text):
        raise RecordingError(target_text, "the converted file must be written to a plain local path")
    target = Path(target_text).expanduser().absolute()
    if not target.parent.is_dir():
        raise RecordingError(target.name, f"the folder {target.parent} does not exist")
    original = probe(source)
    # Speech is fine in mono; stereo stays stereo; surround is folded to stereo, which Discord plays.
    channels = min(max(original.channels, 1), 2)
    bitrate = "64k" if channels == 1 else "96k"
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        _run(
            [
                "ffmpeg",
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-protocol_whitelist",
                "file",
                "-format_whitelist",
                INPUT_FORMATS,
                "-i",
                _ffmpeg_url(source),
                "-map",
                "0:a:0",
                "-vn",
                "-sn",
                "-dn",
                "-map_metadata",
                "-1",
                "-map_chapters",
                "-1",
                "-af",
                LOUDNORM,
                "-ar",
                str(OPUS_SAMPLE_RATE),
                "-ac",
                str(channels),
                "-c:a",
                "libopus",
                "-b:a",
                bitrate,
                "-application",
                "audio",
                # discord.py sends one Ogg packet per 20 ms tick, so frames must be exactly 20 ms.
                "-frame_duration",
                "20",
                # Bit-exact output (fixed stream serial, no encoder tag) makes conversions repeatable.
                "-fflags",
                "+bitexact",
                "-flags:a",
                "+bitexact",
                "-f",
                "ogg",
                "-y",
                _ffmpeg_url(temp),
            ],
            "converting with ffmpeg",
            source.name,
            CONVERT_TIMEOUT_SECONDS,
        )
        converted = probe(temp)
        if (converted.container, converted.codec, converted.sample_rate) != ("ogg", "opus", OPUS_SAMPLE_RATE):
            raise RecordingError(source.name, "ffmpeg did not produce Ogg/Opus 48 kHz audio")
        if abs(converted.duration_seconds - original.duration_seconds) > 0.5:
            raise RecordingError(
                source.name,
                (
                    f"the converted audio lasts {converted.duration_seconds:.1f} s but the original lasts "
                    f"{original.duration_seconds:.1f} s; the original may be damaged"
                ),
            )
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        # mkstemp makes the file private; a recording is not a secret and others may need to read it.
        temp.chmod(0o644)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return converted


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file as 64 lowercase hex digits, read in chunks (never whole into memory)."""
    with Path(path).open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
