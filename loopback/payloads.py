"""Discord JSON shapes for the world's objects (REST API v10 and gateway v10).

Field sets follow Discord's OpenAPI description (`*Response` schemas) and what discord.py parses.
Ids are strings, timestamps ISO 8601 with an explicit UTC offset.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from loopback.world import (
    Attachment,
    Channel,
    ChannelType,
    EntityType,
    Guild,
    InteractionRecord,
    Member,
    Message,
    Overwrite,
    Role,
    ScheduledEvent,
    StageInstance,
    ThreadMember,
    User,
    VoiceState,
    World,
)

Json = dict[str, Any]

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with microseconds and +00:00, as Discord writes timestamps."""
    return None if moment is None else moment.isoformat(timespec="microseconds")


def sid(value: int | None) -> str | None:
    """A snowflake as Discord sends it: a string (or null)."""
    return None if value is None else str(value)


def user(u: User) -> Json:
    """A user object."""
    return {
        "id": str(u.id),
        "username": u.username,
        "global_name": u.global_name,
        "discriminator": "0",
        "avatar": u.avatar,
        "public_flags": 0,
        "flags": 0,
        "bot": u.bot,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }


def current_user(world: World) -> Json:
    """GET /users/@me for the bot (the PII-bearing variant)."""
    return user(world.bot_user) | {"mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}


def member(world: World, m: Member, *, with_user: bool = True, permissions_in: Channel | None = None) -> Json:
    """A guild member object (optionally with channel-resolved `permissions`, as interactions carry)."""
    data: Json = {
        "roles": [str(r) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": m.deaf,
        "mute": m.mute,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": iso(m.communication_disabled_until),
    }
    if with_user:
        data["user"] = user(m.user)
    if permissions_in is not None:
        data["permissions"] = str(int(world.permissions_in(m, permissions_in)))
    return data


def role(r: Role) -> Json:
    """A role object."""
    data: Json = {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(int(r.permissions)),
        "position": r.position,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": None, "tertiary_color": None},
        "hoist": r.hoist,
        "managed": r.managed,
        "mentionable": r.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def overwrite(o: Overwrite) -> Json:
    """A permission overwrite."""
    return {"id": str(o.id), "type": o.type, "allow": str(int(o.allow)), "deny": str(int(o.deny))}


def thread_member(t: ThreadMember, thread_id: int) -> Json:
    """A thread member object."""
    return {
        "id": str(thread_id),
        "user_id": str(t.user_id),
        "join_timestamp": iso(t.join_timestamp),
        "flags": 0,
    }


def channel(world: World, c: Channel) -> Json:
    """A channel object of whatever type `c` is."""
    if c.type == ChannelType.DM:
        return {
            "id": str(c.id),
            "type": int(c.type),
            "last_message_id": sid(c.last_message_id),
            "flags": 0,
            "recipients": [user(world.users[u]) for u in c.recipient_ids if u in world.users],
        }
    data: Json = {
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild_id),
        "name": c.name,
        "parent_id": sid(c.parent_id),
        "flags": 0,
        "nsfw": c.nsfw,
    }
    if c.is_thread:
        data |= {
            "owner_id": sid(c.owner_id),
            "last_message_id": sid(c.last_message_id),
            "rate_limit_per_user": c.rate_limit_per_user,
            "message_count": c.message_count,
            "member_count": min(len(c.thread_members), 50),
            "total_message_sent": c.total_message_sent,
            "thread_metadata": {
                "archived": c.archived,
                "archive_timestamp": iso(c.archive_timestamp),
                "auto_archive_duration": c.auto_archive_duration,
                "locked": c.locked,
                "create_timestamp": iso(c.created_at),
                **({"invitable": c.invitable} if c.type == ChannelType.PRIVATE_THREAD else {}),
            },
        }
        return data
    data |= {
        "position": c.position,
        "permission_overwrites": [overwrite(o) for o in c.overwrites.values()],
    }
    if c.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
        data |= {
            "topic": c.topic,
            "last_message_id": sid(c.last_message_id),
            "rate_limit_per_user": c.rate_limit_per_user,
            "default_auto_archive_duration": 1440,
            "default_thread_rate_limit_per_user": 0,
        }
    elif c.is_voice:
        data |= {
            "bitrate": c.bitrate,
            "user_limit": c.user_limit,
            "rtc_region": c.rtc_region,
            "last_message_id": sid(c.last_message_id),
            "rate_limit_per_user": c.rate_limit_per_user,
        }
        if c.type == ChannelType.GUILD_VOICE:
            data["video_quality_mode"] = 1
        else:
            data["topic"] = c.topic
    return data


def partial_channel(world: World, c: Channel, viewer: Member | None) -> Json:
    """A channel as it appears in interaction `resolved` data (with the viewer's permissions)."""
    data = channel(world, c)
    if viewer is not None:
        data["permissions"] = str(int(world.permissions_in(viewer, c)))
    return data


def voice_state(world: World, v: VoiceState, *, with_member: bool = True, with_guild: bool = True) -> Json:
    """A voice state (GUILD_CREATE omits guild_id and member)."""
    data: Json = {
        "channel_id": sid(v.channel_id),
        "user_id": str(v.user_id),
        "session_id": v.session_id,
        "deaf": v.deaf,
        "mute": v.mute,
        "self_deaf": v.self_deaf,
        "self_mute": v.self_mute,
        "self_video": v.self_video,
        "self_stream": v.self_stream,
        "suppress": v.suppress,
        "request_to_speak_timestamp": iso(v.request_to_speak_timestamp),
    }
    guild = world.guild_of(world.channel(v.channel_id))
    if with_guild:
        data["guild_id"] = str(guild.id)
    if with_member and v.user_id in guild.members:
        data["member"] = member(world, guild.members[v.user_id])
    return data


def left_voice(world: World, v: VoiceState) -> Json:
    """The VOICE_STATE_UPDATE sent when someone leaves voice (channel_id null)."""
    data = voice_state(world, v)
    data["channel_id"] = None
    data["suppress"] = False
    data["request_to_speak_timestamp"] = None
    return data


def stage_instance(world: World, s: StageInstance) -> Json:
    """A Stage instance."""
    return {
        "id": str(s.id),
        "guild_id": str(world.guild.id),
        "channel_id": str(s.channel_id),
        "topic": s.topic,
        "privacy_level": s.privacy_level,
        "discoverable_disabled": s.discoverable_disabled,
        "guild_scheduled_event_id": sid(s.guild_scheduled_event_id),
    }


def scheduled_event(world: World, e: ScheduledEvent, *, with_user_count: bool = False) -> Json:
    """A guild scheduled event."""
    data: Json = {
        "id": str(e.id),
        "guild_id": str(world.guild.id),
        "name": e.name,
        "description": e.description,
        "channel_id": sid(e.channel_id),
        "creator_id": sid(e.creator_id),
        "image": e.image,
        "scheduled_start_time": iso(e.scheduled_start_time),
        "scheduled_end_time": iso(e.scheduled_end_time),
        "status": int(e.status),
        "entity_type": int(e.entity_type),
        "entity_id": None,
        "recurrence_rule": e.recurrence_rule,
        "privacy_level": e.privacy_level,
        "guild_scheduled_event_exceptions": [],
        "entity_metadata": {"location": e.location} if e.entity_type == EntityType.EXTERNAL else None,
    }
    if e.creator_id is not None and e.creator_id in world.users:
        data["creator"] = user(world.users[e.creator_id])
    if e.entity_type == EntityType.STAGE_INSTANCE:
        instance = world.guild.stage_instances.get(e.channel_id or 0)
        data["entity_id"] = sid(instance.id) if instance else None
    if with_user_count:
        data["user_count"] = len(e.interested)
    return data


def attachment(world: World, a: Attachment, channel_id: int, base_url: str) -> Json:
    """An attachment, with a URL the sandbox itself serves."""
    url = f"{base_url}/attachments/{channel_id}/{a.id}/{a.filename}"
    data: Json = {"id": str(a.id), "filename": a.filename, "size": a.size, "url": url, "proxy_url": url}
    if a.content_type:
        data["content_type"] = a.content_type
    if a.description:
        data["description"] = a.description
    return data


def upload(world: World, a: Attachment, base_url: str) -> Json:
    """A file uploaded with a slash command, as `data.resolved.attachments` carries it: signed, expiring links."""
    path = world.upload_path(a)
    data: Json = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": f"{base_url}{path}",
        # Discord's media proxy serves the same file under another host; here, under /media.
        "proxy_url": f"{base_url}/media{path}",
        "ephemeral": True,
    }
    if a.content_type:
        data["content_type"] = a.content_type
    return data


def mentions(world: World, m: Message) -> tuple[list[int], list[int], bool]:
    """User ids, role ids and @everyone that the message actually mentions, after allowed_mentions."""
    allowed = m.allowed_mentions
    parse = set(allowed.get("parse") or []) if allowed is not None else {"users", "roles", "everyone"}
    allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    users = [int(u) for u in _USER_MENTION.findall(m.content) if int(u) in world.users]
    users = [u for u in dict.fromkeys(users) if "users" in parse or u in allowed_users]
    replied_to = (allowed or {}).get("replied_user", allowed is None)
    if m.message_reference and replied_to:
        target = world.messages.get(int(m.message_reference.get("message_id") or 0))
        if target and target.author_id not in users:
            users.append(target.author_id)
    roles = [int(r) for r in _ROLE_MENTION.findall(m.content) if int(r) in world.guild.roles]
    roles = [r for r in dict.fromkeys(roles) if "roles" in parse or r in allowed_roles]
    everyone = "everyone" in parse and ("@everyone" in m.content or "@here" in m.content)
    return users, roles, everyone


def message(world: World, m: Message, base_url: str, *, gateway: bool = False) -> Json:
    """A message object; gateway MESSAGE_CREATE adds guild_id and the author's member."""
    author = world.users[m.author_id]
    user_ids, role_ids, everyone = mentions(world, m)
    channel_obj = world.channel(m.channel_id)
    in_guild = channel_obj.guild_id is not None
    data: Json = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "type": m.type,
        "author": user(author),
        "content": m.content,
        "timestamp": iso(m.created_at),
        "edited_timestamp": iso(m.edited_at),
        "tts": m.tts,
        "mention_everyone": everyone,
        "mentions": [user(world.users[u]) for u in user_ids],
        "mention_roles": [str(r) for r in role_ids],
        "attachments": [attachment(world, a, m.channel_id, base_url) for a in m.attachments],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": m.pinned,
        "flags": m.flags,
    }
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
    if m.application_id is not None:
        data["application_id"] = str(m.application_id)
    if m.message_reference is not None:
        data["message_reference"] = m.message_reference
    if m.interaction_id is not None and m.interaction_id in world.interactions:
        data["interaction_metadata"] = interaction_metadata(world, world.interactions[m.interaction_id], m.id)
    if gateway and in_guild:
        data["guild_id"] = str(channel_obj.guild_id)
        author_member = world.guild.members.get(m.author_id)
        if author_member is not None and m.webhook_id is None:
            data["member"] = member(world, author_member, with_user=False)
        for mentioned in data["mentions"]:
            mentioned_member = world.guild.members.get(int(mentioned["id"]))
            if mentioned_member is not None:
                mentioned["member"] = member(world, mentioned_member, with_user=False)
    return data


