"""The state of the loopback Discord: one guild, its people, channels, messages and voice.

Plain data and the rules that change it. Nothing here knows about HTTP, websockets or JSON
shapes: the REST routes and the gateway read and change a `World`, `payloads` renders it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, IntFlag
from typing import Any
from urllib.parse import quote

DISCORD_EPOCH_MS = 1_420_070_400_000


class ChannelType(IntEnum):
    """Discord channel types the sandbox models."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_STAGE_VOICE = 13


THREAD_TYPES = frozenset({ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD})
VOICE_TYPES = frozenset({ChannelType.GUILD_VOICE, ChannelType.GUILD_STAGE_VOICE})
MESSAGEABLE_TYPES = frozenset(
    {
        ChannelType.GUILD_TEXT,
        ChannelType.DM,
        ChannelType.GUILD_VOICE,
        ChannelType.GUILD_ANNOUNCEMENT,
        ChannelType.GUILD_STAGE_VOICE,
    }
    | THREAD_TYPES
)


class Permission(IntFlag):
    """Discord permission bits (the ones a bot like ours meets)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51


ALL_PERMISSIONS = Permission(sum(int(p) for p in Permission))
NO_PERMISSIONS = Permission(0)
STAGE_MODERATOR = Permission.MANAGE_CHANNELS | Permission.MUTE_MEMBERS | Permission.MOVE_MEMBERS

# What a new server gives @everyone, roughly as Discord sets it up.
EVERYONE_DEFAULT = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.STREAM
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.USE_VAD
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.REQUEST_TO_SPEAK
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.CREATE_PRIVATE_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.USE_EMBEDDED_ACTIVITIES
    | Permission.SEND_VOICE_MESSAGES
    | Permission.SEND_POLLS
    | Permission.USE_EXTERNAL_APPS
)


class MessageFlag(IntFlag):
    """Message flag bits the sandbox reads or sets."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_VOICE_MESSAGE = 1 << 13
    IS_COMPONENTS_V2 = 1 << 15


# Flags a bot may set when it creates or edits a message (others are ignored, as Discord does).
SETTABLE_MESSAGE_FLAGS = (
    MessageFlag.SUPPRESS_EMBEDS
    | MessageFlag.SUPPRESS_NOTIFICATIONS
    | MessageFlag.IS_VOICE_MESSAGE
    | MessageFlag.IS_COMPONENTS_V2
)


class ApplicationFlag(IntFlag):
    """Application flags that gate privileged gateway intents."""

    GATEWAY_PRESENCE = 1 << 12
    GATEWAY_PRESENCE_LIMITED = 1 << 13
    GATEWAY_GUILD_MEMBERS = 1 << 14
    GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
    GATEWAY_MESSAGE_CONTENT = 1 << 18
    GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
    APPLICATION_COMMAND_BADGE = 1 << 23


class WorldError(Exception):
    """A request the world refuses, with the HTTP status and Discord JSON error code to answer."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


def unknown(kind: str, code: int) -> WorldError:
    """A 404 like Discord's `Unknown Channel` (code 10003) and friends."""
    return WorldError(404, code, f"Unknown {kind}")


def missing_permissions() -> WorldError:
    """Discord's 403 `Missing Permissions` (50013)."""
    return WorldError(403, 50013, "Missing Permissions")


def missing_access() -> WorldError:
    """Discord's 403 `Missing Access` (50001)."""
    return WorldError(403, 50001, "Missing Access")


def invalid_form(field_path: str, message: str, code: str = "BASE_TYPE_INVALID") -> WorldError:
    """Discord's 400 `Invalid Form Body` (50035) naming one field."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field_path.split(".")):
        errors = {part: errors}
    return WorldError(400, 50035, "Invalid Form Body", errors)


class Snowflakes:
    """Makes Discord-style ids: milliseconds since 2015 in the high bits, then worker, process, counter."""

    def __init__(self, now: Callable[[], datetime], worker: int = 1, process: int = 0) -> None:
        self._now = now
        self._tail = (worker & 0x1F) << 17 | (process & 0x1F) << 12
        self._last = 0

    def next(self) -> int:
        """A new id, increasing, stamped with the current time."""
        ms = int(self._now().timestamp() * 1000) - DISCORD_EPOCH_MS
        candidate = ms << 22 | self._tail
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


def snowflake_time(snowflake: int) -> datetime:
    """The creation time encoded in a snowflake."""
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


@dataclass
class User:
    """A Discord account."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    @property
    def display_name(self) -> str:
        """The name people see."""
        return self.global_name or self.username


@dataclass
class Role:
    """A guild role; the @everyone role's id is the guild's id."""

    id: int
    name: str
    permissions: Permission = Permission(0)
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None


@dataclass
class Member:
    """A user's membership of a guild."""

    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    mute: bool = False
    deaf: bool = False
    communication_disabled_until: datetime | None = None
    dms_closed: bool = False
    locale: str = "en-US"
    # The guild this membership is of; None is the world's first guild (the community's server).
    guild_id: int | None = None

    @property
    def id(self) -> int:
        """The member's user id."""
        return self.user.id

    @property
    def display_name(self) -> str:
        """Nick, else global name, else username."""
        return self.nick or self.user.display_name


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: Permission = Permission(0)
    deny: Permission = Permission(0)


@dataclass
class ThreadMember:
    """Someone who joined a thread."""

    user_id: int
    join_timestamp: datetime


