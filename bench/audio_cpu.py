"""CPU per second of audio: Opus passthrough (how the bot plays) against decoding and re-encoding PCM.

A 60-second recording is made at run time (sox: pink noise under a slow tone, so the encoder has
real work; then the project's own conversion to Ogg/Opus with ffmpeg, `add_recording`). Then, in
one run, with CPU time from time.process_time and, for ffmpeg, resource.getrusage(RUSAGE_CHILDREN):

- passthrough: `open_approved` (read once, sha256, Ogg CRCs and packets) and `OggOpusPassthrough.read`
  for every 20 ms packet, which is all the bot does per packet before discord.py encrypts and sends;
- decode + re-encode in process: each packet through discord.opus.Decoder to PCM, then
  discord.opus.Encoder back to Opus (what playing a PCM source costs, decoding aside from ffmpeg);
- FFmpegPCMAudio + encoder: discord.py's usual way to play a file (ffmpeg decodes to PCM in a child
  process; discord.opus.Encoder encodes each frame), the child's CPU included.

Encryption and sending are the same for every path and are left out.

    .venv/bin/python bench/audio_cpu.py            # full size
    .venv/bin/python bench/audio_cpu.py --quick    # tiny, for the smoke test
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import discord
from benchlib import arguments, print_machine, table
from discord import opus

from bot.adapters.player import OggOpusPassthrough
from bot.media.opus import FRAME_SECONDS, open_approved
from bot.media.recordings import add_recording
from bot.model import Recording


def options(parser: argparse.ArgumentParser) -> None:
    """This script's flags."""
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the generated recording")
    parser.add_argument("--repeat", type=int, default=20, help="passthrough repetitions (it is too quick to time once)")


def make_recording(folder: Path, seconds: float) -> Recording:
    """A stereo recording of `seconds`, made with sox and converted and approved as the bot's own are."""
    wav = folder / "source.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "48000",
            "-c",
            "2",
            str(wav),
            "synth",
            f"{seconds:g}",
            "pinknoise",
            "sine",
            "220-440",
            "vol",
            "0.3",
        ],
        check=True,
        capture_output=True,
    )
    result = add_recording(
        wav, recordings_path=folder / "recordings.yaml", title="Bench tone", kind="practice", source="bench"
    )
    return result.recording


def children_cpu() -> float:
    """CPU seconds (user + system) of the waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(work: Callable[[], int]) -> tuple[float, float, float, int]:
    """Run `work`; return (CPU seconds of this process and its children, of the children, wall seconds, packets)."""
    began_cpu, began_children, began_wall = time.process_time(), children_cpu(), time.perf_counter()
    packets = work()
    children = children_cpu() - began_children
    return (time.process_time() - began_cpu + children, children, time.perf_counter() - began_wall, packets)


def passthrough(recording: Recording, repeat: int) -> int:
    """Open (verify, parse) and read every packet, `repeat` times; returns packets read."""
    packets = 0
    for _ in range(repeat):
        source = OggOpusPassthrough(open_approved(recording))
        while source.read():
            packets += 1
    return packets


def passthrough_read_only(recording: Recording, repeat: int) -> int:
    """Only the per-packet reads, the file opened once beforehand."""
    approved = open_approved(recording)
    packets = 0
    for _ in range(repeat):
        source = OggOpusPassthrough(approved)
        while source.read():
            packets += 1
    return packets


def transcode(recording: Recording) -> int:
    """Decode every packet to PCM and encode it again, as a PCM source would be; returns packets."""
    approved = open_approved(recording)
    decoder = opus.Decoder()
    encoder = opus.Encoder()
    for packet in approved.packets:
        pcm = decoder.decode(packet, fec=False)
        encoder.encode(pcm, encoder.SAMPLES_PER_FRAME)
    return len(approved.packets)


def ffmpeg_pcm(recording: Recording) -> int:
    """Play the file the usual discord.py way: FFmpegPCMAudio frames, each encoded; returns frames."""
    source = discord.FFmpegPCMAudio(str(recording.path), options="-loglevel error")
    encoder = opus.Encoder()
    frames = 0
    try:
        while len(frame := source.read()) == opus.Encoder.FRAME_SIZE:
            encoder.encode(frame, encoder.SAMPLES_PER_FRAME)
            frames += 1
    finally:
        source.cleanup()  # waits for ffmpeg, so its CPU shows in RUSAGE_CHILDREN
    return frames


async def run(args: argparse.Namespace) -> None:
    """Make the file, measure each path, print."""
    seconds = 3.0 if args.quick else args.seconds
    repeat = 2 if args.quick else args.repeat
    if not opus.is_loaded() and not opus._load_default():
        raise SystemExit("libopus is not available; discord.py cannot encode or decode")
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as folder:
        recording = make_recording(Path(folder), seconds)
        size = recording.path.stat().st_size
        audio = open_approved(recording).duration_seconds
        results = [
            ("Opus passthrough: open_approved + read", *cpu_of(lambda: passthrough(recording, repeat)), repeat),
            ("Opus passthrough: read only", *cpu_of(lambda: passthrough_read_only(recording, repeat)), repeat),
            ("decode + re-encode (discord.opus)", *cpu_of(lambda: transcode(recording)), 1),
            ("FFmpegPCMAudio + encoder (ffmpeg counted)", *cpu_of(lambda: ffmpeg_pcm(recording)), 1),
        ]
    print_machine()
    print(
        table(
            "The recording",
            ["what", "value"],
            [
                ("length (s)", audio),
                ("Ogg/Opus size (KiB)", size / 1024),
                ("libopus", opus.Encoder.get_opus_version()),
            ],
        )
    )
    per_second = [cpu / (packets * FRAME_SECONDS) * 1000 for _, cpu, _, _, packets, _ in results]
    rows = [
        (label, runs, packets * FRAME_SECONDS, cpu, children, wall, ms, ms / per_second[0])
        for (label, cpu, children, wall, packets, runs), ms in zip(results, per_second, strict=True)
    ]
    print(
        table(
            "CPU per second of audio",
            ["path", "runs", "audio (s)", "CPU (s)", "of it ffmpeg", "wall (s)", "CPU ms per audio s", "x passthrough"],
            rows,
        )
    )


def main() -> None:
    """Entry point."""
    args = arguments(__doc__.splitlines()[0], options)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
