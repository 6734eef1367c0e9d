"""The only way audio reaches Discord: approved recordings, verified as they are read, passed through as Opus.

`bot.media.opus.open_approved` reads a recording's file once and hashes exactly those bytes, so the
bytes played are the bytes hashed. `OggOpusPassthrough` hands those packets to discord.py one per
20 ms tick: no ffmpeg, no decoding, no re-encoding at play time. `Player` verifies immediately before
each playback and waits for discord.py's `after` callback, which runs on the audio thread, through
`loop.call_soon_threadsafe`.

Gentle stop: a fade would mean decoding and re-encoding, so instead playback ends at a packet
boundary at most one second ahead, right after the smallest packet in that second (VBR Opus spends
the fewest bytes on near-silence, so that is the likeliest pause between words); the caller may
then pass an approved bell to mark the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord

from bot.errors import ConflictError, RecordingError
from bot.media.opus import FRAME_SECONDS, PACKETS_PER_SECOND, ApprovedAudio, open_approved, require_recording
from bot.model import Recording

log = logging.getLogger(__name__)

# At most one second of a recording still plays after a gentle stop is asked for.
GENTLE_STOP_PACKETS = PACKETS_PER_SECOND

OnRefused = Callable[[Recording, str], Awaitable[None]]


# --- Ogg pages and packets (RFC 3533) -------------------------------------------------------------


# --- Opus in Ogg (RFC 7845) and Opus packet durations (RFC 6716 section 3.1) -----------------------


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
        recording = require_recording(recording)
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