@dataclass
class Channel:
    """A guild channel, category, thread or DM."""

    id: int
    type: ChannelType
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    rtc_region: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    last_message_id: int | None = None
    recipient_ids: list[int] = field(default_factory=list)
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 1440
    archive_timestamp: datetime | None = None
    thread_members: dict[int, ThreadMember] = field(default_factory=dict)
    message_count: int = 0
    total_message_sent: int = 0
    created_at: datetime | None = None

    @property
    def is_thread(self) -> bool:
        """True for public, private and announcement threads."""
        return self.type in THREAD_TYPES

    @property
    def is_voice(self) -> bool:
        """True for voice and Stage channels."""
        return self.type in VOICE_TYPES


@dataclass
class Attachment:
    """A file sent with a message, or uploaded with a slash command; the bytes are kept so tests can read them."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    # A command's upload belongs to no message: Discord keeps it as an "ephemeral attachment" whose
    # signed CDN link stops working after a while.
    ephemeral: bool = False
    expires_at: datetime | None = None

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)


@dataclass
class Message:
    """A message in a channel, a DM, or an (ephemeral) interaction reply."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    nonce: str | int | None = None
    allowed_mentions: dict[str, Any] | None = None
    tts: bool = False
    type: int = 0
    edited_at: datetime | None = None
    pinned: bool = False
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    message_reference: dict[str, Any] | None = None
    created_clock: float = 0.0
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """True for messages only the interacting person sees."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def created_at(self) -> datetime:
        """When it was sent (from its id)."""
        return snowflake_time(self.id)

    def component_named(self, custom_id: str) -> dict[str, Any] | None:
        """The interactive component with this custom_id, searched through rows and containers."""
        return find_component(self.components, custom_id)


def find_component(components: Iterable[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """Depth-first search of a component tree for a custom_id."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        children = list(component.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = find_component(children, custom_id)
        if found is not None:
            return found
    return None


@dataclass
class VoiceState:
    """Who is in which voice or Stage channel, and how they sound."""

    user_id: int
    channel_id: int
    session_id: str
    mute: bool = False
    deaf: bool = False
    self_mute: bool = False
    self_deaf: bool = False
    self_video: bool = False
    self_stream: bool = False
    suppress: bool = False
    request_to_speak_timestamp: datetime | None = None

    @property
    def can_speak(self) -> bool:
        """Whether others would hear this person now."""
        return not (self.mute or self.self_mute or self.suppress)


@dataclass
class StageInstance:
    """A live Stage (topic shown to the guild)."""

    id: int
    channel_id: int
    topic: str
    privacy_level: int = 2
    guild_scheduled_event_id: int | None = None
    discoverable_disabled: bool = True


class EventStatus(IntEnum):
    """Guild scheduled event status."""

    SCHEDULED = 1
    ACTIVE = 2
    COMPLETED = 3
    CANCELED = 4


class EntityType(IntEnum):
    """Where a scheduled event happens."""

    STAGE_INSTANCE = 1
    VOICE = 2
    EXTERNAL = 3


ALLOWED_EVENT_TRANSITIONS = {
    (EventStatus.SCHEDULED, EventStatus.ACTIVE),
    (EventStatus.ACTIVE, EventStatus.COMPLETED),
    (EventStatus.SCHEDULED, EventStatus.CANCELED),
}


@dataclass
class ScheduledEvent:
    """A guild scheduled event and the people interested in it."""

    id: int
    name: str
    scheduled_start_time: datetime
    entity_type: EntityType
    creator_id: int | None
    scheduled_end_time: datetime | None = None
    description: str | None = None
    channel_id: int | None = None
    location: str | None = None
    privacy_level: int = 2
    status: EventStatus = EventStatus.SCHEDULED
    image: str | None = None
    recurrence_rule: dict[str, Any] | None = None
    interested: list[int] = field(default_factory=list)


@dataclass
class ApplicationCommand:
    """A registered application command, as the bot sent it plus Discord's ids."""

    id: int
    name: str
    type: int
    guild_id: int | None
    version: int
    data: dict[str, Any]

    @property
    def description(self) -> str:
        """The command's description (empty for context-menu commands)."""
        return str(self.data.get("description") or "")

    @property
    def options(self) -> list[dict[str, Any]]:
        """The top-level options as registered."""
        return list(self.data.get("options") or [])


@dataclass(frozen=True)
class CommandPermission:
    """One line of Server Settings > Integrations > (app): allow or deny a role, member or channel."""

    id: int
    type: int  # 1 role (the guild's id is @everyone), 2 user, 3 channel (the guild's id - 1 is every channel)
    permission: bool


ROLE_PERMISSION, USER_PERMISSION, CHANNEL_PERMISSION = 1, 2, 3


@dataclass
class InteractionRecord:
    """An interaction a simulated person started, and everything the bot answered."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    created_clock: float
    payload: dict[str, Any]
    name: str = ""
    message_id: int | None = None
    triggered_by: int | None = None
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    edits: int = 0

    @property
    def acknowledged(self) -> bool:
        """Whether the bot has answered the callback."""
        return self.callback_type is not None


@dataclass
class Application:
    """The bot's application."""

    id: int
    name: str
    owner_id: int
    flags: ApplicationFlag
    description: str = ""
    verify_key: str = field(default_factory=lambda: secrets.token_hex(32))

    def allows(self, flag_full: ApplicationFlag, flag_limited: ApplicationFlag) -> bool:
        """Whether a privileged intent is switched on in the (simulated) developer portal."""
        return bool(self.flags & (flag_full | flag_limited))


