"""The guild: members (nick, roles, mute, deaf, moves), roles, voice states, Stage instances, events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loopback import payloads
from loopback.rest import ApiRequest, Reply, Router
from loopback.rules import event_started
from loopback.world import (
    ALLOWED_EVENT_TRANSITIONS,
    STAGE_MODERATOR,
    ApplicationFlag,
    ChannelType,
    EntityType,
    EventStatus,
    Member,
    Permission,
    ScheduledEvent,
    StageInstance,
    WorldError,
    invalid_form,
    missing_access,
    missing_permissions,
    unknown,
)

if TYPE_CHECKING:
    from loopback.server import Sandbox

NOT_IN_VOICE = (400, 40032, "Target user is not connected to voice.")


def _guild(sandbox: Sandbox, req: ApiRequest) -> None:
    sandbox.world.require_guild(req.snowflake("guild_id"))


def _time(value: Any, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid_form(field_name, "Could not parse date-time.", "DATE_TIME_TYPE_PARSE") from None
    # Discord reads a time without an offset as UTC (discord.py sends one for request_to_speak).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---- guild, channels, roles ------------------------------------------------------------------


async def get_guild(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}."""
    _guild(sandbox, req)
    data = payloads.guild(sandbox.world)
    if req.flag("with_counts"):
        data |= {
            "approximate_member_count": len(sandbox.world.guild.members),
            "approximate_presence_count": 0,
        }
    return Reply(body=data)


