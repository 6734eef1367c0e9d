"""Is the Discord server set up for the bot? The checks behind `check --live` and the start-up report.

Both read the same things and run the same checks (`check_server`): each configured channel exists
and is of the right kind; the roles exist; the bot's effective permissions in each place cover what
the code does there (`bot.adapters.invite.NEEDS`), including Discord's rule that a channel overwrite
may only grant what the bot holds in the server or the category; members with only the Coordinator
or Teacher role can see their channel and are offered their commands, as Server Settings >
Integrations and each command's default permissions decide. Every finding is one line in plain
words with the click path that fixes it.

`check --live` logs in over REST with the token and reads the server (`live_report`); the running
bot reads its cache and the command settings once it is ready (`startup_report`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord import app_commands

from bot.adapters.endpoints import DiscordEndpoints
from bot.adapters.invite import NEEDS, ROLE_COMMANDS, Need, Place
from bot.config import Config
from bot.model import SetupFinding
from bot.texts import setup as texts

if TYPE_CHECKING:
    from bot.adapters.bot import PracticeCirclesBot

log = logging.getLogger(__name__)

# Application command permission types, and Discord's constant for "every channel" (guild id - 1).
_ROLE, _USER, _CHANNEL = 1, 2, 3

# A permission Discord takes away whenever another is missing (discord.py applies the same rules):
# report the one that is missing, not everything that follows from it.
_IMPLIED_BY = {
    "embed_links": "send_messages",
    "attach_files": "send_messages",
    "speak": "connect",
    "mute_members": "connect",
    "move_members": "connect",
    "manage_channels": "connect",
    "manage_roles": "connect",
    "stream": "connect",
}

GuildChannel = discord.abc.GuildChannel
CommandSettings = Mapping[int, list[dict[str, Any]]]


@dataclass
class ServerView:
    """What the checks read from Discord, however it was fetched."""

    guild: discord.Guild
    me: discord.Member
    channels: Mapping[int, GuildChannel]
    application_name: str
    members_intent: bool | None = None
    # None: not read (the bot has not registered them yet, or Discord did not answer).
    commands: list[app_commands.AppCommand] | None = None
    command_settings: CommandSettings | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ServerReport:
    """The findings (each a thing to fix) and notes on what could not be checked."""

    guild_name: str
    findings: list[SetupFinding]
    notes: list[str] = field(default_factory=list)
    checked: bool = True


# --- wording ------------------------------------------------------------------------------------


def _plain(value: Any) -> str:
    if isinstance(value, list):
        return _and([_plain(item) for item in value])
    if isinstance(value, discord.abc.GuildChannel):
        return f"#{value.name}"
    if isinstance(value, discord.Role):
        return value.name
    return str(value)


def _linked(value: Any) -> str:
    if isinstance(value, list):
        return _and([_linked(item) for item in value])
    if isinstance(value, discord.abc.GuildChannel | discord.Role):
        return value.mention
    return str(value)


def _finding(finding_key: str, template: str, /, **fields: Any) -> SetupFinding:
    """One finding, worded for the command line and for Discord from the same template."""
    return SetupFinding(
        key=finding_key,
        text=template.format(**{name: _plain(value) for name, value in fields.items()}),
        discord_text=template.format(**{name: _linked(value) for name, value in fields.items()}),
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _bot_role(me: discord.Member) -> discord.Role | str:
    """The role Discord made for the bot when it was invited (its name is what Server Settings shows)."""
    for role in me.roles:
        if role.tags is not None and role.tags.bot_id == me.id:
            return role
    return me.display_name


# --- the checks -------------------------------------------------------------------------------------


def check_server(view: ServerView, config: Config) -> ServerReport:
    """Every check, in the order a volunteer would fix things: channels and roles, then permissions."""
    findings: list[SetupFinding] = []
    if view.members_intent is False:
        findings.append(_finding("intent:members", texts.MEMBERS_INTENT_OFF, app=view.application_name))
    places = _configured_channels(view, config, findings)
    roles = _configured_roles(view, config, findings)
    bot = _bot_role(view.me)
    lacking: dict[Need, list[GuildChannel]] = {}
    for place, channel in places:
        findings += _bot_in_channel(view, config, place, channel, bot, lacking)
    # Missing server-wide: one switch fixes every channel, so one finding names them all.
    for need, channels in lacking.items():
        findings.append(
            _finding(
                f"bot:{need.permission}:" + ",".join(str(channel.id) for channel in channels),
                texts.BOT_LACKS,
                does=need.does,
                channel=channels,
                permission=texts.CHANNEL_PERMISSION_NAMES[need.permission],
                server_permission=texts.SERVER_PERMISSION_NAMES[need.permission],
                bot=bot,
            )
        )
    for need in NEEDS:
        if need.place is Place.SERVER and not getattr(view.me.guild_permissions, need.permission):
            permission = texts.SERVER_PERMISSION_NAMES[need.permission]
            findings.append(
                _finding(
                    f"bot:server:{need.permission}",
                    texts.BOT_LACKS_SERVER_WIDE,
                    does=need.does,
                    permission=permission,
                    bot=bot,
                )
            )
    by_key = {place.value: channel for place, channel in places if place is not Place.SESSIONS}
    for staff in ROLE_COMMANDS:
        role, own_channel = roles.get(staff.role), by_key.get(staff.channel)
        if role is not None and own_channel is not None:
            findings += _staff_in_channel(view, role, own_channel, staff.commands)
    teacher = roles.get("teacher")
    if teacher is not None:
        for place, channel in places:
            if place is Place.SESSIONS:
                findings += _teachers_can_join(teacher, channel)
    return ServerReport(view.guild.name, findings, list(view.notes))


def _configured_channels(
    view: ServerView, config: Config, findings: list[SetupFinding]
) -> list[tuple[Place, GuildChannel]]:
    """Each configured channel that exists and is of the right kind; the others become findings."""
    wanted: list[tuple[str, Place, int]] = [
        ("announcements", Place.ANNOUNCEMENTS, config.channels.announcements),
        ("teachers", Place.TEACHERS, config.channels.teachers),
        ("coordinators", Place.COORDINATORS, config.channels.coordinators),
        *(("sessions", Place.SESSIONS, channel_id) for channel_id in config.channels.sessions),
    ]
    found: list[tuple[Place, GuildChannel]] = []
    for key, place, channel_id in wanted:
        channel = view.channels.get(channel_id)
        if channel is None:
            findings.append(
                _finding(
                    f"channel:{key}:{channel_id}:missing",
                    texts.CHANNEL_MISSING,
                    key=key,
                    id=channel_id,
                    guild=view.guild.name,
                )
            )
            continue
        right_kind = (
            isinstance(channel, discord.VoiceChannel | discord.StageChannel)
            if place is Place.SESSIONS
            else isinstance(channel, discord.TextChannel) and not channel.is_news()
        )
        if not right_kind:
            wanted_words, choose = texts.CHANNEL_WANTED[key]
            findings.append(
                _finding(
                    f"channel:{key}:{channel_id}:kind",
                    texts.CHANNEL_WRONG_KIND,
                    key=key,
                    id=channel_id,
                    channel=channel,
                    kind=texts.CHANNEL_KINDS.get(channel.type.name, f"a {channel.type.name} channel"),
                    wanted=wanted_words,
                    choose=choose,
                )
            )
            continue
        found.append((place, channel))
    return found


def _configured_roles(view: ServerView, config: Config, findings: list[SetupFinding]) -> dict[str, discord.Role]:
    """The Coordinator and Teacher roles that exist; the others become findings."""
    found: dict[str, discord.Role] = {}
    for key, role_id in (("coordinator", config.roles.coordinator), ("teacher", config.roles.teacher)):
        label = texts.ROLE_LABELS[key]
        role = view.guild.get_role(role_id)
        if role is None:
            findings.append(
                _finding(
                    f"role:{key}:{role_id}:missing",
                    texts.ROLE_MISSING,
                    key=key,
                    id=role_id,
                    guild=view.guild.name,
                    label=label,
                )
            )
        elif role.is_default():
            findings.append(_finding(f"role:{key}:everyone", texts.ROLE_IS_EVERYONE, key=key, label=label))
        else:
            found[key] = role
    return found


def _needs_for(place: Place, channel: GuildChannel, config: Config) -> list[Need]:
    places = {place} | ({Place.STAGES} if isinstance(channel, discord.StageChannel) else set())
    return [
        need for need in NEEDS if need.place in places and (config.sessions.lock_chat or not need.only_with_chat_lock)
    ]


def _bot_in_channel(
    view: ServerView,
    config: Config,
    place: Place,
    channel: GuildChannel,
    bot: discord.Role | str,
    lacking: dict[Need, list[GuildChannel]],
) -> list[SetupFinding]:
    """What the bot cannot do in one channel: a finding per permission taken away there (not its
    consequences); permissions it lacks server-wide are gathered in `lacking` instead."""
    needs = _needs_for(place, channel, config)
    have = channel.permissions_for(view.me)
    if not have.view_channel:
        return [
            _finding(
                f"bot:{channel.id}:view_channel",
                texts.BOT_CANNOT_SEE,
                channel=channel,
                key=f"channels.{place.value}",
                does=needs[0].does,
                bot=bot,
            )
        ]
    missing = [need for need in needs if not getattr(have, need.permission)]
    missing_names = {need.permission for need in missing}
    findings: list[SetupFinding] = []
    for need in missing:
        if _IMPLIED_BY.get(need.permission) in missing_names:
            continue
        if not getattr(view.me.guild_permissions, need.permission):
            lacking.setdefault(need, []).append(channel)
            continue
        findings.append(
            _finding(
                f"bot:{channel.id}:{need.permission}",
                texts.BOT_TAKEN_AWAY,
                does=need.does,
                channel=channel,
                permission=texts.CHANNEL_PERMISSION_NAMES[need.permission],
                bot=bot,
            )
        )
    if place is Place.SESSIONS and config.sessions.lock_chat and have.manage_roles and not _can_grant(view, channel):
        findings.append(_finding(f"bot:{channel.id}:grant", texts.BOT_CANNOT_GRANT, channel=channel, bot=bot))
    return findings


def _can_grant(view: ServerView, channel: GuildChannel) -> bool:
    """Whether Discord lets the bot set Send Messages in this channel's overwrites (the chat lock does).

    Only permissions the bot has in the server, or in the channel's category, may be granted or
    taken away there, unless the bot holds Manage Permissions by an overwrite in the channel itself.
    """
    me = view.me
    own = [me.id, *(role.id for role in me.roles)]
    for target, overwrite in channel.overwrites.items():
        if target.id in own and overwrite.manage_roles is True:
            return True
    category = view.channels.get(channel.category_id) if channel.category_id else None
    have = category.permissions_for(me) if category is not None else me.guild_permissions
    return have.send_messages


def _staff_in_channel(
    view: ServerView, role: discord.Role, channel: GuildChannel, commands: Iterable[str]
) -> list[SetupFinding]:
    """Whether members with only this role see their channel and are offered their commands there."""
    have = channel.permissions_for(role)
    if not have.view_channel:
        return [_finding(f"staff:{role.id}:{channel.id}:view", texts.STAFF_CANNOT_SEE, role=role, channel=channel)]
    if not have.use_application_commands:
        return [
            _finding(
                f"staff:{role.id}:{channel.id}:commands", texts.STAFF_CANNOT_USE_COMMANDS, role=role, channel=channel
            )
        ]
    if view.commands is None or view.command_settings is None:
        return []
    registered = {command.name: command for command in view.commands}
    refused: dict[str, list[str]] = {}
    asked: dict[str, None] = {}
    for name in commands:
        command = registered.get(name)
        if command is None:
            continue
        refusal = _refusal(command, view, role, channel, have)
        if refusal is None:
            continue
        refused.setdefault(refusal, []).append(f"/{name}")
        if refusal == "default" and command.default_member_permissions is not None:
            asked |= dict.fromkeys(_permission_names(command.default_member_permissions))
    app = view.application_name
    findings: list[SetupFinding] = []
    for refusal, names in refused.items():
        key = f"staff:{role.id}:{channel.id}:{refusal}:{','.join(names)}"
        words = {"commands": _and(names), "app": app, **texts.COMMANDS_GRAMMAR[len(names) == 1]}
        if refusal == "default":
            permissions = _and(list(asked))
            findings.append(_finding(key, texts.COMMANDS_ASK_FOR, role=role, permissions=permissions, **words))
        elif refusal == "channel":
            findings.append(_finding(key, texts.COMMANDS_OFF_IN_CHANNEL, channel=channel, **words))
        else:
            findings.append(_finding(key, texts.COMMANDS_SWITCHED_OFF, role=role, **words))
    return findings


def _permission_names(permissions: discord.Permissions) -> list[str]:
    if permissions.value == 0:
        return [texts.SERVER_PERMISSION_NAMES["administrator"]]
    return [texts.SERVER_PERMISSION_NAMES.get(name, name.replace("_", " ").title()) for name, on in permissions if on]


def _refusal(
    command: app_commands.AppCommand,
    view: ServerView,
    role: discord.Role,
    channel: GuildChannel,
    have: discord.Permissions,
) -> str | None:
    """Why Discord would not offer this command to a member with only this role here, or None.

    Discord's order (as Server Settings > Integrations applies it): Administrators get everything.
    The channel: the command's own setting for it or for all channels, else the app's. The person:
    the command's own setting for their roles (any allowed wins), else for @everyone, then the same
    at the app's level; only when no setting speaks, the command's default member permissions.
    """
    if have.administrator:
        return None
    settings = view.command_settings or {}
    guild_id = view.guild.id
    levels = [
        {(entry["type"], int(entry["id"])): bool(entry["permission"]) for entry in settings.get(level_id, [])}
        for level_id in (command.id, command.application_id)
    ]
    for level in levels:
        here = [level[(_CHANNEL, place)] for place in (channel.id, guild_id - 1) if (_CHANNEL, place) in level]
        if here:
            if not here[0]:
                return "channel"
            break
    for level in levels:
        if (_ROLE, role.id) in level:
            return None if level[(_ROLE, role.id)] else "role"
        if (_ROLE, guild_id) in level:
            return None if level[(_ROLE, guild_id)] else "role"
    required = command.default_member_permissions
    if required is None:
        return None
    if required.value == 0 or not have >= required:
        return "default"
    return None


def _teachers_can_join(teacher: discord.Role, channel: GuildChannel) -> list[SetupFinding]:
    """Members with only the Teacher role can join every session channel (and speak in a voice one)."""
    have = channel.permissions_for(teacher)
    needed = ["view_channel", "connect"] + (["speak"] if isinstance(channel, discord.VoiceChannel) else [])
    for name in needed:
        if not getattr(have, name):
            what = {"view_channel": "see", "connect": "join", "speak": "speak in"}[name]
            return [
                _finding(
                    f"staff:{teacher.id}:{channel.id}:{name}",
                    texts.TEACHERS_CANNOT_JOIN,
                    role=teacher,
                    channel=channel,
                    what=what,
                    permission=texts.CHANNEL_PERMISSION_NAMES[name],
                )
            ]
    return []


# --- reading the server -------------------------------------------------------------------------------


def _settings_by_id(payload: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    return {int(entry["id"]): list(entry.get("permissions") or []) for entry in payload}


async def _commands_and_settings(
    http: discord.http.HTTPClient, tree: app_commands.CommandTree[Any], guild_id: int, application_id: int
) -> tuple[list[app_commands.AppCommand] | None, CommandSettings | None, list[str]]:
    """The guild's registered commands and their Integrations settings (None with a note when unknown)."""
    try:
        commands = await tree.fetch_commands(guild=discord.Object(id=guild_id))
        settings = await http.get_guild_application_command_permissions(application_id, guild_id)
    except discord.HTTPException as error:
        return None, None, [texts.COMMAND_PERMISSIONS_UNREADABLE.format(problem=error.text or error.status)]
    if not commands:
        return None, None, [texts.COMMANDS_NOT_REGISTERED]
    return commands, _settings_by_id([dict(entry) for entry in settings]), []


