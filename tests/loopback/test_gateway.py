"""The sandbox gateway: the wire protocol seen raw, and discord.py recovering from drops.

Raw tests speak the protocol through aiohttp (zlib-stream frames, HELLO, IDENTIFY, close codes,
intents). The rest run the real discord.py client and drop, invalidate or reconnect its session.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from loopback import Sandbox, World
from loopback.gateway import Intent
from loopback.world import ApplicationFlag

TIMEOUT = 5.0
SYNC_FLUSH = b"\x00\x00\xff\xff"


class RawGateway:
    """A minimal gateway client: decompresses zlib-stream, keeps every frame it saw."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._inflate = zlib.decompressobj()
        self.frames: list[bytes] = []
        self.dispatches: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        """The next payload (a close raises with the close code)."""
        message = await asyncio.wait_for(self.ws.receive(), TIMEOUT)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            raise ConnectionResetError(self.ws.close_code)
        assert message.type is aiohttp.WSMsgType.BINARY, message
        self.frames.append(message.data)
        payload: dict[str, Any] = json.loads(self._inflate.decompress(message.data))
        if payload["op"] == 0:
            self.dispatches.append(payload)
        return payload

    async def send(self, op: int, data: Any) -> None:
        """Send one payload."""
        await self.ws.send_str(json.dumps({"op": op, "d": data}))

    async def identify(self, token: str, intents: int) -> dict[str, Any]:
        """IDENTIFY and return READY."""
        await self.send(
            2,
            {
                "token": token,
                "intents": intents,
                "properties": {"os": "linux", "browser": "t", "device": "t"},
            },
        )
        return await self.until_dispatch("READY")

    async def until_dispatch(self, event: str) -> dict[str, Any]:
        """Read until a dispatch of `event`."""
        while True:
            payload = await self.receive()
            if payload["op"] == 0 and payload["t"] == event:
                return payload

    async def settle(self) -> list[str]:
        """Heartbeat and read up to the ACK: every dispatch queued before it has then arrived."""
        seen = len(self.dispatches)
        await self.send(1, None)
        while (await self.receive())["op"] != 11:
            pass
        return [d["t"] for d in self.dispatches[seen:]]

    async def close_code(self) -> int | None:
        """Wait for the server to close the socket; its close code."""
        with pytest.raises(ConnectionResetError):
            while True:
                await self.receive()
        return self.ws.close_code


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[Any]:
    """Open raw gateway connections: `await raw()`."""
    async with aiohttp.ClientSession() as http:
        opened: list[aiohttp.ClientWebSocketResponse] = []

        async def connect() -> RawGateway:
            ws = await http.ws_connect(f"{sandbox.gateway_url}?v=10&encoding=json&compress=zlib-stream")
            opened.append(ws)
            gateway = RawGateway(ws)
            hello = await gateway.receive()
            assert hello["op"] == 10
            return gateway

        yield connect
        for ws in opened:
            await ws.close()


def intents(*, message_content: bool = True) -> discord.Intents:
    """Default intents plus Server Members (and Message Content unless told otherwise)."""
    chosen = discord.Intents.default()
    chosen.members = True
    chosen.message_content = message_content
    return chosen


DEFAULT = int(discord.Intents.default().value)


# ---- the wire ----------------------------------------------------------------------------------


async def test_zlib_stream_frames_hello_heartbeat_and_ready(sandbox: Sandbox, raw: Any) -> None:
    gateway = await raw()
    await gateway.send(1, None)
    assert (await gateway.receive())["op"] == 11
    ready = await gateway.identify(sandbox.world.bot_token, DEFAULT)
    guild_create = await gateway.until_dispatch("GUILD_CREATE")
    assert all(frame.endswith(SYNC_FLUSH) for frame in gateway.frames)
    assert ready["s"] == 1 and guild_create["s"] == 2
    data = ready["d"]
    assert data["resume_gateway_url"] == sandbox.gateway_url
    assert data["user"]["id"] == str(sandbox.world.bot_user.id)
    assert data["application"]["id"] == str(sandbox.world.application.id)
    assert data["guilds"] == [{"id": str(sandbox.world.guild.id), "unavailable": True}]
    guild = guild_create["d"]
    assert guild["member_count"] == len(sandbox.world.guild.members)
    # Without GUILD_PRESENCES the member list holds the bot (and people in voice) only.
    assert [m["user"]["id"] for m in guild["members"]] == [str(sandbox.world.bot_user.id)]
    types = {c["type"] for c in guild["channels"]}
    assert types == {0, 2, 4, 13}


