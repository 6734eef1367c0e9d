"""`/calendar` on the real bot, as simulated members on the loopback Discord: files, and private links
that are fetched over HTTP from the bot's own web server, replaced and revoked.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import icalendar

from bot.adapters.bot import PracticeCirclesBot
from bot.config import Config
from bot.model import Actor
from bot.schedule.rules import utc_to_pacific
from bot.texts import members as texts
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.people import Reply, SimulatedPerson
from tests.web.support import free_port

PUBLIC_URL = "https://calendar.community.test/pc"
LINK = re.compile(r"`(https://calendar\.community\.test/pc/calendar/[A-Za-z0-9_-]{43}\.ics)`")
SUPPRESS_EMBEDS = 1 << 2


async def reply_to(person: SimulatedPerson, subcommand: str, options: dict[str, Any] | None = None) -> Reply:
    return await (await person.run_command("calendar", options, subcommand=subcommand)).response()


def web_config(sandbox: Sandbox, folder: Path, port: int) -> Config:
    web = {"port": port, "public_url": PUBLIC_URL, "join_url": "https://discord.gg/practice"}
    return config_for_world(sandbox.world, folder, sections={"web": web})


async def add_session(bot: PracticeCirclesBot, sandbox: Sandbox, hours: float, title: str) -> int:
    world = sandbox.world
    laila = Actor.of(world.find_member("laila").id, [world.find_role("Coordinator").id])
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)
    row = await bot.core.sessions.add_session(
        laila, start=utc_to_pacific(start).strftime("%Y-%m-%d %H:%M"), duration_minutes=30, title=title
    )
    return row.id


async def fetch(port: int, link: str) -> tuple[int, bytes]:
    """Fetch a link the bot gave, from the bot's web server on this machine."""
    address = f"http://127.0.0.1:{port}" + link.removeprefix(PUBLIC_URL)
    async with aiohttp.ClientSession() as client, client.get(address) as answer:
        return answer.status, await answer.read()


def uids(body: bytes) -> set[str]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]) for event in calendar.walk("VEVENT")}


async def test_subscribe_gives_a_private_link_that_follows_the_members_sessions(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    port = free_port()
    async with practice_bot(sandbox, web_config(sandbox, tmp_path / "bot", port)) as bot:
        await sandbox.wait_for_commands("calendar", "signup")
        sam = sandbox.person("sam")
        mine = await add_session(bot, sandbox, 5, "Morning sit")
        theirs = await add_session(bot, sandbox, 7, "Evening sit")
        await (await sam.run_command("signup", {"session": mine})).response()

        reply = await reply_to(sam, "subscribe")
        assert reply.ephemeral and reply.message is not None
        assert reply.message.flags & SUPPRESS_EMBEDS, "Discord must not fetch the secret link for a preview"
        match = LINK.search(reply.content)
        assert match is not None, reply.content
        first = match.group(1)
        assert "keep it to yourself" in reply.content
        status, body = await fetch(port, first)
        assert status == 200 and uids(body) == {f"session-{mine}@practice-circles"}

        # Signing up for another session puts it in the same feed at the next fetch.
        await (await sam.run_command("signup", {"session": theirs})).response()
        _, body = await fetch(port, first)
        assert uids(body) == {f"session-{mine}@practice-circles", f"session-{theirs}@practice-circles"}

        again = await reply_to(sam, "subscribe")
        assert texts.CALENDAR_SUBSCRIBED_REPLACED in again.content
        second = LINK.search(again.content)
        assert second is not None and second.group(1) != first
        assert (await fetch(port, first))[0] == 404
        assert (await fetch(port, second.group(1)))[0] == 200

        revoked = await reply_to(sam, "revoke")
        assert revoked.ephemeral and revoked.content == texts.CALENDAR_REVOKED
        assert (await fetch(port, second.group(1)))[0] == 404
        assert (await reply_to(sam, "revoke")).content == texts.CALENDAR_NOTHING_TO_REVOKE

        # Only hashes were ever stored, and none is left.
        with sqlite3.connect(bot.core.config.storage.database) as connection:
            assert connection.execute("SELECT count(*) FROM calendar_feeds").fetchone() == (0,)


async def test_without_the_web_server_subscribe_says_so_and_stores_nothing(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("calendar")
    reply = await reply_to(sandbox.person("sam"), "subscribe")
    assert reply.ephemeral and reply.content == texts.CALENDAR_FEEDS_OFF
    with sqlite3.connect(practice.core.config.storage.database) as connection:
        assert connection.execute("SELECT count(*) FROM calendar_feeds").fetchone() == (0,)