async def live_report(config: Config, token: str, endpoints: DiscordEndpoints, token_variable: str) -> ServerReport:
    """Log in over REST with the bot's token and check the server; nothing is changed there."""
    # REST only: the gateway is never opened (a running bot keeps its own connection).
    client = discord.Client(intents=discord.Intents(guilds=True))
    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    endpoints.apply(client)
    guild_name = f"server {config.guild.id}"
    try:
        try:
            await client.login(token)
        except discord.LoginFailure:
            return ServerReport(guild_name, [_finding("login", texts.LOGIN_REFUSED, variable=token_variable)])
        application = client.application
        assert application is not None and client.user is not None
        flags = application.flags
        members_intent = flags.gateway_guild_members or flags.gateway_guild_members_limited
        try:
            guild = await client.fetch_guild(config.guild.id)
        except (discord.NotFound, discord.Forbidden):
            finding = _finding("guild", texts.GUILD_MISSING, id=config.guild.id, app_id=application.id)
            return ServerReport(guild_name, [finding])
        channels = {channel.id: channel for channel in await guild.fetch_channels()}
        me = await guild.fetch_member(client.user.id)
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        commands, settings, notes = await _commands_and_settings(client.http, tree, guild.id, application.id)
        view = ServerView(guild, me, channels, application.name, members_intent, commands, settings, notes)
        return check_server(view, config)
    except (aiohttp.ClientError, OSError, discord.HTTPException) as error:
        note = texts.LIVE_UNREACHABLE.format(problem=getattr(error, "text", None) or error)
        return ServerReport(guild_name, [], [note], checked=False)
    finally:
        await client.close()
        # Other clients in this process (tests) keep the endpoints they had.
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = previous


async def startup_report(bot: PracticeCirclesBot) -> ServerReport:
    """The same checks from the running bot: its cache, its registered commands and their settings."""
    config = bot.core.config
    guild = bot.get_guild(config.guild.id)
    if guild is None or bot.application_id is None:
        finding = _finding("guild", texts.GUILD_MISSING, id=config.guild.id, app_id=bot.application_id or "")
        return ServerReport(f"server {config.guild.id}", [finding])
    commands, settings, notes = await _commands_and_settings(bot.http, bot.tree, guild.id, bot.application_id)
    name = bot.application.name if bot.application is not None else guild.me.display_name
    view = ServerView(
        guild, guild.me, {c.id: c for c in guild.channels}, name, bot.intents.members, commands, settings, notes
    )
    return check_server(view, config)
