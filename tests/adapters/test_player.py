"""Tests for bot.adapters.player: only verified bytes are played, packet for packet, and a refused file sends nothing.

Packets are compared with `loopback.capture`'s own Ogg reader, which shares no code with the
player. The end-to-end tests join voice on the loopback Discord with a real discord.py client and
read back what its voice server decrypted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import struct
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import discord
import pytest

from bot.adapters import player as player_module
from bot.adapters.player import GENTLE_STOP_PACKETS, OggOpusPassthrough, Player
from bot.errors import ConflictError, RecordingError
from bot.media.opus import ApprovedAudio, OggError, ogg_crc, ogg_packets, open_approved, parse_ogg_opus
from bot.media.recordings import RecordingCatalog, add_recording, load_recordings
from bot.model import Recording
from loopback import Sandbox
from loopback import capture as reference
from loopback.capture import OPUS_SILENCE, ogg_opus_packets
from loopback.voice import VoiceServer

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOM = "Quiet Sitting"  # the default world's voice channel
CELT_20MS = 0xF8  # TOC byte: CELT fullband, 20 ms, one frame

Run = Callable[[discord.Client], AbstractAsyncContextManager[discord.Client]]
T = TypeVar("T")


def _have_audio_tools() -> bool:
    opus_loaded = discord.opus.is_loaded() or discord.opus._load_default()
    return bool(shutil.which("sox") and shutil.which("ffmpeg") and opus_loaded)


needs_audio_tools = pytest.mark.skipif(not _have_audio_tools(), reason="needs sox, ffmpeg and libopus")


# --- fixtures ------------------------------------------------------------------------------------


def tone(path: Path, seconds: float, frequency: int) -> Path:
    """A WAV tone made with sox."""
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "2", "-b", "16", str(path), "synth", str(seconds), "sine", str(frequency)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.fixture(scope="session")
def recordings_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped list (bell) plus 'tone' (1.5 s practice) and 'chime' (0.4 s bell), converted once."""
    if not shutil.which("sox") or not shutil.which("ffmpeg"):
        pytest.skip("needs sox and ffmpeg")
    work = tmp_path_factory.mktemp("recordings-template")
    folder = work / "recordings"
    (folder / "audio").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "recordings.yaml", folder / "recordings.yaml")
    shutil.copy(REPO_ROOT / "audio" / "bell.ogg", folder / "audio" / "bell.ogg")
    for rid, kind, seconds, frequency in (("tone", "practice", 1.5, 440), ("chime", "bell", 0.4, 880)):
        add_recording(
            tone(work / f"{rid}.wav", seconds, frequency),
            recordings_path=folder / "recordings.yaml",
            title=rid.title(),
            kind=kind,
            source="tests",
            recording_id=rid,
        )
    return folder


@pytest.fixture
def catalog(recordings_template: Path, tmp_path: Path) -> RecordingCatalog:
    """A fresh copy of the template list for this test, loaded (so tests may tamper with its files)."""
    folder = shutil.copytree(recordings_template, tmp_path / "recordings")
    loaded = load_recordings(folder / "recordings.yaml")
    assert not loaded.refused, loaded.refused
    return loaded


async def completes(awaitable: Awaitable[T], seconds: float = 10) -> T:
    """The result of a playback that must complete within `seconds`; a clear failure when it never does."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    assert task in done, "the playback never completed on the event loop"
    return task.result()


def flip_a_byte(path: Path) -> None:
    """Change one byte in the middle of the file, in place."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def drain(source: OggOpusPassthrough) -> list[bytes]:
    """Everything the source hands out until it says the end."""
    return list(iter(source.read, b""))