async def test_close_codes_for_bad_identify(sandbox: Sandbox, raw: Any) -> None:
    gateway = await raw()
    await gateway.send(2, {"token": "not-the-token", "intents": DEFAULT, "properties": {}})
    assert await gateway.close_code() == 4004
    gateway = await raw()
    await gateway.send(8, {"guild_id": str(sandbox.world.guild.id), "query": "", "limit": 0})
    assert await gateway.close_code() == 4003
    gateway = await raw()
    await gateway.send(2, {"token": sandbox.world.bot_token, "intents": 1 << 40, "properties": {}})
    assert await gateway.close_code() == 4013


async def test_resume_of_an_unknown_session_is_invalid(sandbox: Sandbox, raw: Any) -> None:
    gateway = await raw()
    await gateway.send(6, {"token": sandbox.world.bot_token, "session_id": "nope", "seq": 3})
    invalid = await gateway.receive()
    assert invalid["op"] == 9 and invalid["d"] is False


async def test_intents_decide_what_arrives_and_message_content_is_gated(sandbox: Sandbox, raw: Any) -> None:
    token = sandbox.world.bot_token
    guilds_only = await raw()
    await guilds_only.identify(token, int(Intent.GUILDS))
    no_content = await raw()
    await no_content.identify(token, int(Intent.GUILDS | Intent.GUILD_MESSAGES))
    with_content = await raw()
    await with_content.identify(token, int(Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT))
    for gateway in (guilds_only, no_content, with_content):
        await gateway.settle()
    sam = sandbox.person("sam")
    await sam.send_message("general", "hello circle")
    await sam.send_message("general", f"<@{sandbox.world.bot_user.id}> hello bot")
    await sam.join_voice("Quiet Sitting")
    assert await guilds_only.settle() == []
    assert await no_content.settle() == ["MESSAGE_CREATE", "MESSAGE_CREATE"]
    assert [d["d"]["content"] for d in no_content.dispatches[-2:]] == [
        "",
        f"<@{sandbox.world.bot_user.id}> hello bot",
    ]
    assert await with_content.settle() == ["MESSAGE_CREATE", "MESSAGE_CREATE"]
    assert with_content.dispatches[-2]["d"]["content"] == "hello circle"


async def test_every_session_numbers_its_own_dispatches(sandbox: Sandbox, raw: Any) -> None:
    gateway = await raw()
    await gateway.identify(sandbox.world.bot_token, DEFAULT)
    await sandbox.person("ana").join_voice("Practice Circle")
    await sandbox.person("ana").leave_voice()
    await gateway.settle()
    assert [d["s"] for d in gateway.dispatches] == list(range(1, len(gateway.dispatches) + 1))
    assert [d["t"] for d in gateway.dispatches] == [
        "READY",
        "GUILD_CREATE",
        "VOICE_STATE_UPDATE",
        "VOICE_STATE_UPDATE",
    ]
    assert gateway.dispatches[-1]["d"]["channel_id"] is None