def interaction_metadata(world: World, record: InteractionRecord, message_id: int | None = None) -> Json:
    """A message's `interaction_metadata`: who did what (a modal carries what opened it)."""
    data: Json = {
        "id": str(record.id),
        "type": record.type,
        "user": user(world.users[record.user_id]),
        "authorizing_integration_owners": {"0": str(record.guild_id)} if record.guild_id else {},
    }
    if record.original_message_id is not None and record.original_message_id != message_id:
        data["original_response_message_id"] = str(record.original_message_id)
    if record.type == 3 and record.message_id is not None:
        data["interacted_message_id"] = str(record.message_id)
    trigger = world.interactions.get(record.triggered_by or 0)
    if record.type == 5 and trigger is not None:
        data["triggering_interaction_metadata"] = interaction_metadata(world, trigger)
    return data


def application_command(world: World, command: Any) -> Json:
    """A registered application command."""
    data = dict(command.data)
    data.setdefault("description", "")
    data.setdefault("options", [])
    permissions = data.get("default_member_permissions")
    data["default_member_permissions"] = None if permissions is None else str(permissions)
    data.setdefault("nsfw", False)
    data.setdefault("contexts", None)
    data["integration_types"] = data.get("integration_types") or [0]
    data["name_localizations"] = data.get("name_localizations")
    data["description_localizations"] = data.get("description_localizations")
    if data.get("dm_permission") is None:
        data.pop("dm_permission", None)
    data.update(
        {
            "id": str(command.id),
            "application_id": str(world.application.id),
            "version": str(command.version),
            "type": command.type,
        }
    )
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    return data