class Refusals:
    """An on_refused callback that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Recording, str]] = []

    async def __call__(self, recording: Recording, reason: str) -> None:
        self.calls.append((recording, reason))


# --- the Ogg reader --------------------------------------------------------------------------------


def ogg_stream(packets: list[bytes], *, segments_per_page: int, serial: int = 7) -> bytes:
    """Pack packets into Ogg pages of at most `segments_per_page` lacing values (so packets span pages)."""
    laced: list[tuple[int, bytes]] = []
    for packet in packets:
        sizes = [255] * (len(packet) // 255) + [len(packet) % 255]
        offset = 0
        for size in sizes:
            laced.append((size, packet[offset : offset + size]))
            offset += size
    pages = []
    continued = False
    for number, start in enumerate(range(0, len(laced), segments_per_page)):
        chunk = laced[start : start + segments_per_page]
        flags = (0x01 if continued else 0) | (0x02 if number == 0 else 0)
        header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, 0, serial, number, 0, len(chunk))
        page = bytearray(header + bytes(size for size, _ in chunk) + b"".join(body for _, body in chunk))
        page[22:26] = struct.pack("<I", reference.ogg_crc(bytes(page)))
        pages.append(bytes(page))
        continued = chunk[-1][0] == 255
    return b"".join(pages)


OPUS_HEAD = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", 312, 48000, 0, 0)
OPUS_TAGS = b"OpusTags" + struct.pack("<I", 5) + b"tests" + struct.pack("<I", 0)


@pytest.mark.parametrize("size", [0, 1, 27, 255, 4096, 65_307])
def test_ogg_crc_matches_the_reference_bit_by_bit_crc(size: int) -> None:
    data = os.urandom(size)
    assert ogg_crc(data) == reference.ogg_crc(data)


def test_packets_spanning_pages_and_exact_255_byte_packets_come_out_whole() -> None:
    audio = [bytes([CELT_20MS]) + bytes([n]) * (size - 1) for n, size in enumerate((300, 255, 600, 1, 510, 3))]
    data = ogg_stream([OPUS_HEAD, OPUS_TAGS, *audio], segments_per_page=2)
    assert ogg_packets(data) == reference.ogg_packets(data) == [OPUS_HEAD, OPUS_TAGS, *audio]
    stream = parse_ogg_opus(data)
    assert stream.packets == tuple(audio)
    assert (stream.channels, stream.pre_skip) == (2, 312)


def _damaged(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[-1] ^= 0xFF
    return bytes(changed)


def _page_removed(data: bytes) -> bytes:
    second = data.index(b"OggS", 1)
    third = data.index(b"OggS", second + 1)
    return data[:second] + data[third:]


GOOD = [bytes([CELT_20MS, 1, 2, 3])] * 4


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"RIFF" + bytes(60), "no Ogg page"),
        (_damaged(ogg_stream([OPUS_HEAD, OPUS_TAGS, *GOOD], segments_per_page=3)), "checksum"),
        (_page_removed(ogg_stream([OPUS_HEAD, OPUS_TAGS, *GOOD], segments_per_page=1)), "page 1 is missing"),
        (ogg_stream([OPUS_HEAD, OPUS_TAGS, *GOOD], segments_per_page=3)[:-2], "cut short"),
        (
            ogg_stream([OPUS_HEAD, OPUS_TAGS, *GOOD], segments_per_page=9)
            + ogg_stream([OPUS_HEAD, OPUS_TAGS, *GOOD], segments_per_page=9, serial=8),
            "more than one Ogg stream",
        ),
        (ogg_stream([b"fLaC" + bytes(30), *GOOD], segments_per_page=9), "not Ogg/Opus"),
        (
            ogg_stream([OPUS_HEAD[:9] + bytes([6]) + OPUS_HEAD[10:], OPUS_TAGS, *GOOD], segments_per_page=9),
            "6 channels",
        ),
        (ogg_stream([OPUS_HEAD, OPUS_TAGS, bytes([0x10, 1])], segments_per_page=9), "lasts 40 ms"),  # SILK 40 ms
        (ogg_stream([OPUS_HEAD, OPUS_TAGS, bytes([CELT_20MS | 0x01, 1])], segments_per_page=9), "lasts 40 ms"),
        (ogg_stream([OPUS_HEAD, OPUS_TAGS, GOOD[0], b""], segments_per_page=9), "empty"),
        (ogg_stream([OPUS_HEAD, OPUS_TAGS], segments_per_page=9), "no audio"),
    ],
)
def test_what_discord_cannot_play_as_is_is_refused_with_a_reason(data: bytes, problem: str) -> None:
    with pytest.raises(OggError, match=problem):
        parse_ogg_opus(data)


# --- open_approved and the passthrough source ------------------------------------------------------


@needs_audio_tools
def test_passthrough_yields_exactly_the_files_opus_packets(catalog: RecordingCatalog) -> None:
    for recording in catalog:
        approved = open_approved(recording)
        source = OggOpusPassthrough(approved)
        assert source.is_opus()
        assert drain(source) == ogg_opus_packets(recording.path)
        assert source.read() == b"" and source.finished
        assert approved.sha256 == recording.sha256
    assert open_approved(catalog.get("tone")).duration_seconds == pytest.approx(1.5, abs=0.03)


@needs_audio_tools
def test_a_tampered_file_is_refused_naming_the_recording(catalog: RecordingCatalog) -> None:
    tone_recording = catalog.get("tone")
    flip_a_byte(tone_recording.path)
    with pytest.raises(RecordingError, match="changed since it was approved") as caught:
        open_approved(tone_recording)
    assert caught.value.entry == "tone"


@needs_audio_tools
def test_a_file_swapped_after_verification_cannot_be_played(catalog: RecordingCatalog) -> None:
    chime, tone_recording = catalog.get("chime"), catalog.get("tone")
    verified = ogg_opus_packets(chime.path)
    approved = open_approved(chime)
    chime.path.write_bytes(tone_recording.path.read_bytes())  # the same inode, rewritten in place
    assert drain(OggOpusPassthrough(approved)) == verified
    os.replace(tone_recording.path, chime.path)  # a different file renamed over it
    assert drain(OggOpusPassthrough(approved)) == verified
    with pytest.raises(RecordingError, match="changed since it was approved"):
        open_approved(chime)  # the next playback sees the swap


@needs_audio_tools
def test_a_file_swapped_for_a_link_outside_the_list_folder_is_refused(
    catalog: RecordingCatalog, tmp_path: Path
) -> None:
    chime = catalog.get("chime")
    outside = tmp_path / "outside.ogg"
    shutil.copy(chime.path, outside)
    chime.path.unlink()
    chime.path.symlink_to(outside)
    with pytest.raises(RecordingError, match="outside the folder"):
        open_approved(chime)


@pytest.mark.parametrize("named", ["audio/bell.ogg", REPO_ROOT / "audio" / "bell.ogg", "https://example.org/a.ogg"])
def test_only_recordings_from_the_list_can_be_named(named: Any) -> None:
    with pytest.raises(TypeError, match="only approved recordings"):
        open_approved(named)


def synthetic(sizes: list[int]) -> ApprovedAudio:
    """Approved audio whose packets have these sizes (for the stop arithmetic only)."""
    recording = load_recordings(REPO_ROOT / "recordings.yaml").get("bell")
    packets = tuple(bytes([CELT_20MS]) + bytes(size - 1) for size in sizes)
    return ApprovedAudio(recording=recording, sha256=recording.sha256, channels=2, packets=packets)


def test_a_gentle_stop_ends_right_after_the_smallest_packet_within_a_second() -> None:
    sizes = [100] * 200
    sizes[30], sizes[41], sizes[75] = 20, 20, 5  # 75 is out of reach from packet 10
    source = OggOpusPassthrough(synthetic(sizes))
    for _ in range(10):
        source.read()
    assert source.end_within(GENTLE_STOP_PACKETS) == 21  # packets 10..30; the first of the two quiet ones
    assert len(drain(source)) == 21
    assert source.sent == 31 and not source.finished


def test_a_gentle_stop_near_the_end_lets_the_recording_finish() -> None:
    source = OggOpusPassthrough(synthetic([100] * 60))
    for _ in range(20):
        source.read()
    assert source.end_within(GENTLE_STOP_PACKETS) == 40
    assert len(drain(source)) == 40 and source.finished


# --- Player, against a stand-in voice client ---------------------------------------------------------


class FakeVoice:
    """Stands in for discord.VoiceClient: reads the source on its own thread and calls `after` there."""

    def __init__(self, *, hold: bool = False) -> None:
        self.sent: list[bytes] = []
        self.plays = 0
        self.hold = hold  # keep "playing" until stop()
        self._stop = threading.Event()
        self.started = threading.Event()
        self.thread: threading.Thread | None = None

    def play(self, source: discord.AudioSource, *, after: Callable[[Exception | None], Any]) -> None:
        self.plays += 1
        self._stop.clear()

        def run() -> None:
            self.started.set()
            if self.hold:
                self._stop.wait()
            while not self._stop.is_set() and (packet := source.read()):
                self.sent.append(packet)
            after(None)

        self.thread = threading.Thread(target=run, name="fake-audio-player")
        # Started on the next turn of the loop, once play() awaits its end, as discord.py's thread would be.
        asyncio.get_running_loop().call_soon(self.thread.start)

    def stop(self) -> None:
        self._stop.set()


def test_play_sends_the_verified_packets_and_completes_on_the_loops_own_thread(catalog: RecordingCatalog) -> None:
    voice, refusals = FakeVoice(), Refusals()
    outcome: dict[str, Any] = {}

    def own_loop() -> None:
        # Debug mode makes a completion from the audio thread raise (and so never wake play());
        # a loop of its own, in a daemon thread, keeps such a failure from hanging the test run.
        play = Player().play(voice, catalog.get("tone"), on_refused=refusals)
        outcome["result"] = asyncio.run(play, debug=True)

    loop_thread = threading.Thread(target=own_loop, name="test-loop", daemon=True)
    loop_thread.start()
    loop_thread.join(10)
    assert "result" in outcome, "play() never completed: its after callback did not reach the loop safely"
    result = outcome["result"]
    assert voice.sent == ogg_opus_packets(catalog.get("tone").path)
    assert result.finished and not result.refused and not result.stopped
    assert result.packets_sent == len(voice.sent)
    assert refusals.calls == []


async def test_play_can_resume_part_way(catalog: RecordingCatalog) -> None:
    voice = FakeVoice()
    result = await Player().play(voice, catalog.get("tone"), on_refused=Refusals(), skip_seconds=1.0)
    assert voice.sent == ogg_opus_packets(catalog.get("tone").path)[50:]
    assert result.finished
    past_the_end = await Player().play(voice, catalog.get("tone"), on_refused=Refusals(), skip_seconds=60)
    assert past_the_end.finished and past_the_end.packets_sent == 0 and voice.plays == 1


async def test_a_refused_recording_never_reaches_the_voice_client(catalog: RecordingCatalog) -> None:
    voice, refusals = FakeVoice(), Refusals()
    flip_a_byte(catalog.get("tone").path)
    result = await Player().play(voice, catalog.get("tone"), on_refused=refusals)
    assert voice.plays == 0
    assert result.refused and not result.finished and "changed since it was approved" in result.reason
    assert [(recording.id, reason) for recording, reason in refusals.calls] == [("tone", result.reason)]


async def test_one_playback_at_a_time(catalog: RecordingCatalog) -> None:
    voice, player = FakeVoice(hold=True), Player()
    playing = asyncio.create_task(player.play(voice, catalog.get("tone"), on_refused=Refusals()))
    await asyncio.to_thread(voice.started.wait, 5)
    assert player.is_playing and player.current == catalog.get("tone")
    with pytest.raises(ConflictError, match="already playing 'tone'"):
        await player.play(voice, catalog.get("chime"), on_refused=Refusals())
    await player.stop(gently=False)
    result = await playing
    assert result.stopped and not result.finished and not player.is_playing


async def test_cancelling_play_stops_the_audio(catalog: RecordingCatalog) -> None:
    voice, player = FakeVoice(hold=True), Player()
    playing = asyncio.create_task(player.play(voice, catalog.get("tone"), on_refused=Refusals()))
    await asyncio.to_thread(voice.started.wait, 5)
    playing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await playing
    assert voice.thread is not None
    await asyncio.to_thread(voice.thread.join, 5)
    assert not voice.thread.is_alive() and voice.sent == [] and not player.is_playing


async def test_a_stop_during_verification_plays_nothing(catalog: RecordingCatalog) -> None:
    voice, player = FakeVoice(), Player()
    playing = asyncio.create_task(player.play(voice, catalog.get("tone"), on_refused=Refusals()))
    await asyncio.sleep(0)  # one turn of the loop: play() starts and awaits its verification thread
    assert player.is_playing
    await player.stop(gently=True)
    result = await playing
    assert result.stopped and voice.plays == 0


async def test_stop_leaves_another_connections_playback_alone(catalog: RecordingCatalog) -> None:
    voice, player = FakeVoice(hold=True), Player()
    playing = asyncio.create_task(player.play(voice, catalog.get("tone"), on_refused=Refusals()))
    await asyncio.to_thread(voice.started.wait, 5)
    await player.stop(FakeVoice(), gently=False)
    assert player.is_playing
    await player.stop(voice, gently=False)
    assert (await playing).stopped


# --- end to end: a discord.py client on the loopback Discord ---------------------------------------


@pytest.fixture
async def client(run: Run) -> AsyncIterator[discord.Client]:
    """A plain discord.py client logged in to the sandbox."""
    async with run(discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)) as started:
        yield started


def voice_server(sandbox: Sandbox) -> VoiceServer:
    assert sandbox.voice is not None
    return sandbox.voice


def me(client: discord.Client) -> int:
    assert client.user is not None
    return client.user.id


async def join(client: discord.Client, sandbox: Sandbox) -> discord.VoiceClient:
    """Join the default world's voice channel and wait until the voice server handed out a key."""
    channel = discord.utils.get(client.guilds[0].channels, name=ROOM)
    assert isinstance(channel, discord.VoiceChannel)
    voice_client = await channel.connect(timeout=10)
    assert isinstance(voice_client, discord.VoiceClient)
    await voice_server(sandbox).wait_for_connection(me(client))
    return voice_client