async def list_channels(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/channels (threads are not listed here)."""
    _guild(sandbox, req)
    world = sandbox.world
    return Reply(body=[payloads.channel(world, c) for c in world.guild.channels.values() if not c.is_thread])


async def list_roles(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/roles."""
    _guild(sandbox, req)
    return Reply(body=[payloads.role(r) for r in sandbox.world.guild.roles.values()])


# ---- members --------------------------------------------------------------------------------


async def get_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/members/{user_id}."""
    guild = sandbox.world.require_guild(req.snowflake("guild_id"), first_only=False)
    return Reply(body=payloads.member(sandbox.world, sandbox.world.member(req.snowflake("user_id"), guild)))


async def list_members(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/members: needs the Server Members intent switched on for the application."""
    _guild(sandbox, req)
    world = sandbox.world
    if not world.application.allows(
        ApplicationFlag.GATEWAY_GUILD_MEMBERS, ApplicationFlag.GATEWAY_GUILD_MEMBERS_LIMITED
    ):
        raise missing_access()
    limit = req.query_int("limit", 1)
    if not 1 <= limit <= 1000:
        raise invalid_form("limit", "int value should be less than or equal to 1000.", "NUMBER_TYPE_MAX")
    after = req.query_int("after", 0)
    members = sorted((m for m in world.guild.members.values() if m.id > after), key=lambda m: m.id)[:limit]
    return Reply(body=[payloads.member(world, m) for m in members])


def _outranks(sandbox: Sandbox, target: Member) -> bool:
    """Whether the bot's highest role is above the target's (the owner outranks everyone)."""
    world = sandbox.world
    if target.id == world.guild.owner_id:
        return False
    if target.id == world.bot_user.id:
        return True
    return world.top_role_position(world.bot_member()) > world.top_role_position(target)


async def edit_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /guilds/{guild_id}/members/{user_id}: nick, roles, mute, deaf, move or disconnect, timeout.

    In another guild than the first, only the voice fields (mute, deaf, channel_id) are modelled.
    """
    world = sandbox.world
    guild = world.require_guild(req.snowflake("guild_id"), first_only=False)
    target = world.member(req.snowflake("user_id"), guild)
    body = req.json()
    if guild is not world.guild and set(body) - {"mute", "deaf", "channel_id"}:
        world.require_guild(guild.id)  # the sandbox's 500: modelled for the first guild only
    member_changed = voice_changed = False
    state = world.voice_state(target.id, guild)
    if "nick" in body:
        needed = Permission.CHANGE_NICKNAME if target.id == world.bot_user.id else Permission.MANAGE_NICKNAMES
        world.require(needed)
        if not _outranks(sandbox, target):
            raise missing_permissions()
        target.nick = body["nick"] or None
        member_changed = True
    if "roles" in body:
        target.roles = _checked_roles(sandbox, target, [int(r) for r in body["roles"] or []])
        member_changed = True
    if "communication_disabled_until" in body:
        world.require(Permission.MODERATE_MEMBERS)
        if not _outranks(sandbox, target) or world.base_permissions(target) & Permission.ADMINISTRATOR:
            raise missing_permissions()
        until = body["communication_disabled_until"]
        target.communication_disabled_until = _time(until, "communication_disabled_until") if until else None
        member_changed = True
    for key, needed in (("mute", Permission.MUTE_MEMBERS), ("deaf", Permission.DEAFEN_MEMBERS)):
        if key in body and body[key] is not None:
            if state is None:
                raise WorldError(*NOT_IN_VOICE)
            world.require(needed, world.channel(state.channel_id))
            setattr(target, key, bool(body[key]))
            setattr(state, key, bool(body[key]))
            member_changed = voice_changed = True
    left = None
    if "channel_id" in body:
        if state is None:
            raise WorldError(*NOT_IN_VOICE)
        world.require(Permission.MOVE_MEMBERS, world.channel(state.channel_id))
        if body["channel_id"] is None:
            left = world.leave_voice(target.id, guild)
        else:
            destination = world.channel(int(body["channel_id"]))
            if not destination.is_voice:
                raise WorldError(400, 50024, "Cannot execute action on this channel type")
            world.require(Permission.MOVE_MEMBERS, destination)
            if not world.permissions_in(target, destination) & Permission.CONNECT:
                raise missing_permissions()
            state = world.join_voice(
                target.id, destination, state.session_id, self_mute=state.self_mute, self_deaf=state.self_deaf
            )
            voice_changed = True
    if member_changed:
        sandbox.events.member_updated(target)
    if left is not None:
        sandbox.events.voice_state_changed(left, left=True)
        await sandbox.voice_left(target.id)
    elif voice_changed and state is not None:
        sandbox.events.voice_state_changed(state)
    return Reply(body=payloads.member(world, target))


def _checked_roles(sandbox: Sandbox, target: Member, wanted: list[int]) -> list[int]:
    world = sandbox.world
    world.require(Permission.MANAGE_ROLES)
    bot_top = world.top_role_position(world.bot_member())
    is_owner = world.bot_user.id == world.guild.owner_id
    for role_id in set(wanted) ^ set(target.roles):
        role = world.guild.roles.get(role_id)
        if role is None:
            raise unknown("Role", 10011)
        if role.id == world.guild.id or role.managed:
            raise missing_permissions()
        if role.position >= bot_top and not is_owner:
            raise missing_permissions()
    return list(dict.fromkeys(wanted))


async def edit_current_member(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /guilds/{guild_id}/members/@me (the bot's own nick)."""
    _guild(sandbox, req)
    world = sandbox.world
    body = req.json()
    me = world.bot_member()
    if "nick" in body:
        world.require(Permission.CHANGE_NICKNAME)
        me.nick = body["nick"] or None
        sandbox.events.member_updated(me)
    return Reply(body=payloads.member(world, me))


async def add_member_role(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
    _guild(sandbox, req)
    target = sandbox.world.member(req.snowflake("user_id"))
    role_id = req.snowflake("role_id")
    if role_id not in target.roles:
        target.roles = _checked_roles(sandbox, target, [*target.roles, role_id])
        sandbox.events.member_updated(target)
    return Reply(status=204)


async def remove_member_role(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}."""
    _guild(sandbox, req)
    target = sandbox.world.member(req.snowflake("user_id"))
    role_id = req.snowflake("role_id")
    if role_id in target.roles:
        target.roles = _checked_roles(sandbox, target, [r for r in target.roles if r != role_id])
        sandbox.events.member_updated(target)
    return Reply(status=204)


# ---- voice states (Stage speakers and requests to speak) --------------------------------------


async def get_voice_state(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/voice-states/@me|{user_id}."""
    _guild(sandbox, req)
    world = sandbox.world
    user_id = world.bot_user.id if "user_id" not in req.params else req.snowflake("user_id")
    state = world.voice_state(user_id)
    if state is None:
        raise unknown("Voice State", 10065)
    return Reply(body=payloads.voice_state(world, state))


async def edit_voice_state(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /guilds/{guild_id}/voice-states/@me|{user_id}: Stage suppress; request-to-speak for @me only.

    For another user Discord takes only channel_id and suppress; discord.py also sends
    request_to_speak_timestamp there, which Discord ignores, and so does the sandbox.
    """
    _guild(sandbox, req)
    world = sandbox.world
    own = "user_id" not in req.params
    user_id = world.bot_user.id if own else req.snowflake("user_id")
    body = req.json()
    state = world.voice_state(user_id)
    channel_id = body.get("channel_id")
    if state is None or (channel_id is not None and int(channel_id) != state.channel_id):
        raise WorldError(*NOT_IN_VOICE)
    channel = world.channel(state.channel_id)
    if channel.type != ChannelType.GUILD_STAGE_VOICE:
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    if "suppress" in body and body["suppress"] is not None:
        suppress = bool(body["suppress"])
        if not suppress or not own:
            world.require(Permission.MUTE_MEMBERS, channel)
        state.suppress = suppress
        if not suppress:
            state.request_to_speak_timestamp = None
    if own and "request_to_speak_timestamp" in body:
        stamp = body["request_to_speak_timestamp"]
        if stamp is not None:
            world.require(Permission.REQUEST_TO_SPEAK, channel)
        state.request_to_speak_timestamp = _time(stamp, "request_to_speak_timestamp") if stamp else None
    sandbox.events.voice_state_changed(state)
    return Reply(status=204)


# ---- Stage instances --------------------------------------------------------------------------


async def create_stage_instance(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /stage-instances: open a Stage (the bot must be a Stage moderator there)."""
    world = sandbox.world
    body = req.json()
    channel = world.channel(int(body["channel_id"]))
    if channel.type != ChannelType.GUILD_STAGE_VOICE:
        raise WorldError(400, 50024, "Cannot execute action on this channel type")
    world.require(STAGE_MODERATOR, channel)
    if body.get("send_start_notification"):
        world.require(Permission.MENTION_EVERYONE, channel)
    if channel.id in world.guild.stage_instances:
        raise WorldError(400, 150006, "A Stage instance already exists for this channel")
    event_id = body.get("guild_scheduled_event_id")
    if event_id is not None:
        event = world.scheduled_event(int(event_id))
        if event.entity_type != EntityType.STAGE_INSTANCE or event.channel_id != channel.id:
            raise invalid_form("guild_scheduled_event_id", "Event is not for this Stage", "BASE_TYPE_BAD_VALUE")
        if event.status not in (EventStatus.SCHEDULED, EventStatus.ACTIVE):
            raise invalid_form("guild_scheduled_event_id", "Event is already finished", "BASE_TYPE_BAD_VALUE")
    privacy = int(body.get("privacy_level") or 2)
    if privacy != 2:
        raise invalid_form("privacy_level", "Public Stages are no longer supported", "BASE_TYPE_CHOICES")
    instance = StageInstance(
        id=world.snowflakes.next(),
        channel_id=channel.id,
        topic=str(body.get("topic") or ""),
        privacy_level=privacy,
        guild_scheduled_event_id=int(event_id) if event_id else None,
    )
    world.guild.stage_instances[channel.id] = instance
    sandbox.events.stage_instance("CREATE", instance)
    return Reply(body=payloads.stage_instance(world, instance))


async def get_stage_instance(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /stage-instances/{channel_id}."""
    world = sandbox.world
    return Reply(body=payloads.stage_instance(world, world.stage_instance_for(req.snowflake("channel_id"))))


async def edit_stage_instance(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /stage-instances/{channel_id}."""
    world = sandbox.world
    instance = world.stage_instance_for(req.snowflake("channel_id"))
    world.require(STAGE_MODERATOR, world.channel(instance.channel_id))
    body = req.json()
    if "topic" in body:
        instance.topic = str(body["topic"])
    if body.get("privacy_level") is not None:
        instance.privacy_level = int(body["privacy_level"])
    sandbox.events.stage_instance("UPDATE", instance)
    return Reply(body=payloads.stage_instance(world, instance))


async def delete_stage_instance(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /stage-instances/{channel_id}."""
    world = sandbox.world
    instance = world.stage_instance_for(req.snowflake("channel_id"))
    world.require(STAGE_MODERATOR, world.channel(instance.channel_id))
    del world.guild.stage_instances[instance.channel_id]
    sandbox.events.stage_instance("DELETE", instance)
    return Reply(status=204)


# ---- scheduled events ----------------------------------------------------------------------


def _require_event_permission(sandbox: Sandbox, event: ScheduledEvent | None, channel_id: int | None) -> None:
    """MANAGE_EVENTS, or CREATE_EVENTS for events the bot creates itself (in the channel, if any)."""
    world = sandbox.world
    bot = world.bot_member()
    channel = world.channel(channel_id) if channel_id else None
    have = world.permissions_in(bot, channel) if channel is not None else world.base_permissions(bot)
    if have & Permission.MANAGE_EVENTS:
        return
    own = event is None or event.creator_id == world.bot_user.id
    if own and have & Permission.CREATE_EVENTS:
        return
    raise missing_permissions()


def _apply_event_fields(sandbox: Sandbox, event: ScheduledEvent, body: dict[str, Any], *, creating: bool) -> None:
    world = sandbox.world
    if "name" in body:
        event.name = str(body["name"])
    if "description" in body:
        event.description = body["description"]
    if body.get("privacy_level") is not None:
        event.privacy_level = int(body["privacy_level"])
    if "image" in body:
        event.image = "sandbox-image" if body["image"] else None
    if "recurrence_rule" in body:
        event.recurrence_rule = body["recurrence_rule"]
    if body.get("entity_type") is not None:
        event.entity_type = EntityType(int(body["entity_type"]))
    if "channel_id" in body:
        event.channel_id = int(body["channel_id"]) if body["channel_id"] is not None else None
    if "entity_metadata" in body:
        event.location = (body["entity_metadata"] or {}).get("location")
    if body.get("scheduled_start_time") is not None:
        start = _time(body["scheduled_start_time"], "scheduled_start_time")
        if start <= world.now() and (creating or event.status == EventStatus.SCHEDULED):
            raise invalid_form(
                "scheduled_start_time",
                "Cannot schedule event in the past.",
                "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
            )
        event.scheduled_start_time = start
    if "scheduled_end_time" in body:
        end = body["scheduled_end_time"]
        event.scheduled_end_time = _time(end, "scheduled_end_time") if end is not None else None
    _check_event(sandbox, event)


def _check_event(sandbox: Sandbox, event: ScheduledEvent) -> None:
    world = sandbox.world
    if event.entity_type == EntityType.EXTERNAL:
        if event.channel_id is not None:
            raise invalid_form("channel_id", "External events cannot have a channel", "BASE_TYPE_BAD_VALUE")
        if not event.location:
            raise invalid_form("entity_metadata.location", "This field is required", "BASE_TYPE_REQUIRED")
        if event.scheduled_end_time is None:
            raise invalid_form("scheduled_end_time", "This field is required", "BASE_TYPE_REQUIRED")
    else:
        if event.channel_id is None:
            raise invalid_form("channel_id", "This field is required", "BASE_TYPE_REQUIRED")
        wanted = (
            ChannelType.GUILD_STAGE_VOICE if event.entity_type == EntityType.STAGE_INSTANCE else ChannelType.GUILD_VOICE
        )
        if world.channel(event.channel_id).type != wanted:
            raise invalid_form("channel_id", "Channel type does not match the entity type", "CHANNEL_TYPE_INVALID")
    if event.scheduled_end_time is not None and event.scheduled_end_time <= event.scheduled_start_time:
        raise invalid_form(
            "scheduled_end_time",
            "End time must be after the start time",
            "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
        )


async def create_event(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /guilds/{guild_id}/scheduled-events."""
    _guild(sandbox, req)
    world = sandbox.world
    body = req.json()
    channel_id = int(body["channel_id"]) if body.get("channel_id") is not None else None
    _require_event_permission(sandbox, None, channel_id)
    event = ScheduledEvent(
        id=world.snowflakes.next(),
        name="",
        scheduled_start_time=world.now(),
        entity_type=EntityType(int(body.get("entity_type") or 3)),
        creator_id=world.bot_user.id,
    )
    _apply_event_fields(sandbox, event, body, creating=True)
    world.guild.scheduled_events[event.id] = event
    sandbox.events.scheduled_event("CREATE", event)
    return Reply(body=payloads.scheduled_event(world, event))


async def list_events(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/scheduled-events."""
    _guild(sandbox, req)
    world = sandbox.world
    counts = req.flag("with_user_count")
    return Reply(
        body=[payloads.scheduled_event(world, e, with_user_count=counts) for e in world.guild.scheduled_events.values()]
    )


async def get_event(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}."""
    _guild(sandbox, req)
    world = sandbox.world
    event = world.scheduled_event(req.snowflake("guild_scheduled_event_id"))
    return Reply(body=payloads.scheduled_event(world, event, with_user_count=req.flag("with_user_count")))


async def edit_event(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id} (incl. status transitions)."""
    _guild(sandbox, req)
    world = sandbox.world
    event = world.scheduled_event(req.snowflake("guild_scheduled_event_id"))
    body = req.json()
    _require_event_permission(sandbox, event, event.channel_id)
    if event.status in (EventStatus.COMPLETED, EventStatus.CANCELED):
        raise invalid_form("status", "Event is already finished", "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION")
    new_status = EventStatus(int(body["status"])) if body.get("status") is not None else event.status
    if new_status != event.status and (event.status, new_status) not in ALLOWED_EVENT_TRANSITIONS:
        raise invalid_form(
            "status",
            f"Cannot go from {event.status.name} to {new_status.name}",
            "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
        )
    fields = {k: v for k, v in body.items() if k != "status"}
    _apply_event_fields(sandbox, event, fields, creating=False)
    started = event.status == EventStatus.SCHEDULED and new_status == EventStatus.ACTIVE
    event.status = new_status
    if started:
        event_started(world, event)
    sandbox.events.scheduled_event("UPDATE", event)
    return Reply(body=payloads.scheduled_event(world, event))


async def delete_event(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}."""
    _guild(sandbox, req)
    world = sandbox.world
    event = world.scheduled_event(req.snowflake("guild_scheduled_event_id"))
    _require_event_permission(sandbox, event, event.channel_id)
    del world.guild.scheduled_events[event.id]
    sandbox.events.scheduled_event("DELETE", event)
    return Reply(status=204)


async def list_event_users(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET .../scheduled-events/{id}/users: interested people by user id, with their members if asked."""
    _guild(sandbox, req)
    world = sandbox.world
    event = world.scheduled_event(req.snowflake("guild_scheduled_event_id"))
    limit = req.query_int("limit", 100)
    if not 1 <= limit <= 100:
        raise invalid_form("limit", "int value should be less than or equal to 100.", "NUMBER_TYPE_MAX")
    ids = sorted(event.interested)
    if "before" in req.query:
        ids = [u for u in ids if u < int(req.query["before"])][-limit:]
    else:
        after = req.query_int("after", 0)
        ids = [u for u in ids if u > after][:limit]
    with_member = req.flag("with_member")
    body = []
    for user_id in ids:
        entry: dict[str, Any] = {
            "guild_scheduled_event_id": str(event.id),
            "user_id": str(user_id),
            "user": payloads.user(world.users[user_id]),
            "response": 1,
        }
        if with_member and user_id in world.guild.members:
            entry["member"] = payloads.member(world, world.guild.members[user_id], with_user=False)
        body.append(entry)
    return Reply(body=body)


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/guilds/{guild_id}", get_guild)
    router.add("GET", "/guilds/{guild_id}/channels", list_channels)
    router.add("GET", "/guilds/{guild_id}/roles", list_roles)
    router.add("GET", "/guilds/{guild_id}/members", list_members)
    router.add("PATCH", "/guilds/{guild_id}/members/@me", edit_current_member)
    router.add("GET", "/guilds/{guild_id}/members/{user_id}", get_member)
    router.add("PATCH", "/guilds/{guild_id}/members/{user_id}", edit_member)
    router.add("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", add_member_role)
    router.add("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", remove_member_role)
    for template in ("/guilds/{guild_id}/voice-states/@me", "/guilds/{guild_id}/voice-states/{user_id}"):
        router.add("GET", template, get_voice_state)
        router.add("PATCH", template, edit_voice_state)
    router.add("POST", "/stage-instances", create_stage_instance)
    router.add("GET", "/stage-instances/{channel_id}", get_stage_instance)
    router.add("PATCH", "/stage-instances/{channel_id}", edit_stage_instance)
    router.add("DELETE", "/stage-instances/{channel_id}", delete_stage_instance)
    events = "/guilds/{guild_id}/scheduled-events"
    router.add("GET", events, list_events)
    router.add("POST", events, create_event)
    router.add("GET", events + "/{guild_scheduled_event_id}", get_event)
    router.add("PATCH", events + "/{guild_scheduled_event_id}", edit_event)
    router.add("DELETE", events + "/{guild_scheduled_event_id}", delete_event)
    router.add("GET", events + "/{guild_scheduled_event_id}/users", list_event_users)
