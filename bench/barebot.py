"""The floor: a bare discord.py bot that answers the bench's interactions with a fixed reply.

It runs the same discord.py with the same intents and guild as the real bot (so the gateway, the
member cache and discord.py's own parsing cost the same), registers commands of the same names
and options, and answers each with a fixed ephemeral text: whatever the real bot takes beyond this
is the bot's own work. /schedule's fixed reply carries one Sign up button (`pc:signup:1`), so the
button can be pressed the same way; pressing it gets a fixed reply too.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import discord
from benchlib import READY_TIMEOUT
from discord import app_commands

from bot.adapters.bot import minimal_intents
from bot.adapters.endpoints import DiscordEndpoints, restore_production_endpoints

FIXED_REPLY = "Thank you."
SIGN_UP_TEMPLATE = r"pc:signup:(?P<occurrence>[0-9]+)"
SUCCESS = discord.ButtonStyle.success


class BareSignUp(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=SIGN_UP_TEMPLATE):
    """A Sign up button that only says thank you."""

    def __init__(self, occurrence_id: int) -> None:
        super().__init__(discord.ui.Button(label="Sign up", style=SUCCESS, custom_id=f"pc:signup:{occurrence_id}"))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BareSignUp:
        """Rebuilt from the pressed id, as the real bot's button is."""
        return cls(int(match["occurrence"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """The fixed reply."""
        await interaction.response.send_message(FIXED_REPLY, ephemeral=True)


class BareBot(discord.Client):
    """Commands named as the real bot's, each answered at once with a fixed ephemeral reply."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=minimal_intents(), guild_ready_timeout=0.05)
        self.guild_object = discord.Object(id=guild_id)
        self.tree = app_commands.CommandTree(self)
        teach = app_commands.Group(name="teach", description="Teaching")

        @app_commands.command(name="schedule", description="Upcoming sessions")
        async def schedule(interaction: discord.Interaction, days: int = 7) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(BareSignUp(1))
            await interaction.response.send_message(FIXED_REPLY, view=view, ephemeral=True)

        @app_commands.command(name="signup", description="Sign up")
        async def signup(interaction: discord.Interaction, session: int) -> None:
            await interaction.response.send_message(FIXED_REPLY, ephemeral=True)

        @teach.command(name="claim", description="Claim")
        async def claim(interaction: discord.Interaction, session: int) -> None:
            await interaction.response.send_message(FIXED_REPLY, ephemeral=True)

        for command in (schedule, signup, teach):
            self.tree.add_command(command, guild=self.guild_object)

    async def setup_hook(self) -> None:
        """Register the button pattern and the guild's commands."""
        self.add_dynamic_items(BareSignUp)
        await self.tree.sync(guild=self.guild_object)


@contextlib.asynccontextmanager
async def running_bare_bot(
    api_base_url: str, gateway_url: str, token: str, guild_id: int
) -> AsyncIterator[tuple[BareBot, float]]:
    """Run the bare bot against a loopback Discord; yields it, and the seconds until it was ready."""
    began = time.perf_counter()
    bot = BareBot(guild_id)
    DiscordEndpoints(api_base_url=api_base_url, gateway_url=gateway_url).apply(bot)
    runner = asyncio.create_task(bot.start(token), name="bare-bot")
    try:
        ready = asyncio.ensure_future(bot.wait_until_ready())
        done, _ = await asyncio.wait({runner, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            if runner in done:
                runner.result()
            raise TimeoutError(f"the bare bot was not ready within {READY_TIMEOUT} s")
        yield bot, time.perf_counter() - began
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(runner, timeout=10)
        restore_production_endpoints()
