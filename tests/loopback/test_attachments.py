"""Slash-command attachment options: people upload files, the bot reads them from their CDN links.

As Discord does, the upload belongs to no message: the interaction carries it in
`data.resolved.attachments` (id, filename, size, url, proxy_url, content_type, ephemeral), the option's
value is its id, and the bytes are served at a signed link that stops working after a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord
import pytest
from discord import app_commands

from loopback import ActionRefused, Sandbox, Upload, World, payloads
from loopback.people import ATTACHMENT_SIZE_LIMIT
from tests.conftest import UPLOAD_SCHEMA, response_schemas

TIMEOUT = 5.0


class MovableClock:
    """The world's wall clock, moved by the test (signed links expire by it)."""

    def __init__(self) -> None:
        self.now = datetime(2030, 3, 4, 18, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


CLOCK = MovableClock()


def wav_bytes(seconds: float = 0.2) -> bytes:
    """A real (silent) 48 kHz mono WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(b"\0\0" * int(48000 * seconds))
    return buffer.getvalue()


def mp3_bytes(tmp_path: Path) -> bytes:
    """A real MP3 file (a short tone, made with ffmpeg)."""
    target = tmp_path / "tone.mp3"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.3", str(target)],
        check=True,
        timeout=60,
    )
    return target.read_bytes()


def listening_bot(
    sandbox: Sandbox, gate: asyncio.Event | None = None
) -> tuple[discord.Client, app_commands.CommandTree[Any], list[Any]]:
    """A discord.py client with `/listen file:` that reads the upload (once `gate` is set) and answers with its hash."""
    guild = discord.Object(sandbox.world.guild.id)
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    seen: list[Any] = []

    @tree.command(name="listen", description="Listen to a recording", guild=guild)
    @app_commands.describe(file="The recording", note="A note")
    async def listen(interaction: discord.Interaction, file: discord.Attachment, note: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        seen.append(file)
        if gate is not None:
            await gate.wait()
        try:
            data = await file.read()
        except discord.HTTPException as error:
            await interaction.followup.send(f"could not fetch: {error.status}", ephemeral=True)
            return
        digest = hashlib.sha256(data).hexdigest()
        await interaction.followup.send(
            f"{file.filename} {file.content_type} {file.size} {len(data)} {digest}", ephemeral=True
        )

    return client, tree, seen


@pytest.mark.sandbox(world=World.default(now=CLOCK))
async def test_people_upload_mp3_and_wav_and_the_bot_reads_the_exact_bytes(
    sandbox: Sandbox, run: Any, tmp_path: Path
) -> None:
    client, tree, seen = listening_bot(sandbox)
    laila = sandbox.person("laila")
    files = [Upload("Affectionate Breathing.mp3", mp3_bytes(tmp_path)), Upload("soften.wav", wav_bytes())]
    async with run(client):
        await tree.sync(guild=discord.Object(sandbox.world.guild.id))
        [registered] = [c for c in sandbox.world.commands.values() if c.name == "listen"]
        assert registered.options[0]["type"] == 11, "the option was registered as ATTACHMENT"
        replies = []
        for upload in files:
            handle = await laila.run_command("listen", {"file": upload}, channel="coordinators")
            replies.append(((await handle.response()).content, handle.record.payload))
    expected = [("Affectionate_Breathing.mp3", "audio/mpeg"), ("soften.wav", "audio/x-wav")]
    for (content, payload), upload, (name, kind), attachment in zip(replies, files, expected, seen, strict=True):
        digest = hashlib.sha256(upload.data).hexdigest()
        assert content == f"{name} {kind} {upload.size} {upload.size} {digest}"
        option = payload["data"]["options"][0]
        resolved = payload["data"]["resolved"]["attachments"][option["value"]]
        assert option["type"] == 11 and resolved["id"] == option["value"] == str(attachment.id)
        assert resolved["filename"] == name and resolved["size"] == upload.size and resolved["ephemeral"] is True
        assert resolved["content_type"] == kind
        assert attachment.url == resolved["url"] and attachment.proxy_url == resolved["proxy_url"]
        assert {"ex", "is", "hm"} <= set(dict(p.split("=") for p in urlsplit(resolved["url"]).query.split("&") if p))
    assert len(sandbox.cdn_requests) == 2, "the bot fetched each file once, from its link"


@pytest.mark.sandbox(world=World.default(now=CLOCK))
async def test_the_link_is_signed_expires_after_a_day_and_the_proxy_serves_the_same_file(
    sandbox: Sandbox, run: Any
) -> None:
    client, tree, seen = listening_bot(sandbox)
    data = wav_bytes()
    async with run(client):
        await tree.sync(guild=discord.Object(sandbox.world.guild.id))
        handle = await sandbox.person("ana").run_command("listen", {"file": Upload("bell.wav", data)})
        await handle.response()
    [attachment] = seen
    async with aiohttp.ClientSession() as http:

        async def fetch(url: str) -> tuple[int, bytes]:
            async with http.get(url) as response:
                return response.status, await response.read()

        assert await fetch(attachment.url) == (200, data)
        assert await fetch(attachment.proxy_url) == (200, data)
        tampered = attachment.url.replace("hm=", "hm=0")
        assert (await fetch(tampered))[0] == 404
        unsigned = attachment.url.split("?")[0]
        assert (await fetch(unsigned))[0] == 404
        other_file = attachment.url.replace(str(attachment.id), str(attachment.id + 1))
        assert (await fetch(other_file))[0] == 404
        CLOCK.now += timedelta(hours=24, seconds=1)
        try:
            status, body = await fetch(attachment.url)
        finally:
            CLOCK.now -= timedelta(hours=24, seconds=1)
        assert (status, body) == (404, b"This content is no longer available.")


@pytest.mark.sandbox(world=World.default(now=CLOCK))
async def test_a_bot_that_fetches_the_file_a_day_late_gets_not_found(sandbox: Sandbox, run: Any) -> None:
    later = asyncio.Event()
    client, tree, _ = listening_bot(sandbox, gate=later)
    async with run(client):
        await tree.sync(guild=discord.Object(sandbox.world.guild.id))
        handle = await sandbox.person("ana").run_command("listen", {"file": Upload("late.wav", wav_bytes())})
        await handle.callback()  # the bot has it, and waits before fetching the file
        CLOCK.now += timedelta(days=1, minutes=1)
        try:
            later.set()
            reply = await handle.response()
        finally:
            CLOCK.now -= timedelta(days=1, minutes=1)
    assert reply.content == "could not fetch: 404"


async def test_what_the_client_would_not_send(sandbox: Sandbox) -> None:
    sandbox.world.overwrite_commands(
        sandbox.world.guild.id,
        [
            {
                "name": "listen",
                "type": 1,
                "description": "Listen",
                "options": [{"type": 11, "name": "file", "description": "The recording", "required": True}],
            }
        ],
    )
    sam = sandbox.person("sam")
    too_big = Upload("long.wav", b"\0" * (ATTACHMENT_SIZE_LIMIT + 1))
    with pytest.raises(ActionRefused, match="takes files up to"):
        await sam.run_command("listen", {"file": too_big})
    with pytest.raises(ValueError, match="expects a file"):
        await sam.run_command("listen", {"file": "https://example.org/calm.mp3"})
    with pytest.raises(ValueError, match="needs option 'file'"):
        await sam.run_command("listen")
    assert sandbox.world.interactions == {} and sandbox.world.uploads == {}


def test_the_upload_payload_is_checked_against_discords_schema() -> None:
    schemas = response_schemas()
    if schemas is None:
        pytest.skip("Discord's OpenAPI spec is not beside the repository")
    world = World.default()
    good = {"data": {"resolved": {"attachments": {"1": {"id": "1", "filename": "a.wav", "size": 3}}}}}
    problems = schemas.dispatch_problems("INTERACTION_CREATE", good)
    assert any("url" in problem for problem in problems), "a payload without its links is caught"
    attachment = world.upload("a.wav", b"abc")
    fine = {"data": {"resolved": {"attachments": {"1": payloads.upload(world, attachment, "http://127.0.0.1:1")}}}}
    assert schemas.dispatch_problems("INTERACTION_CREATE", fine) == []
    assert UPLOAD_SCHEMA.endswith("MessageAttachmentResponse")