@pytest.mark.sandbox(world=World.default(application_flags=ApplicationFlag(0)))
async def test_privileged_intents_not_enabled_for_the_app_close_4014(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with run(client):
            pass


# ---- discord.py recovering --------------------------------------------------------------------------


class Watcher(discord.Client):
    """A client that records what it receives, with awaitable history."""

    def __init__(self) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.messages: list[discord.Message] = []
        self.resumed = 0
        self.ready_count = 0
        self.changed = asyncio.Event()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before every re-IDENTIFY (Discord's identify limit); not needed here."""

    async def on_ready(self) -> None:
        self.ready_count += 1
        self._poke()

    async def on_resumed(self) -> None:
        self.resumed += 1
        self._poke()

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)
        self._poke()

    def _poke(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def until(self, condition: Any, what: str) -> None:
        """Wait (on client events) until `condition()` holds; fail naming `what` after TIMEOUT."""
        try:
            async with asyncio.timeout(TIMEOUT):
                while not condition():
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"the client never saw {what}") from None


async def test_resumable_drop_replays_what_was_missed(sandbox: Sandbox, run: Any) -> None:
    client = Watcher()
    async with run(client):
        async with sandbox.gateway_outage(resumable=True):
            await sandbox.person("sam").send_message("general", "hello while you were away")
        await client.until(lambda: client.resumed and client.messages, "resume and the missed message")
        assert [m.content for m in client.messages] == ["hello while you were away"]
        assert sandbox.gateway.last_resume_replayed == 1
        assert sandbox.signals.counts["identify"] == 1
        assert sandbox.signals.counts["resumed"] == 1


async def test_non_resumable_drop_makes_the_client_identify_again(sandbox: Sandbox, run: Any) -> None:
    client = Watcher()
    async with run(client):
        await sandbox.drop_gateway(resumable=False)
        await sandbox.wait_for_ready(2)
        await client.until(lambda: client.ready_count >= 2, "a second on_ready")
        assert sandbox.signals.counts["invalid_session"] == 1
        await sandbox.person("priya").send_message("general", "back again")
        await client.until(lambda: client.messages, "the message after re-identifying")
        assert client.messages[0].content == "back again"


async def test_reconnect_request_and_invalid_session(sandbox: Sandbox, run: Any) -> None:
    client = Watcher()
    async with run(client):
        sandbox.request_reconnect()
        await sandbox.wait_for_resume(1)
        await sandbox.invalidate_session()
        await sandbox.wait_for_identify(2)
        await client.until(lambda: client.ready_count >= 2, "on_ready after the invalid session")


# ---- voice (op 4) -----------------------------------------------------------------------------


async def test_op4_join_sends_voice_state_and_server_updates_and_leave_clears_them(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        channel = client.get_channel(sandbox.world.find_channel("Quiet Sitting").id)
        assert isinstance(channel, discord.VoiceChannel)
        voice: discord.VoiceClient = await channel.connect(timeout=TIMEOUT)
        await sandbox.wait_for_dispatch("VOICE_SERVER_UPDATE")
        bot_id = sandbox.world.bot_user.id
        state = sandbox.world.voice_state(bot_id)
        assert state is not None and state.channel_id == channel.id
        assert state.session_id in sandbox.gateway.sessions
        assert voice.is_connected()
        assert sandbox.voice is not None and sandbox.voice.session(bot_id) is not None
        await voice.disconnect()
        await sandbox.wait_until(lambda: sandbox.world.voice_state(bot_id) is None, what="the bot to leave voice")


async def test_member_events_need_the_members_intent(sandbox: Sandbox, raw: Any) -> None:
    token = sandbox.world.bot_token
    without = await raw()
    await without.identify(token, DEFAULT)
    with_members = await raw()
    await with_members.identify(token, DEFAULT | int(Intent.GUILD_MEMBERS))
    for gateway in (without, with_members):
        await gateway.settle()
    newcomer = await sandbox.join_guild("noor", "Noor")
    await newcomer.leave_guild()
    assert await without.settle() == []
    assert await with_members.settle() == ["GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"]
    assert with_members.dispatches[-2]["d"]["user"]["username"] == "noor"


async def test_discord_py_sees_people_join_and_leave(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        joining = client.wait_for("member_join", timeout=TIMEOUT)
        newcomer = await sandbox.join_guild("noor", "Noor", roles=["Teacher"])
        joined = await joining
        assert joined.id == newcomer.id and [r.name for r in joined.roles[1:]] == ["Teacher"]
        leaving = client.wait_for("member_remove", timeout=TIMEOUT)
        await newcomer.leave_guild()
        left = await leaving
        assert left.id == newcomer.id
        assert left.guild.get_member(newcomer.id) is None


async def test_bot_on_a_stage_speaks_and_requests_to_speak(sandbox: Sandbox, run: Any) -> None:
    client = discord.Client(intents=intents(), guild_ready_timeout=0.05)
    async with run(client):
        stage = client.get_channel(sandbox.world.find_channel("Practice Circle").id)
        assert isinstance(stage, discord.StageChannel)
        voice: discord.VoiceClient = await stage.connect(timeout=TIMEOUT)
        bot_id = sandbox.world.bot_user.id
        state = sandbox.world.voice_state(bot_id)
        assert state is not None and state.suppress
        await stage.guild.me.request_to_speak()
        await sandbox.wait_until(
            lambda: (s := sandbox.world.voice_state(bot_id)) and s.request_to_speak_timestamp,
            what="a raised hand",
        )
        await stage.guild.me.edit(suppress=False)
        await sandbox.wait_until(
            lambda: (s := sandbox.world.voice_state(bot_id)) and not s.suppress, what="the bot on stage"
        )
        state = sandbox.world.voice_state(bot_id)
        assert state is not None and state.request_to_speak_timestamp is None
        await voice.disconnect()
