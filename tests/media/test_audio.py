"""Tests for bot.media.conversion: probing, one-time conversion to Ogg/Opus 48 kHz, and local-files-only inputs."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.errors import RecordingError
from bot.media import conversion as audio

REPO_ROOT = Path(__file__).resolve().parents[2]


def make_wav(path: Path, seconds: float = 3.0, rate: int = 44100, channels: int = 1, gain_db: int = -30) -> Path:
    """A quiet sine tone made with sox."""
    subprocess.run(
        [
            "sox",
            "-D",
            "-n",
            "-r",
            str(rate),
            "-c",
            str(channels),
            str(path),
            "synth",
            str(seconds),
            "sine",
            "330",
            "gain",
            str(gain_db),
        ],
        check=True,
    )
    return path


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) as measured by ffmpeg's ebur128 filter."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = result.stderr.rsplit("Summary:", 1)[1]
    match = re.search(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", summary)
    assert match is not None
    return float(match.group(1))


def test_probe_describes_a_wav(tmp_path: Path) -> None:
    info = audio.probe(make_wav(tmp_path / "tone.wav", seconds=2.0, rate=44100, channels=2))
    assert info.container == "wav"
    assert info.codec.startswith("pcm_")
    assert info.sample_rate == 44100
    assert info.channels == 2
    assert info.duration_seconds == pytest.approx(2.0, abs=0.01)
    assert not audio.is_ogg_opus_48k(tmp_path / "tone.wav")


def test_wav_converts_to_ogg_opus_48k_with_even_loudness(tmp_path: Path) -> None:
    source = make_wav(tmp_path / "quiet.wav", seconds=3.0, gain_db=-30)
    target = tmp_path / "out" / "quiet.ogg"
    target.parent.mkdir()
    info = audio.convert_to_ogg_opus(source, target)
    assert (info.container, info.codec, info.sample_rate, info.channels) == ("ogg", "opus", 48000, 1)
    assert audio.is_ogg_opus_48k(target)
    assert audio.ready_for_discord(target)  # 20 ms frames: discord.py sends one packet per 20 ms
    assert audio.ogg_opus_duration(target) == pytest.approx(3.0, abs=0.05)
    # loudnorm brought a -30 dBFS tone up to about -16 LUFS
    assert integrated_loudness(target) == pytest.approx(-16.0, abs=1.5)
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_stereo_stays_stereo(tmp_path: Path) -> None:
    source = make_wav(tmp_path / "stereo.wav", seconds=1.0, channels=2, rate=48000)
    info = audio.convert_to_ogg_opus(source, tmp_path / "stereo.ogg")
    assert info.channels == 2


def test_conversion_is_repeatable(tmp_path: Path) -> None:
    source = make_wav(tmp_path / "tone.wav", seconds=1.0)
    audio.convert_to_ogg_opus(source, tmp_path / "a.ogg")
    audio.convert_to_ogg_opus(source, tmp_path / "b.ogg")
    assert audio.sha256_file(tmp_path / "a.ogg") == audio.sha256_file(tmp_path / "b.ogg")


def test_a_short_file_with_20_ms_frames_is_ready(tmp_path: Path) -> None:
    out = tmp_path / "short.ogg"
    audio.convert_to_ogg_opus(make_wav(tmp_path / "short.wav", seconds=0.5), out)
    assert audio.frame_seconds(out) == {0.02}


def test_ogg_opus_with_long_frames_is_not_ready_for_discord(tmp_path: Path) -> None:
    source = make_wav(tmp_path / "tone.wav", seconds=1.0)
    long_frames = tmp_path / "long.ogg"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-c:a",
            "libopus",
            "-frame_duration",
            "60",
            str(long_frames),
        ],
        check=True,
    )
    assert audio.is_ogg_opus_48k(long_frames)
    assert audio.frame_seconds(long_frames) == {0.06}
    assert not audio.ready_for_discord(long_frames)


def test_the_shipped_bell_is_small_soft_and_ready() -> None:
    bell = REPO_ROOT / "audio" / "bell.ogg"
    assert bell.stat().st_size < 60_000
    assert audio.ready_for_discord(bell)
    assert audio.ogg_opus_duration(bell) == pytest.approx(6.0, abs=0.5)
    assert integrated_loudness(bell) < -16.0


@pytest.mark.parametrize(
    "name",
    [
        "http://example.org/a.wav",
        "https://example.org/a.wav",
        "concat:a.wav|b.wav",
        "pipe:0",
        "-",
        "file:/etc/passwd",
        "data:audio/wav;base64,AAAA",
        "tcp://127.0.0.1:9",
        "",
    ],
)
def test_urls_and_protocols_are_refused_before_ffmpeg_runs(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("ffmpeg/ffprobe must not be called")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    with pytest.raises(RecordingError, match="only a file on this computer"):
        audio.probe(name)
    with pytest.raises(RecordingError, match="only a file on this computer"):
        audio.convert_to_ogg_opus(name, tmp_path / "out.ogg")


@pytest.mark.parametrize("target", ["http://example.org/out.ogg", "pipe:1", "-"])
def test_conversion_target_must_be_a_local_path(tmp_path: Path, target: str) -> None:
    source = make_wav(tmp_path / "tone.wav", seconds=0.5)
    with pytest.raises(RecordingError, match="plain local path"):
        audio.convert_to_ogg_opus(source, target)


def test_pipes_and_folders_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    with pytest.raises(RecordingError, match="not an ordinary file"):
        audio.probe(fifo)
    with pytest.raises(RecordingError, match="not an ordinary file"):
        audio.probe(tmp_path)
    with pytest.raises(RecordingError, match="there is no file"):
        audio.probe(tmp_path / "missing.wav")


def test_a_playlist_disguised_as_audio_is_refused(tmp_path: Path) -> None:
    # An HLS playlist would make ffmpeg open the files it lists; only plain audio formats are read.
    playlist = tmp_path / "innocent.wav"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with pytest.raises(RecordingError, match="reading it as audio"):
        audio.probe(playlist)


def test_failed_conversion_leaves_nothing_behind(tmp_path: Path) -> None:
    not_audio = tmp_path / "notes.mp3"
    not_audio.write_text("these are not sounds", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RecordingError):
        audio.convert_to_ogg_opus(not_audio, out / "notes.ogg")
    assert list(out.iterdir()) == []


def test_ogg_opus_duration_refuses_other_files(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="not a readable Ogg/Opus file"):
        audio.ogg_opus_duration(make_wav(tmp_path / "tone.wav", seconds=0.5))


def test_sha256_file_matches_hashlib_on_a_multi_chunk_file(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert audio.sha256_file(path) == hashlib.sha256(data).hexdigest()
