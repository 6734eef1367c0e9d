"""The discord.py bot: wires the core to Discord and loads the cogs.

Everything the bot knows lives in the core (`Core`); this module only connects it to Discord:
intents, allowed mentions, the command tree with its single error handler, start-up work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts
from bot.adapters.board import DiscordBoard
from bot.adapters.delivery import DiscordAnnouncer, DiscordMessenger
from bot.adapters.endpoints import DiscordEndpoints
from bot.adapters.error_reply import reply_to_error
from bot.adapters.guilds import confine_to_guild, guilds_to_leave, leave_guild
from bot.adapters.pacing import pace_requests, sweep_buckets_seldom
from bot.adapters.room import DiscordRoom
from bot.adapters.server_check import ServerReport, startup_report
from bot.config import Config
from bot.core import Core, utc_now
from bot.errors import CoreStartError
from bot.media.recordings import RecordingCatalog
from bot.storage import Database
from bot.timers import Timers
from bot.web import WebServer

log = logging.getLogger(__name__)

# The extensions loaded at start-up, in order.
EXTENSIONS = (
    "cogs.care",
    "cogs.members",
    "cogs.privacy",
    "cogs.teachers",
    "cogs.coordinators",
    "cogs.events",
    "cogs.session_room",
)

# How long stopping waits for the messages already being sent.
SENDS_IN_FLIGHT_TIMEOUT = 10.0

# Client-wide: nobody is pinged unless a message opts in, and @everyone / @here / roles never are,
# whatever user-supplied text a message contains. Reminders and notices opt in to their users.
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=False)


def minimal_intents() -> discord.Intents:
    """The gateway intents the features need, and no more (see docs/operations.md for why each)."""
    intents = discord.Intents.none()
    intents.guilds = True  # channels, roles and threads of the community's server
    intents.members = True  # who holds the teacher/coordinator role; members in voice (privileged)
    intents.voice_states = True  # who joins and leaves session channels: attendance, muting
    intents.guild_scheduled_events = True  # members marking "Interested" on mirrored events
    intents.guild_messages = True  # the schedule board deleted -> post it again (never message content)
    return intents


class PracticeCirclesTree(app_commands.CommandTree["PracticeCirclesBot"]):
    """The command tree, with the one place where errors become replies."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Turn domain errors into kind ephemeral replies; log anything else with a reference id."""
        await reply_to_error(interaction, error)


