"""Channels: messages (with nonce / enforce_nonce), DMs, threads, permission overwrites, edits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopback import payloads
from loopback.rest import ApiRequest, Reply, Router
from loopback.routes.content import apply_edit, new_message_fields
from loopback.world import (
    MESSAGEABLE_TYPES,
    SETTABLE_MESSAGE_FLAGS,
    Channel,
    ChannelType,
    Message,
    Overwrite,
    Permission,
    ThreadMember,
    WorldError,
    invalid_form,
    missing_permissions,
    unknown,
)

if TYPE_CHECKING:
    from loopback.server import Sandbox

CANNOT_DM = WorldError(403, 50007, "Cannot send messages to this user")
OPENING_DMS_TOO_FAST = WorldError(403, 40003, "You are opening direct messages too fast.")


def _channel(sandbox: Sandbox, req: ApiRequest) -> Channel:
    return sandbox.world.channel(req.snowflake("channel_id"))


def _require_in(sandbox: Sandbox, channel: Channel, needed: Permission) -> None:
    """Permission check that DMs skip (a DM has no overwrites)."""
    if channel.type != ChannelType.DM:
        sandbox.world.require(needed, channel)


def _check_can_send(sandbox: Sandbox, channel: Channel, *, with_files: bool) -> None:
    world = sandbox.world
    if channel.type not in MESSAGEABLE_TYPES:
        raise WorldError(400, 50008, "Cannot send messages in a non-text channel")
    if channel.type == ChannelType.DM:
        recipient = world.dm_recipient(channel)
        member = world.guild.members.get(recipient.id) if recipient else None
        if recipient is None or recipient.bot or member is None or member.dms_closed:
            raise CANNOT_DM
        return
    needed = Permission.VIEW_CHANNEL
    needed |= Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
    if with_files:
        needed |= Permission.ATTACH_FILES
    world.require(needed, channel)
    if channel.is_thread and channel.archived:
        if channel.locked and not world.permissions_in(world.bot_member(), channel) & Permission.MANAGE_THREADS:
            raise missing_permissions()
        channel.archived = False
        sandbox.events.channel_updated(channel)


async def get_channel(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /channels/{channel_id}."""
    channel = _channel(sandbox, req)
    _require_in(sandbox, channel, Permission.VIEW_CHANNEL)
    return Reply(body=payloads.channel(sandbox.world, channel))


_EDITABLE = (
    "name",
    "topic",
    "position",
    "nsfw",
    "rate_limit_per_user",
    "bitrate",
    "user_limit",
    "rtc_region",
)
_THREAD_EDITABLE = ("name", "archived", "locked", "invitable", "auto_archive_duration", "rate_limit_per_user")


def _check_overwrite_grant(sandbox: Sandbox, channel: Channel, allow: int, deny: int) -> None:
    """Discord's rule: a bot may only allow or deny permissions it has in the guild, or in the parent
    category when there is one, unless it has an explicit Manage Permissions overwrite in the channel
    itself (then what it has in the channel counts). Administrators may set anything."""
    world = sandbox.world
    bot = world.bot_member()
    if world.base_permissions(bot) & Permission.ADMINISTRATOR:
        return
    here = world.permissions_in(bot, channel)
    if not here & Permission.MANAGE_ROLES:
        raise missing_permissions()
    own_overwrites = [o for o in channel.overwrites.values() if o.id == bot.id or (o.type == 0 and o.id in bot.roles)]
    if any(o.allow & Permission.MANAGE_ROLES for o in own_overwrites):
        have = here
    elif channel.parent_id is not None and channel.parent_id in world.guild.channels:
        have = world.permissions_in(bot, world.guild.channels[channel.parent_id])
    else:
        have = world.base_permissions(bot)
    if (allow | deny) & ~int(have):
        raise missing_permissions()