@dataclass
class Guild:
    """A guild of the sandbox: the first is the community's server; `World.add_guild` adds others."""

    id: int
    name: str
    owner_id: int
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=lambda: ["COMMUNITY", "NEWS"])
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)
    stage_instances: dict[int, StageInstance] = field(default_factory=dict)
    scheduled_events: dict[int, ScheduledEvent] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def everyone(self) -> Role:
        """The @everyone role."""
        return self.roles[self.id]


def make_token(user_id: int) -> str:
    """A bot token in Discord's three-part shape: base64(user id), timestamp part, secret part."""
    head = base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")
    return f"{head}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"


NONCE_WINDOW = timedelta(minutes=5)
# How long the signed CDN link of an uploaded file works (Discord signs attachment links for about a day).
ATTACHMENT_LINK_LIFETIME = timedelta(hours=24)


def upload_filename(name: str) -> str:
    """The name Discord keeps for an uploaded file: the last path part, spaces turned into underscores."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base.replace(" ", "_") or "unknown"


@dataclass
class DiscordRules:
    """How long Discord waits before each of its automatic changes (see loopback.rules)."""

    stage_without_speaker: timedelta = timedelta(minutes=5)
    empty_event_completes: timedelta = timedelta(minutes=5)
    unstarted_event_cancelled: timedelta = timedelta(hours=3)
    sweep_seconds: float = 0.25


@dataclass(frozen=True)
class Notification:
    """A notification Discord shows a member (here only "an event you are interested in is starting")."""

    user_id: int
    kind: str
    event_id: int
    at: datetime


class World:
    """Everything the loopback Discord knows, and the rules for changing it."""

    def __init__(
        self,
        *,
        guild_name: str = "Sandbox Guild",
        bot_name: str = "Sandbox Bot",
        application_flags: ApplicationFlag | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.snowflakes = Snowflakes(lambda: self.now())
        self.users: dict[int, User] = {}
        self.bot_user = self.add_user(bot_name.lower().replace(" ", "_"), bot_name, bot=True)
        self.bot_token = make_token(self.bot_user.id)
        self.application = Application(
            id=self.bot_user.id,
            name=bot_name,
            owner_id=0,
            flags=application_flags
            if application_flags is not None
            else (
                ApplicationFlag.GATEWAY_GUILD_MEMBERS_LIMITED
                | ApplicationFlag.GATEWAY_MESSAGE_CONTENT_LIMITED
                | ApplicationFlag.APPLICATION_COMMAND_BADGE
            ),
        )
        guild_id = self.snowflakes.next()
        self.guild = Guild(id=guild_id, name=guild_name, owner_id=0, created_at=self.now())
        self.guild.roles[guild_id] = Role(id=guild_id, name="@everyone", permissions=EVERYONE_DEFAULT)
        # Every guild by id, the first included. Other guilds model membership, voice, interactions,
        # member edits and the bot leaving; channel, role and event routes serve the first guild only.
        self.guilds: dict[int, Guild] = {guild_id: self.guild}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.dm_channels: dict[int, int] = {}
        self.dm_channel_objects: dict[int, Channel] = {}
        self.commands: dict[int, ApplicationCommand] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        # What a server admin set in Server Settings > Integrations, by command id, or by the
        # application's id for every command without settings of its own.
        self.command_permissions: dict[int, list[CommandPermission]] = {}
        # Files people uploaded with a slash command, by attachment id (served at their signed links).
        self.uploads: dict[int, Attachment] = {}
        self.cdn_secret = secrets.token_bytes(32)
        # Discord's timed rules (kept by loopback.rules) and the notifications members got from them.
        self.rules = DiscordRules()
        self.notifications: list[Notification] = []

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def default(cls, **kwargs: Any) -> World:
        """A small practice-circle guild: staff and member channels, a Stage, roles and people."""
        world = cls(guild_name="Practice Circles", bot_name="Practice Circles", **kwargs)
        guild = world.guild
        everyone = guild.everyone
        coordinator = world.add_role(
            "Coordinator",
            Permission.MANAGE_GUILD
            | Permission.MANAGE_EVENTS
            | Permission.MANAGE_CHANNELS
            | Permission.MANAGE_ROLES
            | Permission.MANAGE_MESSAGES
            | Permission.MANAGE_THREADS
            | Permission.MUTE_MEMBERS
            | Permission.MOVE_MEMBERS
            | Permission.MODERATE_MEMBERS
            | Permission.MENTION_EVERYONE,
            color=0x2E86C1,
            hoist=True,
            position=3,
        )
        teacher = world.add_role(
            "Teacher",
            Permission.PRIORITY_SPEAKER | Permission.MUTE_MEMBERS | Permission.MOVE_MEMBERS | Permission.CREATE_EVENTS,
            color=0x27AE60,
            hoist=True,
            position=2,
        )
        bot_role = world.add_role(
            "Practice Circles",
            Permission.VIEW_CHANNEL
            | Permission.SEND_MESSAGES
            | Permission.EMBED_LINKS
            | Permission.ATTACH_FILES
            | Permission.READ_MESSAGE_HISTORY
            | Permission.MANAGE_CHANNELS
            | Permission.MANAGE_ROLES
            | Permission.MANAGE_EVENTS
            | Permission.CREATE_EVENTS
            | Permission.MANAGE_THREADS
            | Permission.CREATE_PUBLIC_THREADS
            | Permission.CREATE_PRIVATE_THREADS
            | Permission.SEND_MESSAGES_IN_THREADS
            | Permission.CONNECT
            | Permission.SPEAK
            | Permission.STREAM
            | Permission.USE_VAD
            | Permission.MUTE_MEMBERS
            | Permission.DEAFEN_MEMBERS
            | Permission.MOVE_MEMBERS
            | Permission.PRIORITY_SPEAKER
            | Permission.REQUEST_TO_SPEAK
            | Permission.USE_APPLICATION_COMMANDS,
            position=4,
            managed=True,
            bot_id=world.bot_user.id,
        )

        info = world.add_channel("Announcements", ChannelType.GUILD_CATEGORY, position=0)
        world.add_channel(
            "schedule",
            ChannelType.GUILD_TEXT,
            parent=info,
            position=0,
            topic="Upcoming practice sessions (times shown in your own time zone)",
            overwrites=[
                Overwrite(everyone.id, 0, deny=Permission.SEND_MESSAGES),
                Overwrite(bot_role.id, 0, allow=Permission.SEND_MESSAGES),
                Overwrite(coordinator.id, 0, allow=Permission.SEND_MESSAGES),
            ],
        )
        staff = world.add_channel(
            "Staff",
            ChannelType.GUILD_CATEGORY,
            position=1,
            overwrites=[
                Overwrite(everyone.id, 0, deny=Permission.VIEW_CHANNEL),
                Overwrite(bot_role.id, 0, allow=Permission.VIEW_CHANNEL),
            ],
        )
        world.add_channel(
            "teachers",
            ChannelType.GUILD_TEXT,
            parent=staff,
            position=0,
            overwrites=[
                Overwrite(everyone.id, 0, deny=Permission.VIEW_CHANNEL),
                Overwrite(bot_role.id, 0, allow=Permission.VIEW_CHANNEL),
                Overwrite(teacher.id, 0, allow=Permission.VIEW_CHANNEL),
                Overwrite(coordinator.id, 0, allow=Permission.VIEW_CHANNEL),
            ],
        )
        world.add_channel(
            "coordinators",
            ChannelType.GUILD_TEXT,
            parent=staff,
            position=1,
            overwrites=[
                Overwrite(everyone.id, 0, deny=Permission.VIEW_CHANNEL),
                Overwrite(bot_role.id, 0, allow=Permission.VIEW_CHANNEL),
                Overwrite(coordinator.id, 0, allow=Permission.VIEW_CHANNEL),
            ],
        )
        practice = world.add_channel("Practice", ChannelType.GUILD_CATEGORY, position=2)
        world.add_channel(
            "general",
            ChannelType.GUILD_TEXT,
            parent=practice,
            position=0,
            topic="Say hello; be kind to yourself and each other",
        )
        world.add_channel(
            "Practice Circle",
            ChannelType.GUILD_STAGE_VOICE,
            parent=practice,
            position=1,
            overwrites=[Overwrite(teacher.id, 0, allow=STAGE_MODERATOR)],
        )
        world.add_channel("Quiet Sitting", ChannelType.GUILD_VOICE, parent=practice, position=2)

        laila = world.add_member("laila", "Laila", roles=[coordinator])
        guild.owner_id = laila.id
        world.application.owner_id = laila.id
        world.add_member("ana", "Ana", roles=[teacher])
        world.add_member("kofi", "Kofi", roles=[teacher])
        for username, name in (("sam", "Sam"), ("priya", "Priya"), ("jonas", "Jonas")):
            world.add_member(username, name)
        world.add_member("mei", "Mei", dms_closed=True)
        world.add_member(world.bot_user, roles=[bot_role])
        return world

    def add_guild(self, name: str, *, owner: User | None = None) -> Guild:
        """Another server, as Discord creates one from its default template, with the bot invited to it.

        It has @everyone, a text channel "general" and a voice channel "General"; the bot joins with
        its own managed role, as an invite with permissions gives it.
        """
        guild_id = self.snowflakes.next()
        owner = owner or self.add_user(f"owner{guild_id % 10000}", "Owner")
        guild = Guild(id=guild_id, name=name, owner_id=owner.id, features=[], created_at=self.now())
        guild.roles[guild_id] = Role(id=guild_id, name="@everyone", permissions=EVERYONE_DEFAULT)
        self.guilds[guild_id] = guild
        text = self.add_channel("Text Channels", ChannelType.GUILD_CATEGORY, guild=guild, position=0)
        self.add_channel("general", ChannelType.GUILD_TEXT, guild=guild, parent=text, position=0)
        voice = self.add_channel("Voice Channels", ChannelType.GUILD_CATEGORY, guild=guild, position=1)
        self.add_channel("General", ChannelType.GUILD_VOICE, guild=guild, parent=voice, position=0)
        self.add_member(owner, guild=guild)
        bot_role = self.add_role(
            self.bot_user.global_name or self.bot_user.username,
            Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.CONNECT | Permission.MUTE_MEMBERS,
            guild=guild,
            position=1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        self.add_member(self.bot_user, roles=[bot_role], guild=guild)
        return guild

    def guild_by_id(self, guild_id: int | None) -> Guild:
        """A guild by id (None: the first guild)."""
        return self.guild if guild_id is None else self.guilds[guild_id]

    def guild_of(self, channel: Channel) -> Guild:
        """The guild a guild channel or thread belongs to.

        A channel naming a guild the world does not hold (a test's stand-in for some other server's
        object) is read by the first guild's rules.
        """
        return self.guilds.get(channel.guild_id or self.guild.id, self.guild)

    def bot_guilds(self) -> list[Guild]:
        """The guilds the bot is a member of, the first one first."""
        return [g for g in self.guilds.values() if self.bot_user.id in g.members]

    def add_user(self, username: str, global_name: str | None = None, *, bot: bool = False) -> User:
        """Create a Discord account."""
        user = User(id=self.snowflakes.next(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def add_role(
        self, name: str, permissions: Permission = NO_PERMISSIONS, *, guild: Guild | None = None, **fields: Any
    ) -> Role:
        """Create a role in a guild (the first unless given)."""
        role = Role(id=self.snowflakes.next(), name=name, permissions=permissions, **fields)
        (guild or self.guild).roles[role.id] = role
        return role

    def add_channel(
        self,
        name: str,
        type: ChannelType,
        *,
        parent: Channel | None = None,
        overwrites: Iterable[Overwrite] = (),
        guild: Guild | None = None,
        **fields: Any,
    ) -> Channel:
        """Create a channel or category in a guild (the first unless given)."""
        guild = guild or self.guild
        channel = Channel(
            id=self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            parent_id=parent.id if parent else None,
            overwrites={o.id: o for o in overwrites},
            created_at=self.now(),
            **fields,
        )
        guild.channels[channel.id] = channel
        return channel

    def add_member(
        self,
        user: User | str,
        global_name: str | None = None,
        *,
        roles: Iterable[Role] = (),
        nick: str | None = None,
        dms_closed: bool = False,
        bot: bool = False,
        guild: Guild | None = None,
    ) -> Member:
        """Add a person (a new user unless a `User` is given) to a guild (the first unless given)."""
        if isinstance(user, str):
            user = self.add_user(user, global_name, bot=bot)
        guild = guild or self.guild
        member = Member(
            user=user,
            roles=[r.id for r in roles],
            nick=nick,
            dms_closed=dms_closed,
            joined_at=self.now(),
            guild_id=None if guild is self.guild else guild.id,
        )
        guild.members[user.id] = member
        return member

    def remove_member(self, user_id: int, guild: Guild | None = None) -> Member:
        """Someone leaves a guild (the first unless given): out of voice, threads and event interest lists too."""
        guild = guild or self.guild
        member = self.member(user_id, guild)
        del guild.members[user_id]
        guild.voice_states.pop(user_id, None)
        for channel in guild.channels.values():
            channel.thread_members.pop(user_id, None)
        for event in guild.scheduled_events.values():
            if user_id in event.interested:
                event.interested.remove(user_id)
        return member

    # ---- lookups -------------------------------------------------------------------------------

    def member(self, user_id: int, guild: Guild | None = None) -> Member:
        """The member of a guild (the first unless given) with this id, or a 404 `Unknown Member`."""
        try:
            return (guild or self.guild).members[user_id]
        except KeyError:
            raise unknown("Member", 10007) from None

    def user(self, user_id: int) -> User:
        """The user with this id, or a 404 `Unknown User`."""
        try:
            return self.users[user_id]
        except KeyError:
            raise unknown("User", 10013) from None

    def channel(self, channel_id: int) -> Channel:
        """A guild channel, thread or DM channel by id, or a 404 `Unknown Channel`."""
        channel = self.dm_channel_objects.get(channel_id)
        for guild in self.guilds.values():
            channel = channel or guild.channels.get(channel_id)
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def require_guild(self, guild_id: int, *, first_only: bool = True) -> Guild:
        """A guild the bot is in, else 404 `Unknown Guild` (or 403 `Missing Access` for one it left).

        Routes the sandbox models only for its first guild pass `first_only`; asked about another,
        they fail loudly with a 500 rather than answer about the wrong guild.
        """
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise unknown("Guild", 10004)
        if self.bot_user.id not in guild.members:
            raise missing_access()
        if first_only and guild is not self.guild:
            raise WorldError(500, 0, "the sandbox serves this route for its first guild only")
        return guild

    def find_member(self, name_or_id: int | str) -> Member:
        """A member by id, username, global name or nick (case-insensitive)."""
        if isinstance(name_or_id, int):
            return self.member(name_or_id)
        wanted = name_or_id.casefold().lstrip("@")
        for member in self.guild.members.values():
            names = {member.user.username, member.user.global_name or "", member.nick or ""}
            if wanted in {n.casefold() for n in names if n}:
                return member
        raise KeyError(f"no member called {name_or_id!r} in {self.guild.name!r}")

    def find_channel(self, name_or_id: int | str | Channel) -> Channel:
        """A channel by object, id or name (with or without '#'; an exact name beats a category)."""
        if isinstance(name_or_id, Channel):
            return name_or_id
        if isinstance(name_or_id, int):
            return self.channel(name_or_id)
        wanted = name_or_id.lstrip("#")
        matches = [c for c in self.guild.channels.values() if c.name.casefold() == wanted.casefold()]
        matches.sort(key=lambda c: (c.name != wanted, c.type == ChannelType.GUILD_CATEGORY))
        if not matches:
            raise KeyError(f"no channel called {name_or_id!r} in {self.guild.name!r}")
        return matches[0]

    def find_role(self, name_or_id: int | str | Role) -> Role:
        """A role by object, id or name."""
        if isinstance(name_or_id, Role):
            return name_or_id
        if isinstance(name_or_id, int):
            return self.guild.roles[name_or_id]
        wanted = name_or_id.casefold().lstrip("@")
        for role in self.guild.roles.values():
            if role.name.casefold().lstrip("@") == wanted:
                return role
        raise KeyError(f"no role called {name_or_id!r} in {self.guild.name!r}")

    def message(self, channel_id: int, message_id: int) -> Message:
        """A live message in a channel, or a 404 `Unknown Message`."""
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel_id:
            raise unknown("Message", 10008)
        return message

    def history(self, channel_id: int) -> list[Message]:
        """The channel's visible messages, oldest first (ephemeral replies are not history)."""
        found = (self.messages[i] for i in self.channel_messages.get(channel_id, []))
        return [m for m in found if not m.deleted and not m.ephemeral]

    # ---- permissions ---------------------------------------------------------------------------

    def base_permissions(self, member: Member) -> Permission:
        """Guild-level permissions from @everyone and the member's roles."""
        guild = self.guild_by_id(member.guild_id)
        if member.id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.everyone.permissions
        for role_id in member.roles:
            role = guild.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def permissions_in(self, member: Member, channel: Channel) -> Permission:
        """Permissions in a channel after overwrites, as Discord computes them."""
        if channel.type == ChannelType.DM:
            return Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.READ_MESSAGE_HISTORY
        perms = self.base_permissions(member)
        guild = self.guild_of(channel)
        if perms & Permission.ADMINISTRATOR or member.id == guild.owner_id:
            return ALL_PERMISSIONS
        source = guild.channels.get(channel.parent_id) if channel.is_thread and channel.parent_id else channel
        overwrites = (source or channel).overwrites
        everyone = overwrites.get(guild.id)
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = Permission(0)
        for role_id in member.roles:
            overwrite = overwrites.get(role_id)
            if overwrite and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        own = overwrites.get(member.id)
        if own and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        if not perms & Permission.VIEW_CHANNEL:
            return Permission(0)
        # A private thread shows only to those added to it, and to those who manage threads there.
        if (
            channel.type == ChannelType.PRIVATE_THREAD
            and member.id not in channel.thread_members
            and not perms & Permission.MANAGE_THREADS
        ):
            return Permission(0)
        if channel.is_voice and not perms & Permission.CONNECT:
            perms &= ~(
                Permission.SPEAK
                | Permission.MUTE_MEMBERS
                | Permission.DEAFEN_MEMBERS
                | Permission.MOVE_MEMBERS
                | Permission.USE_VAD
                | Permission.STREAM
                | Permission.PRIORITY_SPEAKER
            )
        if not perms & Permission.SEND_MESSAGES and not channel.is_thread:
            perms &= ~(
                Permission.SEND_TTS_MESSAGES
                | Permission.MENTION_EVERYONE
                | Permission.EMBED_LINKS
                | Permission.ATTACH_FILES
            )
        if member.communication_disabled_until and member.communication_disabled_until > self.now():
            perms &= Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
        return perms

    def top_role_position(self, member: Member) -> int:
        """The highest position among the member's roles (0 for @everyone only)."""
        positions = [self.guild.roles[r].position for r in member.roles if r in self.guild.roles]
        return max(positions, default=0)

    def bot_member(self, guild: Guild | None = None) -> Member:
        """The bot's own membership (of the first guild unless given)."""
        return self.member(self.bot_user.id, guild)

    def require(self, needed: Permission, channel: Channel | None = None) -> None:
        """Raise Discord's 403 if the bot lacks `needed` (in `channel`, or guild-wide in the first guild)."""
        in_guild = channel is not None and channel.guild_id is not None
        bot = self.bot_member(self.guild_of(channel) if channel is not None and in_guild else None)
        have = self.permissions_in(bot, channel) if channel is not None else self.base_permissions(bot)
        if channel is not None and not have & Permission.VIEW_CHANNEL:
            raise missing_access()
        if have & needed != needed:
            raise missing_permissions()

    # ---- messages -----------------------------------------------------------------------------

    def add_message(self, channel: Channel, author_id: int, clock: float, **fields: Any) -> Message:
        """Store a new message (not an ephemeral reply) in a channel's history."""
        message = Message(
            id=self.snowflakes.next(),
            channel_id=channel.id,
            author_id=author_id,
            created_clock=clock,
            **fields,
        )
        self.messages[message.id] = message
        self.channel_messages.setdefault(channel.id, []).append(message.id)
        if not message.ephemeral:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        return message

    def find_by_nonce(self, channel_id: int, author_id: int, nonce: str | int) -> Message | None:
        """The author's recent message in this channel carrying `nonce`, as enforce_nonce checks."""
        horizon = self.now() - NONCE_WINDOW
        for message_id in reversed(self.channel_messages.get(channel_id, [])):
            message = self.messages[message_id]
            if message.created_at < horizon:
                break
            if message.author_id == author_id and message.nonce == nonce and not message.deleted:
                return message
        return None

    def open_dm(self, user_id: int) -> Channel:
        """The DM channel between the bot and a user, created on first use."""
        channel_id = self.dm_channels.get(user_id)
        if channel_id is not None:
            return self.dm_channel_objects[channel_id]
        channel = Channel(
            id=self.snowflakes.next(), type=ChannelType.DM, recipient_ids=[user_id], created_at=self.now()
        )
        self.dm_channels[user_id] = channel.id
        self.dm_channel_objects[channel.id] = channel
        return channel

    def dm_recipient(self, channel: Channel) -> User | None:
        """The other person in a DM channel."""
        if channel.type != ChannelType.DM or not channel.recipient_ids:
            return None
        return self.users.get(channel.recipient_ids[0])

    # ---- uploads and their CDN links ---------------------------------------------------------------

    def upload(self, filename: str, data: bytes, content_type: str | None = None) -> Attachment:
        """Keep a file someone attached to a slash command, as Discord does, with a link that expires."""
        name = upload_filename(filename)
        guessed = mimetypes.guess_type(name)[0]
        attachment = Attachment(
            id=self.snowflakes.next(),
            filename=name,
            data=bytes(data),
            content_type=content_type or guessed,
            ephemeral=True,
            expires_at=self.now() + ATTACHMENT_LINK_LIFETIME,
        )
        self.uploads[attachment.id] = attachment
        return attachment

    def upload_path(self, attachment: Attachment) -> str:
        """The CDN path of an uploaded file, with Discord's signed query (ex, is, hm)."""
        assert attachment.expires_at is not None
        path = f"/ephemeral-attachments/{self.application.id}/{attachment.id}/{quote(attachment.filename)}"
        expires = f"{int(attachment.expires_at.timestamp()):x}"
        issued = f"{int((attachment.expires_at - ATTACHMENT_LINK_LIFETIME).timestamp()):x}"
        return f"{path}?ex={expires}&is={issued}&hm={self._signature(path, expires, issued)}&"

    def _signature(self, path: str, expires: str, issued: str) -> str:
        return hmac.new(self.cdn_secret, f"{path}|{expires}|{issued}".encode(), hashlib.sha256).hexdigest()

    def served_upload(self, path: str, query: dict[str, str]) -> Attachment | None:
        """The upload a CDN link names, if its signature holds and it has not expired; else None (404)."""
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "ephemeral-attachments" or not parts[2].isdigit():
            return None
        attachment = self.uploads.get(int(parts[2]))
        if attachment is None or attachment.expires_at is None or parts[1] != str(self.application.id):
            return None
        expires, issued, signature = query.get("ex", ""), query.get("is", ""), query.get("hm", "")
        expected = self._signature("/" + "/".join(parts), expires, issued)
        if not hmac.compare_digest(signature, expected):
            return None
        if int(expires, 16) <= self.now().timestamp():
            return None
        return attachment

    # ---- threads -------------------------------------------------------------------------------

    def create_thread(
        self,
        parent: Channel,
        name: str,
        owner_id: int,
        *,
        type: ChannelType,
        thread_id: int | None = None,
        auto_archive_duration: int = 1440,
        invitable: bool = True,
        rate_limit_per_user: int = 0,
    ) -> Channel:
        """Open a thread under a text or announcement channel; the owner joins it."""
        now = self.now()
        thread = Channel(
            id=thread_id or self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=self.guild.id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            invitable=invitable,
            rate_limit_per_user=rate_limit_per_user,
            archive_timestamp=now,
            created_at=now,
        )
        thread.thread_members[owner_id] = ThreadMember(owner_id, now)
        self.guild.channels[thread.id] = thread
        return thread

    # ---- voice -------------------------------------------------------------------------------

    def voice_state(self, user_id: int, guild: Guild | None = None) -> VoiceState | None:
        """Where a user is in voice in a guild (the first unless given), if anywhere."""
        return (guild or self.guild).voice_states.get(user_id)

    def join_voice(
        self,
        user_id: int,
        channel: Channel,
        session_id: str,
        *,
        self_mute: bool = False,
        self_deaf: bool = False,
    ) -> VoiceState:
        """Put a member in a voice or Stage channel (Stage joiners start in the audience)."""
        if not channel.is_voice:
            raise WorldError(400, 50024, "Cannot execute action on this channel type")
        guild = self.guild_of(channel)
        member = self.member(user_id, guild)
        previous = guild.voice_states.get(user_id)
        if previous is not None and previous.channel_id == channel.id:
            # Same channel (e.g. a self-mute change): Stage speaker state and raised hand stay.
            suppress, raised_hand = previous.suppress, previous.request_to_speak_timestamp
        else:
            suppress, raised_hand = channel.type == ChannelType.GUILD_STAGE_VOICE, None
        state = VoiceState(
            user_id=user_id,
            channel_id=channel.id,
            session_id=session_id,
            mute=member.mute,
            deaf=member.deaf,
            self_mute=self_mute,
            self_deaf=self_deaf,
            suppress=suppress,
            request_to_speak_timestamp=raised_hand,
        )
        guild.voice_states[user_id] = state
        return state

    def leave_voice(self, user_id: int, guild: Guild | None = None) -> VoiceState | None:
        """Take a member out of voice in a guild (the first unless given); returns the state they left."""
        return (guild or self.guild).voice_states.pop(user_id, None)

    def voice_members(self, channel_id: int) -> list[int]:
        """User ids currently in a voice or Stage channel."""
        guild = self.guild_of(self.channel(channel_id))
        return [s.user_id for s in guild.voice_states.values() if s.channel_id == channel_id]

    # ---- commands ----------------------------------------------------------------------------

    def commands_for(self, guild_id: int | None) -> list[ApplicationCommand]:
        """Global commands (guild_id None) or one guild's commands."""
        return [c for c in self.commands.values() if c.guild_id == guild_id]

    def overwrite_commands(self, guild_id: int | None, definitions: list[dict[str, Any]]) -> list[ApplicationCommand]:
        """Bulk overwrite: keep ids for commands that keep their name and type, drop the rest."""
        existing = {(c.name, c.type): c for c in self.commands_for(guild_id)}
        kept: list[ApplicationCommand] = []
        for definition in definitions:
            key = (definition["name"], int(definition.get("type") or 1))
            old = existing.pop(key, None)
            command = ApplicationCommand(
                id=old.id if old else self.snowflakes.next(),
                name=key[0],
                type=key[1],
                guild_id=guild_id,
                version=self.snowflakes.next(),
                data=dict(definition),
            )
            self.commands[command.id] = command
            kept.append(command)
        for stale in existing.values():
            del self.commands[stale.id]
        return kept

    def upsert_command(self, guild_id: int | None, definition: dict[str, Any]) -> tuple[ApplicationCommand, bool]:
        """Create or replace one command by name and type; True when it is new."""
        key = (definition["name"], int(definition.get("type") or 1))
        old = next((c for c in self.commands_for(guild_id) if (c.name, c.type) == key), None)
        command = ApplicationCommand(
            id=old.id if old else self.snowflakes.next(),
            name=key[0],
            type=key[1],
            guild_id=guild_id,
            version=self.snowflakes.next(),
            data=dict(definition),
        )
        self.commands[command.id] = command
        return command, old is None

    def find_command(self, name: str, type: int = 1, guild: Guild | None = None) -> ApplicationCommand:
        """A registered command visible in a guild, the first unless given (guild commands win over global ones)."""
        for guild_id in ((guild or self.guild).id, None):
            for command in self.commands_for(guild_id):
                if command.name == name and command.type == type:
                    return command
        registered = sorted({c.name for c in self.commands.values()})
        raise KeyError(f"no command /{name} is registered (registered: {registered or 'none'})")

    def set_command_permissions(self, command: ApplicationCommand | None, entries: Iterable[CommandPermission]) -> None:
        """An admin's Integrations settings for one command (None: the app's, for all commands)."""
        key = self.application.id if command is None else command.id
        kept = list(entries)
        if kept:
            self.command_permissions[key] = kept
        else:
            self.command_permissions.pop(key, None)

    def command_refusal(self, member: Member, channel: Channel, command: ApplicationCommand) -> str | None:
        """Why Discord's client would not offer this command to this member here (None: it would).

        Discord's order: Administrators may use everything. Then the channel: the command's own
        setting for this channel, or for all channels, else the app's. Then the person: the command's
        own setting for the member, else for their roles (any allowed role wins), else for @everyone;
        the same at the app level; only when neither level says anything, `default_member_permissions`.
        """
        perms = self.permissions_in(member, channel)
        if perms & Permission.ADMINISTRATOR:
            return None
        levels = [self.command_permissions.get(command.id, []), self.command_permissions.get(self.application.id, [])]
        place = channel.parent_id if channel.is_thread and channel.parent_id else channel.id
        for level in levels:
            settings = {(entry.type, entry.id): entry.permission for entry in level}
            decided = next(
                (
                    settings[(CHANNEL_PERMISSION, c)]
                    for c in (place, self.guild.id - 1)
                    if (CHANNEL_PERMISSION, c) in settings
                ),
                None,
            )
            if decided is not None:
                if not decided:
                    return f"/{command.name} is switched off in #{channel.name} (Server Settings > Integrations)"
                break
        for level in levels:
            settings = {(entry.type, entry.id): entry.permission for entry in level}
            if (USER_PERMISSION, member.id) in settings:
                allowed = settings[(USER_PERMISSION, member.id)]
            else:
                by_role = [settings[(ROLE_PERMISSION, r)] for r in member.roles if (ROLE_PERMISSION, r) in settings]
                if by_role:
                    allowed = any(by_role)
                elif (ROLE_PERMISSION, self.guild.id) in settings:
                    allowed = settings[(ROLE_PERMISSION, self.guild.id)]
                else:
                    continue
            return None if allowed else f"/{command.name} is switched off for {member.display_name} (Integrations)"
        required = command.data.get("default_member_permissions")
        if required is not None:
            needed = Permission(int(required))
            if needed == 0 or perms & needed != needed:
                return f"{member.display_name} lacks the permissions /{command.name} asks for ({needed!r})"
        return None

    # ---- scheduled events -------------------------------------------------------------------

    def scheduled_event(self, event_id: int) -> ScheduledEvent:
        """A scheduled event by id, or a 404 `Unknown Guild Scheduled Event`."""
        try:
            return self.guild.scheduled_events[event_id]
        except KeyError:
            raise unknown("Guild Scheduled Event", 10070) from None

    def stage_instance_for(self, channel_id: int) -> StageInstance:
        """The live Stage on a channel, or a 404 `Unknown Stage Instance`."""
        try:
            return self.guild.stage_instances[channel_id]
        except KeyError:
            raise unknown("Stage Instance", 10067) from None