def speaking_flags(sandbox: Sandbox, user_id: int) -> list[int]:
    """The SPEAKING flags a user announced, in order."""
    return [m.data["speaking"] for m in voice_server(sandbox).received if m.op == 5 and m.user_id == user_id]


@needs_audio_tools
async def test_played_recording_arrives_packet_for_packet_at_20_ms(
    client: discord.Client, sandbox: Sandbox, catalog: RecordingCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    asyncio.get_running_loop().set_debug(True)  # a completion from the audio thread would raise here
    caplog.set_level(logging.WARNING)
    recording = catalog.get("tone")
    expected = ogg_opus_packets(recording.path)
    voice_client = await join(client, sandbox)
    capture = voice_server(sandbox).capture

    result = await completes(Player().play(voice_client, recording, on_refused=Refusals()))

    assert result.finished and result.packets_sent == len(expected)
    await capture.wait_for_frames(len(expected) + 5, user_id=me(client))
    assert capture.opus_packets(me(client), voice_client.channel.id, strip_silence_tail=True) == expected
    assert [frame.opus for frame in capture.silence_tail(me(client))] == [OPUS_SILENCE] * 5
    assert abs(capture.mean_gap_ms(me(client)) - 20.0) <= 2.0
    assert capture.rejected == []
    troubles = [r.getMessage() for r in caplog.records if r.name.startswith(("discord.player", "bot.adapters.player"))]
    assert troubles == []
    assert not any("thread" in r.getMessage().lower() for r in caplog.records if r.name == "asyncio")


@needs_audio_tools
async def test_a_tampered_recording_sends_zero_frames_and_is_reported(
    client: discord.Client, sandbox: Sandbox, catalog: RecordingCatalog
) -> None:
    voice_client = await join(client, sandbox)
    capture = voice_server(sandbox).capture
    player, refusals = Player(), Refusals()
    flip_a_byte(catalog.get("tone").path)

    result = await player.play(voice_client, catalog.get("tone"), on_refused=refusals)

    assert result.refused and result.packets_sent == 0
    assert [(recording.id, reason) for recording, reason in refusals.calls] == [("tone", result.reason)]
    assert "audio/tone.ogg has changed since it was approved" in result.reason
    # Play a good recording next: everything captured is its packets, so the refused one sent nothing.
    chime = ogg_opus_packets(catalog.get("chime").path)
    assert (await player.play(voice_client, catalog.get("chime"), on_refused=refusals)).finished
    await capture.wait_for_frames(len(chime) + 5, user_id=me(client))
    assert capture.opus_packets(me(client)) == [*chime, *[OPUS_SILENCE] * 5]
    await voice_server(sandbox).wait_for_speaking(me(client), 0)
    assert speaking_flags(sandbox, me(client)).count(1) == 1  # it never even announced speech for the refused one
    assert len(refusals.calls) == 1


@needs_audio_tools
async def test_a_file_swapped_between_hash_and_play_still_plays_the_verified_bytes(
    client: discord.Client, sandbox: Sandbox, catalog: RecordingCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    chime, tone_recording = catalog.get("chime"), catalog.get("tone")
    verified = ogg_opus_packets(chime.path)
    real_open_approved = player_module.open_approved

    def open_then_swap(recording: Recording) -> ApprovedAudio:
        approved = real_open_approved(recording)
        recording.path.write_bytes(tone_recording.path.read_bytes())
        return approved

    monkeypatch.setattr(player_module, "open_approved", open_then_swap)
    voice_client = await join(client, sandbox)
    capture = voice_server(sandbox).capture
    assert (await Player().play(voice_client, chime, on_refused=Refusals())).finished
    await capture.wait_for_frames(len(verified) + 5, user_id=me(client))
    assert capture.opus_packets(me(client), strip_silence_tail=True) == verified


@needs_audio_tools
async def test_a_gentle_stop_ends_within_a_second_then_rings_the_bell(
    client: discord.Client, sandbox: Sandbox, catalog: RecordingCatalog
) -> None:
    voice_client = await join(client, sandbox)
    capture = voice_server(sandbox).capture
    player = Player()
    tone_packets = ogg_opus_packets(catalog.get("tone").path)
    chime = ogg_opus_packets(catalog.get("chime").path)
    playing = asyncio.create_task(player.play(voice_client, catalog.get("tone"), on_refused=Refusals()))
    heard = len(await capture.wait_for_frames(5, user_id=me(client)))

    await asyncio.wait_for(player.stop(voice_client, gently=True, bell=catalog.get("chime")), timeout=10)

    result = await playing
    assert result.stopped and not result.finished
    assert heard <= result.packets_sent <= heard + GENTLE_STOP_PACKETS + 2  # the +2: frames in flight
    sent = result.packets_sent
    await capture.wait_for_frames(sent + 5 + len(chime) + 5, user_id=me(client))
    silence = [OPUS_SILENCE] * 5
    assert capture.opus_packets(me(client)) == [*tone_packets[:sent], *silence, *chime, *silence]
    assert not player.is_playing