async def edit_channel(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /channels/{channel_id}: channel settings, overwrites, or thread state."""
    world = sandbox.world
    channel = _channel(sandbox, req)
    body = req.json()
    if channel.type == ChannelType.DM:
        raise WorldError(400, 50003, "Cannot execute action on a DM channel")
    if channel.is_thread:
        bot_perms = world.permissions_in(world.bot_member(), channel)
        owner_only = (
            set(body) <= {"name", "archived", "auto_archive_duration"} and channel.owner_id == world.bot_user.id
        )
        if not (bot_perms & Permission.MANAGE_THREADS or owner_only):
            raise missing_permissions()
        for key in _THREAD_EDITABLE:
            if key in body:
                setattr(channel, key, body[key])
        if "archived" in body:
            channel.archive_timestamp = world.now()
    else:
        world.require(Permission.MANAGE_CHANNELS, channel)
        for key in _EDITABLE:
            if key in body:
                setattr(channel, key, body[key])
        if "parent_id" in body:
            parent = body["parent_id"]
            if parent is not None and world.channel(int(parent)).type != ChannelType.GUILD_CATEGORY:
                raise invalid_form("parent_id", "Not a category", "CHANNEL_PARENT_INVALID_TYPE")
            channel.parent_id = int(parent) if parent is not None else None
        if body.get("permission_overwrites") is not None:
            overwrites = {}
            for entry in body["permission_overwrites"]:
                allow, deny = int(entry.get("allow") or 0), int(entry.get("deny") or 0)
                _check_overwrite_grant(sandbox, channel, allow, deny)
                overwrites[int(entry["id"])] = Overwrite(
                    int(entry["id"]), int(entry.get("type") or 0), Permission(allow), Permission(deny)
                )
            channel.overwrites = overwrites
    sandbox.events.channel_updated(channel)
    sandbox.enforce_voice_permissions(channel)
    return Reply(body=payloads.channel(world, channel))


async def put_overwrite(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT /channels/{channel_id}/permissions/{overwrite_id}."""
    world = sandbox.world
    channel = _channel(sandbox, req)
    if channel.type == ChannelType.DM or channel.is_thread:
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    body = req.json()
    target = req.snowflake("overwrite_id")
    kind = int(body.get("type", 0))
    if kind == 0 and target not in world.guild.roles:
        raise unknown("Role", 10011)
    if kind == 1 and target not in world.users:
        raise unknown("User", 10013)
    allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
    _check_overwrite_grant(sandbox, channel, allow, deny)
    channel.overwrites[target] = Overwrite(target, kind, Permission(allow), Permission(deny))
    sandbox.events.channel_updated(channel)
    sandbox.enforce_voice_permissions(channel)
    return Reply(status=204)


async def delete_overwrite(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /channels/{channel_id}/permissions/{overwrite_id}."""
    channel = _channel(sandbox, req)
    _check_overwrite_grant(sandbox, channel, 0, 0)
    if channel.overwrites.pop(req.snowflake("overwrite_id"), None) is not None:
        sandbox.events.channel_updated(channel)
        sandbox.enforce_voice_permissions(channel)
    return Reply(status=204)


async def create_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /channels/{channel_id}/messages, honouring nonce + enforce_nonce like Discord."""
    world = sandbox.world
    channel = _channel(sandbox, req)
    body = req.json()
    _check_can_send(sandbox, channel, with_files=bool(req.uploads))
    nonce = body.get("nonce")
    if nonce is not None and body.get("enforce_nonce"):
        earlier = world.find_by_nonce(channel.id, world.bot_user.id, nonce)
        if earlier is not None:
            sandbox.nonce_hits.append(earlier.id)
            return Reply(body=payloads.message(world, earlier, sandbox.base_url))
    limiter = sandbox.rate_limiter
    new_conversation = channel.type == ChannelType.DM and _opens_conversation(sandbox, channel)
    if new_conversation and limiter is not None and not limiter.open_new_dm(world.bot_token):
        raise OPENING_DMS_TOO_FAST
    fields = new_message_fields(world, body, req.uploads, settable_flags=SETTABLE_MESSAGE_FLAGS)
    if (
        fields["embeds"]
        and channel.type != ChannelType.DM
        and not world.permissions_in(world.bot_member(), channel) & Permission.EMBED_LINKS
    ):
        fields["embeds"] = []
    reference = body.get("message_reference")
    if reference is not None:
        _check_reference(sandbox, channel, reference)
    message = world.add_message(
        channel,
        world.bot_user.id,
        sandbox.clock(),
        nonce=nonce,
        message_reference=_reference_payload(channel, reference),
        type=19 if reference else 0,
        **fields,
    )
    sandbox.events.message_created(message)
    return Reply(body=payloads.message(world, message, sandbox.base_url))


def _opens_conversation(sandbox: Sandbox, channel: Channel) -> bool:
    """Whether a message of the bot's in this DM would be its first there (a new DM, as Discord counts them)."""
    bot_id = sandbox.world.bot_user.id
    return not any(message.author_id == bot_id for message in sandbox.world.history(channel.id))


def _check_reference(sandbox: Sandbox, channel: Channel, reference: dict[str, Any]) -> None:
    target_id = reference.get("message_id")
    target = sandbox.world.messages.get(int(target_id)) if target_id is not None else None
    if (target is None or target.deleted) and reference.get("fail_if_not_exists", True):
        raise invalid_form("message_reference", "Unknown message", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE")


def _reference_payload(channel: Channel, reference: dict[str, Any] | None) -> dict[str, Any] | None:
    if reference is None or reference.get("message_id") is None:
        return None
    data: dict[str, Any] = {
        "type": 0,
        "message_id": str(reference["message_id"]),
        "channel_id": str(reference.get("channel_id") or channel.id),
    }
    if channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
    return data


def _message(sandbox: Sandbox, req: ApiRequest) -> tuple[Channel, Message]:
    channel = _channel(sandbox, req)
    return channel, sandbox.world.message(channel.id, req.snowflake("message_id"))


async def get_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /channels/{channel_id}/messages/{message_id}."""
    channel, message = _message(sandbox, req)
    _require_in(sandbox, channel, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    if message.ephemeral:
        raise unknown("Message", 10008)
    return Reply(body=payloads.message(sandbox.world, message, sandbox.base_url))


async def edit_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /channels/{channel_id}/messages/{message_id}: the bot edits its own message."""
    world = sandbox.world
    channel, message = _message(sandbox, req)
    body = req.json()
    if message.author_id != world.bot_user.id:
        if set(body) - {"flags"}:
            raise WorldError(403, 50005, "Cannot edit a message authored by another user")
        world.require(Permission.MANAGE_MESSAGES, channel)
    apply_edit(world, message, body, req.uploads, settable_flags=SETTABLE_MESSAGE_FLAGS)
    sandbox.events.message_updated(message)
    return Reply(body=payloads.message(world, message, sandbox.base_url))


async def delete_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /channels/{channel_id}/messages/{message_id}."""
    world = sandbox.world
    channel, message = _message(sandbox, req)
    if message.author_id != world.bot_user.id:
        if channel.type == ChannelType.DM:
            raise WorldError(403, 50003, "Cannot execute action on a DM channel")
        world.require(Permission.MANAGE_MESSAGES, channel)
    message.deleted = True
    sandbox.events.message_deleted(message)
    return Reply(status=204)


async def list_messages(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /channels/{channel_id}/messages: newest first, with before / after / around and limit."""
    world = sandbox.world
    channel = _channel(sandbox, req)
    _require_in(sandbox, channel, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
    limit = req.query_int("limit", 50)
    if not 1 <= limit <= 100:
        raise invalid_form("limit", "int value should be less than or equal to 100.", "NUMBER_TYPE_MAX")
    history = world.history(channel.id)
    if "after" in req.query:
        after = int(req.query["after"])
        chosen = [m for m in history if m.id > after][:limit]
    elif "around" in req.query:
        around = int(req.query["around"])
        older = [m for m in history if m.id <= around]
        newer = [m for m in history if m.id > around]
        half = limit // 2
        chosen = older[-(limit - half) :] + newer[:half]
    else:
        before = int(req.query["before"]) if "before" in req.query else None
        chosen = [m for m in history if before is None or m.id < before][-limit:]
    chosen.sort(key=lambda m: m.id, reverse=True)
    return Reply(body=[payloads.message(world, m, sandbox.base_url) for m in chosen])


async def typing(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /channels/{channel_id}/typing."""
    channel = _channel(sandbox, req)
    _check_can_send(sandbox, channel, with_files=False)
    return Reply(status=204)


_ARCHIVE_DURATIONS = frozenset({60, 1440, 4320, 10080})


def _thread_settings(body: dict[str, Any]) -> dict[str, Any]:
    duration = int(body.get("auto_archive_duration") or 1440)
    if duration not in _ARCHIVE_DURATIONS:
        raise invalid_form(
            "auto_archive_duration", "Value must be one of {60, 1440, 4320, 10080}.", "BASE_TYPE_CHOICES"
        )
    return {
        "auto_archive_duration": duration,
        "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
    }


async def thread_from_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /channels/{channel_id}/messages/{message_id}/threads: the thread's id is the message's id."""
    world = sandbox.world
    channel, message = _message(sandbox, req)
    if channel.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    world.require(Permission.VIEW_CHANNEL | Permission.CREATE_PUBLIC_THREADS, channel)
    if message.id in world.guild.channels:
        raise WorldError(400, 160004, "A thread has already been created for this message")
    body = req.json()
    kind = (
        ChannelType.ANNOUNCEMENT_THREAD if channel.type == ChannelType.GUILD_ANNOUNCEMENT else ChannelType.PUBLIC_THREAD
    )
    thread = world.create_thread(
        channel,
        str(body.get("name") or ""),
        world.bot_user.id,
        type=kind,
        thread_id=message.id,
        **_thread_settings(body),
    )
    sandbox.events.thread_created(thread)
    return Reply(status=201, body=payloads.channel(world, thread))


async def thread_without_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /channels/{channel_id}/threads (private unless `type` says otherwise)."""
    world = sandbox.world
    channel = _channel(sandbox, req)
    if channel.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    body = req.json()
    kind = ChannelType(int(body.get("type") or ChannelType.PRIVATE_THREAD))
    if kind not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD, ChannelType.ANNOUNCEMENT_THREAD):
        raise invalid_form("type", "Not a thread type", "BASE_TYPE_CHOICES")
    needed = (
        Permission.CREATE_PRIVATE_THREADS if kind == ChannelType.PRIVATE_THREAD else Permission.CREATE_PUBLIC_THREADS
    )
    world.require(Permission.VIEW_CHANNEL | needed, channel)
    thread = world.create_thread(
        channel,
        str(body.get("name") or ""),
        world.bot_user.id,
        type=kind,
        invitable=bool(body.get("invitable", True)),
        **_thread_settings(body),
    )
    sandbox.events.thread_created(thread)
    data = payloads.channel(world, thread)
    data["member"] = payloads.thread_member(thread.thread_members[world.bot_user.id], thread.id)
    return Reply(status=201, body=data)


def _thread(sandbox: Sandbox, req: ApiRequest) -> Channel:
    thread = _channel(sandbox, req)
    if not thread.is_thread:
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    return thread


async def join_thread(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT /channels/{channel_id}/thread-members/@me."""
    world = sandbox.world
    thread = _thread(sandbox, req)
    if thread.archived:
        raise WorldError(400, 50083, "Thread is archived")
    world.require(Permission.VIEW_CHANNEL, thread)
    if thread.type == ChannelType.PRIVATE_THREAD and world.bot_user.id not in thread.thread_members:
        world.require(Permission.MANAGE_THREADS, thread)
    return _add_thread_member(sandbox, thread, world.bot_user.id)


async def add_thread_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT /channels/{channel_id}/thread-members/{user_id}."""
    world = sandbox.world
    thread = _thread(sandbox, req)
    if thread.archived:
        raise WorldError(400, 50083, "Thread is archived")
    world.require(Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES_IN_THREADS, thread)
    if thread.type == ChannelType.PRIVATE_THREAD and world.bot_user.id not in thread.thread_members:
        world.require(Permission.MANAGE_THREADS, thread)
    user_id = world.member(req.snowflake("user_id")).id
    return _add_thread_member(sandbox, thread, user_id)


def _add_thread_member(sandbox: Sandbox, thread: Channel, user_id: int) -> Reply:
    if user_id not in thread.thread_members:
        thread.thread_members[user_id] = ThreadMember(user_id, sandbox.world.now())
        sandbox.events.thread_members_changed(thread, added=[user_id])
    return Reply(status=204)


async def leave_thread(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /channels/{channel_id}/thread-members/@me."""
    return _remove_thread_member(sandbox, _thread(sandbox, req), sandbox.world.bot_user.id)


async def remove_thread_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /channels/{channel_id}/thread-members/{user_id}."""
    world = sandbox.world
    thread = _thread(sandbox, req)
    if thread.owner_id != world.bot_user.id:
        world.require(Permission.MANAGE_THREADS, thread)
    return _remove_thread_member(sandbox, thread, req.snowflake("user_id"))


def _remove_thread_member(sandbox: Sandbox, thread: Channel, user_id: int) -> Reply:
    if thread.thread_members.pop(user_id, None) is not None:
        sandbox.events.thread_members_changed(thread, removed=[user_id])
    return Reply(status=204)


async def list_thread_members(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /channels/{channel_id}/thread-members."""
    thread = _thread(sandbox, req)
    return Reply(body=[payloads.thread_member(t, thread.id) for t in thread.thread_members.values()])


async def get_thread_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /channels/{channel_id}/thread-members/{user_id}."""
    thread = _thread(sandbox, req)
    found = thread.thread_members.get(req.snowflake("user_id"))
    if found is None:
        raise unknown("Member", 10007)
    return Reply(body=payloads.thread_member(found, thread.id))


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/channels/{channel_id}", get_channel)
    router.add("PATCH", "/channels/{channel_id}", edit_channel)
    router.add("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", put_overwrite)
    router.add("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}", delete_overwrite)
    router.add("GET", "/channels/{channel_id}/messages", list_messages)
    router.add("POST", "/channels/{channel_id}/messages", create_message)
    router.add("GET", "/channels/{channel_id}/messages/{message_id}", get_message)
    router.add("PATCH", "/channels/{channel_id}/messages/{message_id}", edit_message)
    router.add("DELETE", "/channels/{channel_id}/messages/{message_id}", delete_message)
    router.add("POST", "/channels/{channel_id}/typing", typing)
    router.add("POST", "/channels/{channel_id}/messages/{message_id}/threads", thread_from_message)
    router.add("POST", "/channels/{channel_id}/threads", thread_without_message)
    router.add("GET", "/channels/{channel_id}/thread-members", list_thread_members)
    router.add("PUT", "/channels/{channel_id}/thread-members/@me", join_thread)
    router.add("DELETE", "/channels/{channel_id}/thread-members/@me", leave_thread)
    router.add("GET", "/channels/{channel_id}/thread-members/{user_id}", get_thread_member)
    router.add("PUT", "/channels/{channel_id}/thread-members/{user_id}", add_thread_member)
    router.add("DELETE", "/channels/{channel_id}/thread-members/{user_id}", remove_thread_member)