class PracticeCirclesBot(commands.Bot):
    """The Practice Circles bot: slash commands, buttons and timers over the core."""

    def __init__(
        self,
        config: Config,
        db: Database,
        recordings: RecordingCatalog,
        *,
        endpoints: DiscordEndpoints | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        clock_speed: float = 1.0,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            guild_ready_timeout=guild_ready_timeout,
            command_prefix=commands.when_mentioned,
            intents=minimal_intents(),
            allowed_mentions=SAFE_MENTIONS,
            tree_cls=PracticeCirclesTree,
            help_command=None,
        )
        messenger = DiscordMessenger(self, db, config.channels.announcements)
        self.core = Core.assemble(
            config,
            db,
            recordings,
            messenger=messenger,
            announcer=DiscordAnnouncer(self, config.channels.coordinators, config.channels.teachers),
            room=DiscordRoom(self, db, config),
            clock=clock,
            # A clock other than the wall clock (the demo's, where minutes become seconds) drives the timers too.
            timers=Timers(clock=clock, speed=clock_speed) if clock is not utc_now else None,
            board=DiscordBoard(self),
            private_route=messenger,
        )
        # The start-up check of the server's setup, once the core runs (tests await it).
        self.setup_check: asyncio.Task[ServerReport | None] | None = None
        # Set when start-up of the core failed; `run_until_stopped` turns it into a non-zero exit.
        self.core_failure: Exception | None = None
        self.endpoints = endpoints or DiscordEndpoints()
        self.endpoints.apply(self)
        # A fan-out of reminders would otherwise run into Discord's global rate limit (see bot.adapters.pacing).
        pace_requests(self.http)
        sweep_buckets_seldom(self.http)
        # Nothing from another server reaches the cogs or the core (see bot.adapters.guilds).
        confine_to_guild(self, config.guild.id)
        self._leaving: set[int] = set()
        # The calendar feeds and the public page, when [web] is enabled; they name channels as Discord has them.
        self.web: WebServer | None = None
        if config.web_enabled is not None:
            self.web = WebServer(config, self.core.calendars, self._channel_name)

    def _channel_name(self, channel_id: int) -> str | None:
        """A channel's name from discord.py's cache (None before the guild has arrived)."""
        channel = self.get_channel(channel_id)
        return getattr(channel, "name", None)

    @property
    def guild_object(self) -> discord.Object:
        """The community's guild, as configured."""
        return discord.Object(id=self.core.config.guild.id)

    async def setup_hook(self) -> None:
        """Start the web server, load the cogs, register the commands with the guild, start the timers."""
        # First, so a port in use stops the start-up with a clear message before anything else happens.
        if self.web is not None:
            await self.web.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # Guild commands appear at once (global ones can take up to an hour to propagate).
        self.tree.copy_global_to(guild=self.guild_object)
        await self.tree.sync(guild=self.guild_object)
        # Timers may fire at once (work that fell due while the bot was down), and sending needs
        # the guild's channels in the cache, so the core starts when the first READY has arrived.
        self._core_start = asyncio.create_task(self._start_core_when_ready(), name="core-start")

    async def _start_core_when_ready(self) -> None:
        await self.wait_until_ready()
        try:
            report = await self.core.start()
        except Exception as error:
            # Connected but with no timers, the bot would look alive and do nothing: stop instead, so
            # `run` exits non-zero and the service manager (Restart=on-failure) starts it again.
            self.core_failure = error
            log.critical("the core could not start, so the bot stops: %s", error, exc_info=True)
            await self.close()
            return
        settle_the_heap()
        log.info("Practice Circles is ready: %s", report)
        self.dispatch("core_ready")
        # Beside the work, not before it: a slow answer from Discord here must not hold up sessions.
        self.setup_check = asyncio.create_task(self._check_setup(), name="setup-check")
        # After the core, so a slow answer from Discord delays nothing; the gate ignores those servers meanwhile.
        for guild in guilds_to_leave(self, self.core.config.guild.id):
            await self._leave(guild)

    async def _check_setup(self) -> ServerReport | None:
        """The same checks as `check --live`, from the running bot; coordinators hear once of what is wrong."""
        try:
            report = await startup_report(self)
            for finding in report.findings:
                log.warning("server setup: %s", finding.text)
            for note in report.notes:
                log.info("server setup: %s", note)
            if not report.findings:
                log.info("server setup: every channel, role and permission the bot needs is in place")
            await self.core.setup_report.report(report.findings, can_post=self._can_post_to_coordinators())
            return report
        except Exception:
            # A check is advice: it must never stop the bot from serving its sessions.
            log.exception("the server setup check could not run")
            return None

    def _can_post_to_coordinators(self) -> bool:
        channel = self.get_channel(self.core.config.channels.coordinators)
        if not isinstance(channel, discord.TextChannel):
            return False
        have = channel.permissions_for(channel.guild.me)
        return have.view_channel and have.send_messages

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Invited to another server while running: leave it (the gate already ignores what happens there)."""
        if guild in guilds_to_leave(self, self.core.config.guild.id):
            await self._leave(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Another server back after an outage (or arriving late at start-up): leave it too."""
        await self.on_guild_join(guild)

    async def _leave(self, guild: discord.Guild) -> None:
        """Leave a server once, however many events asked for it meanwhile."""
        if guild.id in self._leaving:
            return
        self._leaving.add(guild.id)
        try:
            await leave_guild(guild, self.core.config.guild.id)
        finally:
            self._leaving.discard(guild.id)

    async def close(self) -> None:
        """Stop the web server, timers and setup check; let messages in flight finish (briefly); disconnect."""
        if self.web is not None:
            await self.web.stop()
        self.core.stop()
        if self.setup_check is not None and not self.setup_check.done():
            self.setup_check.cancel()
        # A send cut off between Discord's answer and the ledger's mark would go out again after a
        # long outage; each in flight is one request, so waiting for them is short.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.core.dispatcher.idle(), SENDS_IN_FLIGHT_TIMEOUT)
        # What was frozen at ready can be collected again (tests run many bots in one process).
        gc.unfreeze()
        await super().close()


def settle_the_heap() -> None:
    """Once ready: collect start-up's garbage, then keep what is left out of every later collection.

    What lives for the whole run (modules, the member cache, the timers) is most of the heap; a full
    collection walked all of it, pausing the bot for 40-100 ms with a large guild. Frozen objects
    are still freed by reference counting; only cycles among them wait for `gc.unfreeze()`.
    """
    gc.collect()
    gc.freeze()


async def run_until_stopped(bot: PracticeCirclesBot, token: str) -> bool:
    """Connect to Discord and run until stopped; False if Discord refused the token.

    Raises CoreStartError when the core could not start (the bot has stopped by then).
    """
    async with bot:
        try:
            await bot.start(token)
        except discord.LoginFailure:
            return False
    if bot.core_failure is not None:
        raise CoreStartError(texts.CORE_START_FAILED.format(problem=bot.core_failure)) from bot.core_failure
    return True