def application(world: World) -> Json:
    """GET /oauth2/applications/@me."""
    app = world.application
    owner = world.users.get(app.owner_id) or world.bot_user
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": app.description,
        "summary": "",
        "type": None,
        "bot": user(world.bot_user),
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": app.verify_key,
        "flags": int(app.flags),
        "flags_new": str(int(app.flags)),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": user(owner),
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "integration_types_config": {"0": {}},
        "tags": [],
    }


def guild(world: World, g: Guild | None = None) -> Json:
    """A guild object (as GET /guilds/{id} returns it); the first guild unless given."""
    g = g or world.guild
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "features": list(g.features),
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": g.preferred_locale,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "nsfw": False,
        "premium_progress_bar_enabled": False,
        "incidents_data": None,
        "home_header": None,
    }


def guild_create(world: World, *, member_ids: list[int], g: Guild | None = None) -> Json:
    """GUILD_CREATE: a guild (the first unless given) plus channels, threads, members, voice states, Stages, events."""
    g = g or world.guild
    data = guild(world, g)
    channels = [c for c in g.channels.values() if not c.is_thread]
    threads = [c for c in g.channels.values() if c.is_thread and not c.archived]
    data.update(
        {
            "joined_at": iso(g.members[world.bot_user.id].joined_at) if world.bot_user.id in g.members else None,
            "large": len(g.members) > 250,
            "unavailable": False,
            "member_count": len(g.members),
            "members": [member(world, g.members[i]) for i in member_ids if i in g.members],
            "channels": [channel(world, c) for c in channels],
            "threads": [channel(world, c) | _own_thread_member(world, c) for c in threads],
            "voice_states": [
                voice_state(world, v, with_member=False, with_guild=False) for v in g.voice_states.values()
            ],
            "presences": [],
            "stage_instances": [stage_instance(world, s) for s in g.stage_instances.values()],
            "guild_scheduled_events": [
                scheduled_event(world, e, with_user_count=True) for e in g.scheduled_events.values()
            ],
            "soundboard_sounds": [],
        }
    )
    return data


def _own_thread_member(world: World, thread: Channel) -> Json:
    own = thread.thread_members.get(world.bot_user.id)
    return {"member": thread_member(own, thread.id)} if own else {}


def unavailable_guild(world: World, g: Guild | None = None) -> Json:
    """How READY lists a guild (the first unless given) before GUILD_CREATE fills it in."""
    return {"id": str((g or world.guild).id), "unavailable": True}
