"""A member's settings: `/settings reminders` (when and how reminders come) and `/settings timezone`.

The reminder selects and the back-to-default button (`pc:reminders:offsets`, `pc:reminders:channel`,
`pc:reminders:default`) change one setting each and show the settings again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self
from zoneinfo import ZoneInfo

import discord
from discord import app_commands

from bot.adapters.buttons import CUSTOM_IDS, PersistentItem
from bot.adapters.formatting import name_choices
from bot.adapters.interactions import core_of
from bot.adapters.limits import CHOICES
from bot.config import Config
from bot.model import UNSET, MemberRow, ReminderChannel, Unset
from bot.schedule.timezones import suggest_timezones
from bot.texts import members as texts
from cogs.base import PracticeCog
from cogs.members.common import ChoiceNeeded, chosen_offsets, duration_words, offsets_words, route_words


def settings_embed(prefs: MemberRow | None, config: Config) -> discord.Embed:
    """What a member has chosen: reminder times, how they arrive, time zone."""
    offsets = chosen_offsets(prefs, config)
    if offsets:
        chosen = texts.SETTINGS_OFFSETS.format(offsets=offsets_words(offsets))
        if prefs is None or prefs.reminder_offsets is None:
            chosen += texts.SETTINGS_COMMUNITY_DEFAULT
    else:
        chosen = texts.SETTINGS_NO_REMINDERS
    zone = prefs.timezone if prefs is not None else None
    lines = [
        texts.SETTINGS_REMINDERS.format(offsets=chosen),
        texts.SETTINGS_ROUTE.format(route=route_words(prefs, config)),
        texts.SETTINGS_TIMEZONE.format(zone=texts.SETTINGS_NO_TIMEZONE if zone is None else zone),
        "",
        texts.SETTINGS_HOW,
    ]
    return discord.Embed(title=texts.SETTINGS_TITLE, description="\n".join(lines))


def settings_view(prefs: MemberRow | None, config: Config) -> discord.ui.View:
    """Selects for reminder times and channel, and a button back to the community default."""
    view = discord.ui.View(timeout=None)
    view.add_item(ReminderOffsetsSelect(config.reminders.allowed_offsets_minutes, chosen_offsets(prefs, config)))
    current: ReminderChannel | None = "dm" if prefs is None else prefs.reminder_channel
    if prefs is not None and prefs.dm_closed:
        current = None  # nothing preselected, so choosing "By direct message" again reaches the bot
    view.add_item(ReminderChannelSelect(current))
    view.add_item(ReminderDefaultButton())
    return view


async def save_reminders(
    interaction: discord.Interaction,
    *,
    offsets: Sequence[int] | None | Unset = UNSET,
    channel: ReminderChannel | Unset = UNSET,
) -> None:
    """Change one reminder setting (the other stays as it is), then show the settings again."""
    core = core_of(interaction)
    user_id = interaction.user.id
    prefs = await core.sessions.preferences(user_id)
    if isinstance(offsets, Unset):
        offsets = None if prefs is None else prefs.reminder_offsets
    retry_dms = channel == "dm"
    if isinstance(channel, Unset):
        channel = "dm" if prefs is None else prefs.reminder_channel
    await core.sessions.set_reminders(user_id, offsets, channel, retry_dms=retry_dms)
    prefs = await core.sessions.preferences(user_id)
    await interaction.response.edit_message(
        content=texts.SETTINGS_SAVED, embed=settings_embed(prefs, core.config), view=settings_view(prefs, core.config)
    )


class ReminderOffsetsSelect(
    PersistentItem[discord.ui.Select[discord.ui.View]], custom_id=CUSTOM_IDS["reminder-offsets"]
):
    """Choose any of the allowed reminder times, or none (`pc:reminders:offsets`)."""

    def __init__(self, allowed: Sequence[int] = (), chosen: Sequence[int] = ()) -> None:
        options = [
            discord.SelectOption(
                label=texts.OFFSET_OPTION.format(text=duration_words(offset)),
                value=str(offset),
                default=offset in chosen,
            )
            for offset in sorted(allowed, reverse=True)
        ]
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=self.custom_id_template.make(),
            placeholder=texts.OFFSETS_PLACEHOLDER,
            min_values=0,
            max_values=max(1, len(options)),
            options=options or [discord.SelectOption(label="-", value="0")],
        )
        super().__init__(select, row=0)

    @classmethod
    async def rebuild(cls, interaction: discord.Interaction, **numbers: int) -> Self:
        """The select for a used id, with today's allowed times (the chosen values arrive with the interaction)."""
        return cls(core_of(interaction).config.reminders.allowed_offsets_minutes)

    async def run(self, interaction: discord.Interaction) -> None:
        """Save the chosen reminder times (none chosen: no reminders)."""
        await save_reminders(interaction, offsets=[int(value) for value in self.item.values])


