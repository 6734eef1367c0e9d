"""The sandbox voice server against the real discord.py 2.7 voice stack, and its protocol edges.

discord.py logs in to the loopback Discord (`Sandbox`, via the `run` fixture), joins with
`channel.connect()`, does the v8 handshake, IP discovery and SELECT_PROTOCOL, and plays an Ogg/Opus
file; the voice server decrypts every packet and `Capture` says exactly what was sent and how it was
paced. Protocol edges discord.py never produces are driven by a scripted websocket client.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import struct
import subprocess
import wave
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt

from loopback import Sandbox
from loopback.capture import OPUS_SILENCE, ogg_opus_packets
from loopback.voice import VoiceServer
from loopback.voice_protocol import (
    ForgedPacket,
    MalformedPacket,
    open_xchacha20_rtpsize,
    parse_ip_discovery_response,
    parse_rtp_header,
)

GUILD = 10
CHANNEL = 20
ROOM = "Quiet Sitting"  # the default world's voice channel
STAGE = "Practice Circle"  # and its Stage

Run = Callable[[discord.Client], AbstractAsyncContextManager[discord.Client]]


def _have_audio_tools() -> bool:
    opus_loaded = discord.opus.is_loaded() or discord.opus._load_default()
    return bool(shutil.which("sox") and shutil.which("ffmpeg") and opus_loaded)


needs_audio_tools = pytest.mark.skipif(not _have_audio_tools(), reason="needs sox, ffmpeg and libopus")


# --- scaffolding -----------------------------------------------------------------------------


@pytest.fixture
async def voice() -> AsyncIterator[VoiceServer]:
    """A voice server on its own, for the scripted-client tests."""
    server = VoiceServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def bot(run: Run) -> AsyncIterator[discord.Client]:
    """A plain discord.py client logged in to the sandbox (which also rewrites voice to ws://)."""
    # One guild arrives at once; waiting the default 2 s for more only slows every test.
    async with run(discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)) as client:
        yield client


def server_of(sandbox: Sandbox) -> VoiceServer:
    assert sandbox.voice is not None
    return sandbox.voice


def me(bot: discord.Client) -> int:
    assert bot.user is not None
    return bot.user.id


async def connect(
    bot: discord.Client, sandbox: Sandbox, name: str = ROOM, connect_timeout: float = 10
) -> discord.VoiceClient:
    """Join a channel the way the bot will, and wait until the voice server has handed out a key."""
    channel = discord.utils.get(bot.guilds[0].channels, name=name)
    assert isinstance(channel, discord.VoiceChannel | discord.StageChannel)
    voice_client = await channel.connect(timeout=connect_timeout)
    assert isinstance(voice_client, discord.VoiceClient)
    await server_of(sandbox).wait_for_connection(me(bot))
    return voice_client


async def kick_from_voice(sandbox: Sandbox, user_id: int) -> None:
    """A moderator disconnects someone: VOICE_STATE_UPDATE with no channel, and the voice socket ends."""
    left = sandbox.world.leave_voice(user_id)
    assert left is not None
    sandbox.events.voice_state_changed(left, left=True)
    await sandbox.voice_left(user_id)