class ReminderChannelSelect(
    PersistentItem[discord.ui.Select[discord.ui.View]], custom_id=CUSTOM_IDS["reminder-channel"]
):
    """Choose direct messages or the session's reminder thread (`pc:reminders:channel`)."""

    def __init__(self, current: ReminderChannel | None = None) -> None:
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=self.custom_id_template.make(),
            placeholder=texts.CHANNEL_PLACEHOLDER,
            options=[
                discord.SelectOption(label=texts.CHANNEL_DM, value="dm", default=current == "dm"),
                discord.SelectOption(label=texts.CHANNEL_THREAD, value="thread", default=current == "thread"),
            ],
        )
        super().__init__(select, row=1)

    async def run(self, interaction: discord.Interaction) -> None:
        """Save how reminders should arrive."""
        channel: ReminderChannel = "thread" if self.item.values == ["thread"] else "dm"
        await save_reminders(interaction, channel=channel)


class ReminderDefaultButton(
    PersistentItem[discord.ui.Button[discord.ui.View]], custom_id=CUSTOM_IDS["reminder-default"]
):
    """Go back to the community's default reminder times (`pc:reminders:default`)."""

    def __init__(self) -> None:
        super().__init__(self.button(texts.USE_DEFAULT_BUTTON), row=2)

    async def run(self, interaction: discord.Interaction) -> None:
        """Forget the member's own reminder times."""
        await save_reminders(interaction, offsets=None)


async def timezone_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Time-zone names (IANA), found by place or city."""
    return name_choices(suggest_timezones(str(current), CHOICES))


class Settings(PracticeCog):
    """A member's reminders and time zone."""

    settings = app_commands.Group(name="settings", description="Your reminders and time zone", guild_only=True)
    persistent_items = (ReminderOffsetsSelect, ReminderChannelSelect, ReminderDefaultButton)

    @settings.command(name="reminders", description="When and how you get reminders")
    async def reminders(self, interaction: discord.Interaction) -> None:
        """Show the member's settings with selects to change the reminders."""
        config = self.bot.core.config
        prefs = await self.bot.core.sessions.preferences(interaction.user.id)
        await interaction.response.send_message(
            embed=settings_embed(prefs, config), view=settings_view(prefs, config), ephemeral=True
        )

    @settings.command(name="timezone", description="Your time zone, for notes when daylight saving moves a session")
    @app_commands.describe(name="A place such as Europe/Berlin (start typing a city)", clear="Forget your time zone")
    @app_commands.autocomplete(name=timezone_choices)
    async def timezone(self, interaction: discord.Interaction, name: str | None = None, clear: bool = False) -> None:
        """Set, clear or show the member's time zone."""
        if name is not None and clear:
            raise ChoiceNeeded(texts.TIMEZONE_BOTH)
        sessions = self.bot.core.sessions
        if clear or name is not None:
            await sessions.set_timezone(interaction.user.id, None if clear else name)
        prefs = await sessions.preferences(interaction.user.id)
        zone = None if prefs is None else prefs.timezone
        message = None
        if clear:
            message = texts.TIMEZONE_CLEARED
        elif name is not None and zone is not None:
            local = self.bot.core.clock().astimezone(ZoneInfo(zone))
            message = texts.TIMEZONE_SET.format(zone=zone, local=f"{local:%H:%M}")
        await interaction.response.send_message(
            message, embed=settings_embed(prefs, self.bot.core.config), ephemeral=True
        )