def make_opus(path: Path, seconds: float, frequency: int = 440) -> Path:
    """A tone made with sox, encoded once with ffmpeg's libopus at 48 kHz stereo."""
    wav = path.with_suffix(".wav")
    tone = ["synth", str(seconds), "sine", str(frequency)]
    subprocess.run(
        ["sox", "-n", "-r", "48000", "-c", "2", "-b", "16", str(wav), *tone], check=True, capture_output=True
    )
    encode = ["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *encode, str(path)], check=True, capture_output=True)
    return path


class OggPassthrough(discord.AudioSource):
    """Plays an Ogg/Opus file's audio packets as they are: no decode, no re-encode."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._packets = discord.oggparse.OggStream(self._file).iter_packets()
        next(self._packets)  # OpusHead
        next(self._packets)  # OpusTags

    def read(self) -> bytes:
        return next(self._packets, b"")

    def is_opus(self) -> bool:
        return True

    def cleanup(self) -> None:
        self._file.close()


async def play_to_end(voice_client: discord.VoiceClient, source: discord.AudioSource) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[Exception | None] = loop.create_future()
    voice_client.play(source, after=lambda error: loop.call_soon_threadsafe(finished.set_result, error))
    error = await asyncio.wait_for(finished, timeout=30)
    assert error is None


# --- end to end with discord.py --------------------------------------------------------------


@needs_audio_tools
async def test_played_file_arrives_packet_for_packet_paced_at_20_ms(
    bot: discord.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    voice = server_of(sandbox)
    recording = make_opus(tmp_path / "tone.opus", 3.0)
    expected = ogg_opus_packets(recording)
    voice_client = await connect(bot, sandbox)
    user = me(bot)
    assert voice.session(user).mode == "aead_xchacha20_poly1305_rtpsize"  # type: ignore[union-attr]

    await play_to_end(voice_client, OggPassthrough(recording))
    await voice.capture.wait_for_frames(len(expected) + 5, user_id=user)

    capture = voice.capture
    assert capture.opus_packets(user, voice_client.channel.id, strip_silence_tail=True) == expected
    assert [frame.opus for frame in capture.silence_tail(user)] == [OPUS_SILENCE] * 5
    frames = capture.frames(user)
    assert [frame.sequence for frame in frames] == list(range(frames[0].sequence, frames[0].sequence + len(frames)))
    assert all(later.timestamp - earlier.timestamp == 960 for earlier, later in zip(frames, frames[1:], strict=False))
    assert [frame.nonce for frame in frames] == list(range(len(frames)))  # a fresh counter, never reused
    gaps = capture.gaps_ms(user)
    mean = capture.mean_gap_ms(user)
    steady = gaps[1:]
    print(
        f"pacing: {len(gaps)} gaps, mean {mean:.3f} ms, first {gaps[0]:.2f} ms, then mean"
        f" {sum(steady) / len(steady):.3f} min {min(steady):.2f} max {max(steady):.2f}"
    )
    assert abs(mean - 20.0) <= 2.0
    seconds = capture.to_wav(tmp_path / "heard.wav", user, strip_silence_tail=True)
    with wave.open(str(tmp_path / "heard.wav")) as heard:
        assert (heard.getframerate(), heard.getnchannels(), heard.getsampwidth()) == (48000, 2, 2)
        assert heard.getnframes() == len(expected) * 960
    assert abs(seconds - 3.0) <= 0.1
    assert capture.rejected == []
    await voice.wait_for_speaking(user, 0)  # the player announces the end of speech
    assert [message.data["speaking"] for message in voice.received if message.op == 5] == [0, 1, 0]


@needs_audio_tools
async def test_dave_version_0_means_plain_transport_encrypted_opus(bot: discord.Client, sandbox: Sandbox) -> None:
    """With davey installed discord.py offers DAVE; given version 0 it keeps no E2EE session."""
    voice = server_of(sandbox)
    voice_client = await connect(bot, sandbox)
    identify = next(message for message in voice.received if message.op == 0)
    assert identify.data["max_dave_protocol_version"] >= 1
    state = voice_client._connection
    assert state.dave_protocol_version == 0 and state.dave_session is None and not state.can_encrypt
    voice_client.send_audio_packet(b"\xfc\xff\xfe", encode=False)  # any payload goes out as it is
    frames = await voice.capture.wait_for_frames(1, user_id=me(bot))
    assert frames[0].opus == b"\xfc\xff\xfe"


@needs_audio_tools
async def test_ip_discovery_reply_is_what_discord_py_reads(bot: discord.Client, sandbox: Sandbox) -> None:
    voice = server_of(sandbox)
    voice_client = await connect(bot, sandbox)
    state = voice_client._connection
    local_port = state.socket.getsockname()[1]
    assert (state.ip, state.port) == ("127.0.0.1", local_port)  # parsed by discord.py's discover_ip
    session = voice.session(me(bot))
    assert session is not None
    assert voice.discoveries == [(session.ssrc, ("127.0.0.1", local_port))]
    assert session.client_address == ("127.0.0.1", local_port)  # what it then announced in SELECT_PROTOCOL
    assert (state.endpoint_ip, state.voice_port) == voice.udp_address


@needs_audio_tools
async def test_ffmpeg_opus_audio_copy_sends_the_ogg_headers_as_voice_frames(
    bot: discord.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    """discord.py 2.7's FFmpegOpusAudio relays every Ogg packet, OpusHead and OpusTags included."""
    voice = server_of(sandbox)
    recording = make_opus(tmp_path / "short.opus", 0.4)
    expected = ogg_opus_packets(recording)
    voice_client = await connect(bot, sandbox)
    await play_to_end(voice_client, discord.FFmpegOpusAudio(str(recording), codec="copy"))
    await voice.capture.wait_for_frames(len(expected) + 2 + 5, user_id=me(bot))
    sent = voice.capture.opus_packets(me(bot), strip_silence_tail=True)
    assert sent[0].startswith(b"OpusHead") and sent[1].startswith(b"OpusTags")
    assert sent[2:] == expected


@needs_audio_tools
async def test_stage_channel_audio_is_captured_under_that_channel(
    bot: discord.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    voice = server_of(sandbox)
    recording = make_opus(tmp_path / "stage.opus", 0.2)
    voice_client = await connect(bot, sandbox, STAGE)
    assert isinstance(voice_client.channel, discord.StageChannel)
    await play_to_end(voice_client, OggPassthrough(recording))
    frames = await voice.capture.wait_for_frames(len(ogg_opus_packets(recording)) + 5, user_id=me(bot))
    assert {frame.channel_id for frame in frames} == {voice_client.channel.id}


@needs_audio_tools
async def test_packets_under_a_key_the_server_did_not_give_are_rejected(
    bot: discord.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    voice = server_of(sandbox)
    recording = make_opus(tmp_path / "short.opus", 0.2)
    count = len(ogg_opus_packets(recording)) + 5
    voice_client = await connect(bot, sandbox)
    session = voice.session(me(bot))
    assert session is not None
    session.secret_key = bytes(32)  # the server now expects another key than the one it handed out
    await play_to_end(voice_client, OggPassthrough(recording))
    assert await voice.capture.wait_for_rejected(count, "auth") == count
    assert voice.capture.frames() == []
    assert {item.ssrc for item in voice.capture.rejected} == {session.ssrc}


@needs_audio_tools
async def test_discord_py_resume_payload_is_accepted_and_audio_continues(
    bot: discord.Client, sandbox: Sandbox, tmp_path: Path
) -> None:
    """discord.py's own RESUME (op 7 with v8 seq_ack) gets RESUMED; the same SSRC and key keep working."""
    voice = server_of(sandbox)
    recording = make_opus(tmp_path / "short.opus", 0.2)
    voice_client = await connect(bot, sandbox)
    state = voice_client._connection
    session = voice.session(me(bot))
    assert session is not None
    poller = state._runner
    assert poller is not None
    # discord.py 2.7 answers 4015 by re-joining through op 4 and waiting for a fresh
    # VOICE_SERVER_UPDATE, not by resuming; stop that loop and send its RESUME ourselves.
    poller.cancel()
    seq_ack = state.ws.seq_ack
    assert seq_ack == session.seq  # it saw SESSION_DESCRIPTION's number
    assert await voice.crash(me(bot))
    resumed_ws = await discord.gateway.DiscordVoiceWebSocket.from_connection_state(state, resume=True, seq_ack=seq_ack)
    await resumed_ws.poll_event()
    assert voice.received[-1].op == 7 and voice.received[-1].data["seq_ack"] == seq_ack
    assert session.resumes == 1 and session.attached and voice.session(me(bot)) is session
    state.ws = resumed_ws

    await play_to_end(voice_client, OggPassthrough(recording))
    frames = await voice.capture.wait_for_frames(len(ogg_opus_packets(recording)) + 5, user_id=me(bot))
    assert {frame.ssrc for frame in frames} == {session.ssrc}
    await resumed_ws.close()


@needs_audio_tools
async def test_kick_closes_4014_and_discord_py_leaves(bot: discord.Client, sandbox: Sandbox) -> None:
    voice = server_of(sandbox)
    # The connect timeout bounds how long discord.py's poll loop can linger: when the 4014 close is read
    # after VOICE_STATE_UPDATE's handler was scheduled, its _wait_for_state misses the wake-up
    # (the event is set and cleared before its waiter task runs) and sits out the timeout.
    voice_client = await connect(bot, sandbox, connect_timeout=2)
    poller = voice_client._connection._runner
    assert poller is not None
    await kick_from_voice(sandbox, me(bot))
    await asyncio.wait_for(poller, timeout=5)  # discord.py's websocket loop ends instead of reconnecting
    assert not voice_client.is_connected()
    assert bot.voice_clients == []
    assert voice.session(me(bot)) is None


@needs_audio_tools
async def test_moving_channels_closes_the_old_connection_and_reidentifies_with_the_new_token(
    bot: discord.Client, sandbox: Sandbox
) -> None:
    voice = server_of(sandbox)
    voice_client = await connect(bot, sandbox)
    first = voice.session(me(bot))
    assert first is not None
    old_socket = voice_client._connection.socket.getsockname()
    stage = discord.utils.get(bot.guilds[0].stage_channels, name=STAGE)
    assert stage is not None
    move = asyncio.create_task(voice_client.move_to(stage))

    def reidentified() -> Any:
        session = voice.session(me(bot))
        return session if session not in (None, first) else None

    second = await voice.wait_until(reidentified, what="a re-IDENTIFY")
    assert second.channel_id == stage.id and second.token != first.token
    assert not first.attached  # closed with 4014, which is what makes discord.py re-identify
    # discord.py 2.7's socket reader thread still sits in a 30 s select() on the socket it replaced
    # for the move, so IP discovery would stall until that times out. One datagram to the old
    # socket wakes it; it must come from the server's address, as the socket is connected there.
    voice.send_udp(b"\0\0", old_socket)
    await asyncio.wait_for(move, timeout=10)
    await voice.wait_for_connection(me(bot))
    assert voice_client.is_connected() and voice_client.channel.id == stage.id


# --- protocol edges with a scripted client ---------------------------------------------------


class ScriptedVoiceClient:
    """Speaks the voice gateway by hand, for the cases discord.py never produces."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ssrc = 0
        self.key = b""
        self.last_seq = -1
        self.pending: list[dict[str, Any]] = []  # messages skipped while waiting for another op

    async def send(self, op: int, data: Any) -> None:
        await self.ws.send_json({"op": op, "d": data})

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.TEXT, f"expected a message, got {message}"
        payload: dict[str, Any] = json.loads(message.data)
        self.last_seq = payload.get("seq", self.last_seq)
        return payload

    async def receive_op(self, op: int) -> dict[str, Any]:
        """The next message with this op; others received meanwhile go to `pending`."""
        while (message := await self.receive())["op"] != op:
            self.pending.append(message)
        return message

    async def close_code(self) -> int | None:
        """Read until the server closes; return its close code."""
        while True:
            message = await self.ws.receive(timeout=5)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return self.ws.close_code


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def open_voice(http: aiohttp.ClientSession, voice: VoiceServer, version: int = 8) -> ScriptedVoiceClient:
    return ScriptedVoiceClient(await http.ws_connect(f"ws://{voice.endpoint}/?v={version}"))


def identify(user_id: int, token: str = "token", session_id: str = "session") -> dict[str, Any]:  # noqa: S107
    return {"server_id": str(GUILD), "user_id": str(user_id), "session_id": session_id, "token": token}


async def join(
    http: aiohttp.ClientSession, voice: VoiceServer, user_id: int, channel_id: int = CHANNEL
) -> ScriptedVoiceClient:
    """Authorise, connect, IDENTIFY, and SELECT_PROTOCOL, up to SESSION_DESCRIPTION."""
    voice.expect(GUILD, channel_id, user_id, "session", "token")
    client = await open_voice(http, voice)
    assert (await client.receive())["op"] == 8
    await client.send(0, identify(user_id))
    ready = await client.receive()
    assert ready["op"] == 2 and "seq" not in ready
    client.ssrc = ready["d"]["ssrc"]
    assert (ready["d"]["ip"], ready["d"]["port"]) == voice.udp_address
    assert "aead_xchacha20_poly1305_rtpsize" in ready["d"]["modes"]
    await client.send(
        1, {"protocol": "udp", "data": {"address": "127.0.0.1", "port": 9, "mode": ready["d"]["modes"][0]}}
    )
    description = await client.receive_op(4)
    client.key = bytes(description["d"]["secret_key"])
    return client


async def test_hello_comes_first_with_the_heartbeat_interval(http: aiohttp.ClientSession) -> None:
    server = VoiceServer(heartbeat_interval_ms=5000)
    await server.start()
    try:
        client = await open_voice(http, server)
        assert await client.receive() == {"op": 8, "d": {"heartbeat_interval": 5000}}
    finally:
        await server.stop()


async def test_session_description_is_numbered_and_heartbeats_acked_with_t(
    http: aiohttp.ClientSession, voice: VoiceServer
) -> None:
    client = await join(http, voice, 1)
    assert client.last_seq == 1
    assert len(client.key) == 32
    await client.send(3, {"t": 1501184119561, "seq_ack": client.last_seq})
    assert await client.receive() == {"op": 6, "d": {"t": 1501184119561}}
    session = voice.session(1)
    assert session is not None and session.seq_ack == 1 and session.heartbeats == 1
    assert not session.buffer  # acknowledged messages are no longer kept for resume


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (identify(1, token="wrong"), 4004),
        (identify(1, session_id="other"), 4006),
        (identify(2), 4004),  # nobody announced this user
        ({"server_id": str(GUILD)}, 4002),
    ],
)
async def test_identify_is_checked_like_discord(
    http: aiohttp.ClientSession, voice: VoiceServer, payload: dict[str, Any], code: int
) -> None:
    voice.expect(GUILD, CHANNEL, 1, "session", "token")
    client = await open_voice(http, voice)
    await client.receive()
    await client.send(0, payload)
    assert await client.close_code() == code


@pytest.mark.parametrize(
    ("op", "data", "code"),
    [
        (
            1,
            {"protocol": "udp", "data": {"address": "127.0.0.1", "port": 9, "mode": "xsalsa20_poly1305"}},
            4016,
        ),
        (1, {"protocol": "webrtc", "data": {}}, 4012),
        (0, identify(1), 4005),
        (42, {}, 4001),
    ],
)
async def test_bad_requests_after_identify_close_with_discords_codes(
    http: aiohttp.ClientSession, voice: VoiceServer, op: int, data: dict[str, Any], code: int
) -> None:
    voice.expect(GUILD, CHANNEL, 1, "session", "token")
    client = await open_voice(http, voice)
    await client.receive()
    await client.send(0, identify(1))
    await client.receive()
    await client.send(op, data)
    assert await client.close_code() == code


async def test_before_identify_only_identify_resume_or_heartbeat(
    http: aiohttp.ClientSession, voice: VoiceServer
) -> None:
    client = await open_voice(http, voice)
    await client.receive()
    await client.send(5, {"speaking": 1, "delay": 0, "ssrc": 1})
    assert await client.close_code() == 4003
    garbled = await open_voice(http, voice)
    await garbled.receive()
    await garbled.ws.send_str("{not json")
    assert await garbled.close_code() == 4002
    old = await open_voice(http, voice, version=4)
    assert await old.close_code() == 4020


async def test_missed_heartbeats_end_the_session(http: aiohttp.ClientSession) -> None:
    server = VoiceServer(heartbeat_interval_ms=100)
    await server.start()
    try:
        server.expect(GUILD, CHANNEL, 1, "session", "token")
        client = await open_voice(http, server)
        await client.receive()
        await client.send(0, identify(1))
        await client.receive()
        assert await client.close_code() == 4009
        assert server.session(1) is None
    finally:
        await server.stop()


async def test_peers_hear_joins_speaking_and_disconnects(http: aiohttp.ClientSession, voice: VoiceServer) -> None:
    first = await join(http, voice, 1)
    second = await join(http, voice, 2)
    assert (await first.receive())["d"] == {"user_ids": ["2"]}
    assert [(message["op"], message["d"]) for message in second.pending] == [(11, {"user_ids": ["1"]})]
    await second.send(5, {"speaking": 1, "delay": 0, "ssrc": second.ssrc})
    relayed = await first.receive()
    assert relayed["op"] == 5 and relayed["d"] == {"user_id": "2", "ssrc": second.ssrc, "speaking": 1}
    assert relayed["seq"] == first.last_seq == 3
    await voice.wait_for_speaking(2, 1)
    assert await voice.disconnect(2)
    assert await second.close_code() == 4014
    assert (await first.receive())["d"] == {"user_id": "2"}
    assert not await voice.disconnect(2)


async def test_resume_redelivers_what_was_missed(http: aiohttp.ClientSession, voice: VoiceServer) -> None:
    first = await join(http, voice, 1)
    second = await join(http, voice, 2)
    await first.receive()  # CLIENTS_CONNECT for user 2: seq 2
    seen = first.last_seq
    assert await voice.crash(1)
    assert await first.close_code() == 4015
    await second.send(5, {"speaking": 1, "delay": 0, "ssrc": second.ssrc})  # happens while 1 is away
    await voice.wait_until(lambda: True if voice.session(1).seq == 3 else None)  # type: ignore[union-attr]

    back = await open_voice(http, voice)
    await back.receive()
    await back.send(7, {"server_id": str(GUILD), "session_id": "session", "token": "token", "seq_ack": seen})
    assert await back.receive() == {"op": 9, "d": None}
    missed = await back.receive()
    assert missed["seq"] == 3 and missed["d"]["user_id"] == "2"
    assert voice.session(1).resumes == 1  # type: ignore[union-attr]
    await back.send(3, {"t": 1, "seq_ack": back.last_seq})
    assert (await back.receive())["op"] == 6


@pytest.mark.parametrize(
    ("change", "code"),
    [({"token": "wrong"}, 4006), ({"session_id": "unknown"}, 4006), ({"seq_ack": 0}, 4006)],
)
async def test_resume_refused_when_session_token_or_buffer_do_not_match(
    http: aiohttp.ClientSession, voice: VoiceServer, change: dict[str, Any], code: int
) -> None:
    client = await join(http, voice, 1)
    await client.send(3, {"t": 1, "seq_ack": client.last_seq})  # acknowledges (and so drops) seq 1
    await client.receive()
    await voice.crash(1)
    back = await open_voice(http, voice)
    await back.receive()
    resume = {"server_id": str(GUILD), "session_id": "session", "token": "token", "seq_ack": 1, **change}
    await back.send(7, resume)
    assert await back.close_code() == code


# --- UDP -------------------------------------------------------------------------------------


async def udp_exchange(voice: VoiceServer, datagram: bytes, expect_reply: bool) -> bytes | None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(voice.udp_address)
        await loop.sock_sendall(sock, datagram)
        if not expect_reply:
            return None
        return await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout=5)


async def test_ip_discovery_answers_74_byte_requests_for_known_ssrcs(
    http: aiohttp.ClientSession, voice: VoiceServer
) -> None:
    client = await join(http, voice, 1)
    request = struct.pack(">HHI64sH", 1, 70, client.ssrc, b"", 0)
    reply = await udp_exchange(voice, request, expect_reply=True)
    assert reply is not None and len(reply) == 74 and reply[1] == 0x02
    assert struct.unpack_from(">HHI", reply) == (2, 70, client.ssrc)
    address = reply[8 : reply.index(0, 8)].decode("ascii")
    port = struct.unpack_from(">H", reply, 72)[0]
    assert (address, port) == voice.discoveries[0][1]

    await udp_exchange(voice, request[:70], expect_reply=False)  # the pre-2023 70-byte form
    await udp_exchange(voice, struct.pack(">HHI64sH", 1, 70, 999_999, b"", 0), expect_reply=False)
    await voice.capture.wait_for_rejected(2)
    assert [item.reason for item in voice.capture.rejected] == ["malformed", "unknown_ssrc"]


# --- transport decryption, against discord.py's own packet builder ---------------------------


def discord_py_packets(key: bytes, payloads: list[bytes], ssrc: int = 4321) -> list[bytes]:
    """Voice packets exactly as discord.py's VoiceClient forms them (its real methods, no socket)."""
    sender = object.__new__(discord.VoiceClient)  # skip __init__: no client, no connection
    sender._connection = type(  # type: ignore[assignment]
        "Connection",
        (),
        {
            "dave_session": None,
            "can_encrypt": False,
            "ssrc": ssrc,
            "secret_key": list(key),
            "mode": "aead_xchacha20_poly1305_rtpsize",
        },
    )()
    sender.sequence, sender.timestamp, sender._incr_nonce = 65_534, 4_294_966_000, 0
    packets = []
    for payload in payloads:
        packets.append(sender._get_voice_packet(payload))
        sender.checked_add("sequence", 1, 65535)  # what send_audio_packet does around each packet
        sender.checked_add("timestamp", 960, 4294967295)
    return packets


def test_discord_py_packets_decrypt_with_header_fields_and_nonce_counter() -> None:
    key = bytes(range(32))
    packets = discord_py_packets(key, [b"first", b"second", b"third"])
    opened = [open_xchacha20_rtpsize(packet, key) for packet in packets]
    assert [item.payload for item in opened] == [b"first", b"second", b"third"]
    assert [item.nonce for item in opened] == [0, 1, 2]
    header = opened[0].header
    assert (header.version, header.payload_type, header.ssrc, header.size) == (2, 0x78, 4321, 12)
    assert [item.header.sequence for item in opened] == [65534, 65535, 0]  # wraps like RTP
    assert [item.header.timestamp for item in opened] == [4_294_966_000, 4_294_966_960, 0]


@pytest.mark.parametrize("offset", [1, 5, 14, -1])  # header (AAD), header, ciphertext, nonce
def test_any_altered_byte_fails_authentication(offset: int) -> None:
    key = bytes(range(32))
    packet = bytearray(discord_py_packets(key, [b"opus bytes"])[0])
    packet[offset] ^= 0x01
    with pytest.raises(ForgedPacket):
        open_xchacha20_rtpsize(bytes(packet), key)


def test_wrong_key_and_short_packets_are_refused() -> None:
    packet = discord_py_packets(bytes(range(32)), [b"opus bytes"])[0]
    with pytest.raises(ForgedPacket):
        open_xchacha20_rtpsize(packet, bytes(32))
    with pytest.raises(MalformedPacket):
        open_xchacha20_rtpsize(packet[: 12 + 16 + 3], bytes(range(32)))


def test_csrcs_and_extension_preamble_stay_clear_and_the_extension_body_is_dropped() -> None:
    """rtpsize modes treat CSRCs and the 4-byte extension preamble as header, like SRTP (RFC 3711)."""
    key = bytes(range(32))
    header = bytes([0x80 | 0x10 | 0x01, 0x78]) + (7).to_bytes(2, "big") + (960).to_bytes(4, "big")
    header += (55).to_bytes(4, "big") + (99).to_bytes(4, "big") + bytes([0xBE, 0xDE, 0x00, 0x01])
    nonce = (3).to_bytes(4, "big")
    body = bytes([0x10, 0xAA, 0x00, 0x00]) + b"opus"  # one 32-bit word of extension, then the payload
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(body, header, nonce + bytes(20), key)
    opened = open_xchacha20_rtpsize(header + sealed + nonce, key)
    assert opened.payload == b"opus"
    assert (opened.header.csrc_count, opened.header.extension, opened.header.size) == (1, True, 20)
    assert parse_rtp_header(header + sealed + nonce).ssrc == 55


def test_ip_discovery_reply_layout() -> None:
    from loopback.voice_protocol import ip_discovery_response

    reply = ip_discovery_response(77, "127.0.0.1", 50_000)
    assert len(reply) == 74 and reply[:4] == bytes([0, 2, 0, 70])
    assert parse_ip_discovery_response(reply) == (77, "127.0.0.1", 50_000)
