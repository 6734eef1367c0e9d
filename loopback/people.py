"""Simulated guild members: they run slash commands (attaching files), press buttons, fill modals, join voice.

Each action builds the payload Discord would send the bot (from the command the bot REGISTERED,
with `resolved` data, the member's channel permissions, locales and app_permissions), dispatches
it over the gateway, and returns a handle whose `response()` waits for the bot's answer.
"""

# Waits take a deadline on purpose: a test names how long the bot may take to answer.
# ruff: noqa: ASYNC109

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopback import payloads
from loopback.world import (
    ApplicationCommand,
    Channel,
    ChannelType,
    InteractionRecord,
    Member,
    Message,
    MessageFlag,
    Permission,
    Role,
    ScheduledEvent,
    User,
    VoiceState,
    World,
)

if TYPE_CHECKING:
    from loopback.server import Sandbox

DEFAULT_TIMEOUT = 5.0
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A file a person attaches to a slash command's attachment option."""

    filename: str
    data: bytes
    content_type: str | None = None

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)

    @classmethod
    def of(cls, value: Any, label: str) -> Upload:
        """An Upload, or a file on disk (its name and bytes), or a (filename, bytes) pair."""
        if isinstance(value, Upload):
            return value
        if isinstance(value, Path):
            return cls(value.name, value.read_bytes())
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], bytes | bytearray):
            return cls(str(value[0]), bytes(value[1]))
        raise ValueError(f"{label}: expects a file (an Upload, a Path or a (filename, bytes) pair), got {value!r}")


class CommandUnavailable(Exception):
    """Discord's client would not let this person run this command here (permissions or contexts)."""


class ActionRefused(Exception):
    """Discord's client would not let this person do this (no permission, not in voice, no such button)."""


@dataclass
class Reply:
    """The bot's answer to an interaction, as the person sees it."""

    kind: str
    message: Message | None = None
    choices: list[dict[str, Any]] = field(default_factory=list)
    modal: dict[str, Any] | None = None

    @property
    def ephemeral(self) -> bool:
        """True when only the person who interacted sees it."""
        return self.message is not None and self.message.ephemeral

    @property
    def content(self) -> str:
        """The reply's text ('' for modals and autocomplete)."""
        return self.message.content if self.message is not None else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The reply's embeds."""
        return self.message.embeds if self.message is not None else []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The reply's components (or the modal's)."""
        if self.modal is not None:
            return list(self.modal.get("components") or [])
        return self.message.components if self.message is not None else []

    @property
    def text(self) -> str:
        """Content plus embed titles, descriptions and fields, for easy assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
            for embed_field in embed.get("fields") or []:
                parts += [str(embed_field.get("name") or ""), str(embed_field.get("value") or "")]
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
        return "\n".join(p for p in parts if p)


class InteractionHandle:
    """One interaction in flight; await `response()` for the bot's answer."""

    def __init__(self, sandbox: Sandbox, record: InteractionRecord, timeout: float) -> None:
        self.sandbox = sandbox
        self.record = record
        self.timeout = timeout

    @property
    def id(self) -> int:
        """The interaction id."""
        return self.record.id

    def _message(self, message_id: int | None) -> Message | None:
        return self.sandbox.world.messages.get(message_id) if message_id is not None else None

    def _current(self) -> Reply | None:
        record = self.record
        kind = record.callback_type
        original = self._message(record.original_message_id)
        followups = [m for m in (self._message(i) for i in record.followup_ids) if m is not None]
        if kind is None:
            return None
        if kind == 4:
            return Reply("message", original)
        if kind == 7:
            return Reply("update", original)
        if kind == 8:
            return Reply("autocomplete", choices=list((record.callback_data or {}).get("choices") or []))
        if kind == 9:
            return Reply("modal", modal=record.callback_data)
        if kind == 5 and original is not None and not original.flags & MessageFlag.LOADING:
            return Reply("message", original)
        if kind == 6 and record.edits:
            return Reply("update", original)
        if followups:
            return Reply("followup", followups[0])
        return None

    def _what(self) -> str:
        record = self.record
        person = self.sandbox.world.users[record.user_id].display_name
        name = record.name or "interaction"
        return f"the bot to answer {person}'s {name} (callback so far: {record.callback_type})"

    async def response(self, timeout: float | None = None) -> Reply:
        """Wait for the bot's visible answer: message, update, choices, modal, or the reply after a defer."""
        return await self.sandbox.wait_until(self._current, timeout=timeout or self.timeout, what=self._what())

    async def callback(self, timeout: float | None = None) -> int:
        """Wait for the interaction callback and return its type (4, 5, 6, 7, 8 or 9)."""
        await self.sandbox.wait_until(
            lambda: self.record.acknowledged, timeout=timeout or self.timeout, what=self._what()
        )
        assert self.record.callback_type is not None
        return self.record.callback_type

    async def followups(self, count: int = 1, timeout: float | None = None) -> list[Message]:
        """Wait until the bot has sent `count` follow-ups; returns them."""
        await self.sandbox.wait_until(
            lambda: len(self.record.followup_ids) >= count,
            timeout=timeout or self.timeout,
            what=f"{count} follow-up(s): {self._what()}",
        )
        return [self.sandbox.world.messages[i] for i in self.record.followup_ids]

    def messages(self) -> list[Message]:
        """Every message the bot sent for this interaction (original first)."""
        ids = [self.record.original_message_id, *self.record.followup_ids]
        return [m for m in (self._message(i) for i in dict.fromkeys(ids)) if m is not None]


class SimulatedPerson:
    """A guild member driven by a test."""

    def __init__(self, sandbox: Sandbox, member: Member) -> None:
        self.sandbox = sandbox
        self.member = member
        # The guild this person acts in: their membership's (the first guild for most people).
        self.guild = sandbox.world.guild_by_id(member.guild_id)

    # ---- who ------------------------------------------------------------------------------------

    @property
    def id(self) -> int:
        """The person's user id."""
        return self.member.id

    @property
    def user(self) -> User:
        """The person's user."""
        return self.member.user

    @property
    def name(self) -> str:
        """The person's display name."""
        return self.member.display_name

    def __repr__(self) -> str:
        return f"<SimulatedPerson {self.name} ({self.id})>"

    @property
    def world(self) -> World:
        """The sandbox's world."""
        return self.sandbox.world

    def permissions_in(self, channel: Channel) -> Permission:
        """What this person may do in a channel."""
        return self.world.permissions_in(self.member, channel)

    # ---- readers ----------------------------------------------------------------------------------

    @property
    def voice_state(self) -> VoiceState | None:
        """Where this person is in voice in their guild, if anywhere."""
        return self.world.voice_state(self.id, self.guild)

    def dms(self) -> list[Message]:
        """Messages the bot sent this person by DM, oldest first."""
        channel_id = self.world.dm_channels.get(self.id)
        if channel_id is None:
            return []
        return [m for m in self.world.history(channel_id) if m.author_id == self.world.bot_user.id]

    def ephemeral_replies(self) -> list[Message]:
        """Ephemeral messages the bot showed only to this person, oldest first."""
        mine = {r.id for r in self.world.interactions.values() if r.user_id == self.id}
        return sorted(
            (m for m in self.world.messages.values() if m.ephemeral and not m.deleted and m.interaction_id in mine),
            key=lambda m: m.id,
        )

    # ---- slash commands -------------------------------------------------------------------------

    async def run_command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Iterable[str] | None = None,
        channel: int | str | Channel | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> InteractionHandle:
        """Run `/name [group] [subcommand] options...` as this person (from the registered command)."""
        command = self.world.find_command(name, guild=self.guild)
        where = self._channel(channel)
        self._check_command_allowed(command, where)
        path = subcommand.split() if isinstance(subcommand, str) else list(subcommand or [])
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(command, path, dict(options or {}), resolved, where, focused=None)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": command.type}
        if built:
            data["options"] = built
        if resolved:
            data["resolved"] = resolved
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        label = "/" + " ".join([command.name, *path])
        return self._start(2, data, where, name=label, timeout=timeout)

    async def autocomplete(
        self,
        name: str,
        focused: str,
        typed: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Iterable[str] | None = None,
        channel: int | str | Channel | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Type `typed` into option `focused` of `/name` and return the bot's suggestions."""
        command = self.world.find_command(name, guild=self.guild)
        where = self._channel(channel)
        self._check_command_allowed(command, where)
        path = subcommand.split() if isinstance(subcommand, str) else list(subcommand or [])
        given = dict(options or {})
        given[focused] = typed
        resolved: dict[str, dict[str, Any]] = {}
        built = self._build_options(command, path, given, resolved, where, focused=focused)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": command.type,
            "options": built,
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        handle = self._start(4, data, where, name=f"autocomplete of /{name} {focused}", timeout=timeout)
        reply = await handle.response()
        if reply.kind != "autocomplete":
            raise AssertionError(f"the bot answered autocomplete with {reply.kind!r}")
        return reply.choices

    def _check_command_allowed(self, command: ApplicationCommand, channel: Channel) -> None:
        in_dm = channel.type == ChannelType.DM
        contexts = command.data.get("contexts")
        if contexts is not None and (1 if in_dm else 0) not in contexts:
            raise CommandUnavailable(f"/{command.name} is not offered in {'DMs' if in_dm else 'servers'}")
        if in_dm:
            if command.data.get("dm_permission") is False or command.guild_id is not None:
                raise CommandUnavailable(f"/{command.name} is not offered in DMs")
            return
        perms = self.permissions_in(channel)
        if not perms & Permission.VIEW_CHANNEL or not perms & Permission.USE_APPLICATION_COMMANDS:
            raise CommandUnavailable(f"{self.name} cannot use commands in #{channel.name}")
        refusal = self.world.command_refusal(self.member, channel, command)
        if refusal is not None:
            raise CommandUnavailable(refusal)

    def _build_options(
        self,
        command: ApplicationCommand,
        path: list[str],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
        *,
        focused: str | None,
    ) -> list[dict[str, Any]]:
        level = command.options
        chain: list[dict[str, Any]] = []
        for step in path:
            found = next((o for o in level if o.get("name") == step and o.get("type") in (1, 2)), None)
            if found is None:
                choices = [o["name"] for o in level if o.get("type") in (1, 2)]
                raise ValueError(f"/{command.name} has no subcommand {step!r} here (has: {choices})")
            chain.append(found)
            level = list(found.get("options") or [])
        if any(o.get("type") in (1, 2) for o in level):
            choices = [o["name"] for o in level]
            raise ValueError(f"/{command.name} needs a subcommand ({choices})")
        values = self._option_values(command, level, given, resolved, channel, focused=focused)
        for parent in reversed(chain):
            values = [{"name": parent["name"], "type": parent["type"], "options": values}]
        return values

    def _option_values(
        self,
        command: ApplicationCommand,
        declared: list[dict[str, Any]],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
        *,
        focused: str | None,
    ) -> list[dict[str, Any]]:
        names = {o["name"] for o in declared}
        unknown = set(given) - names
        if unknown:
            raise ValueError(f"/{command.name} has no option(s) {sorted(unknown)} (has: {sorted(names)})")
        out = []
        for option in declared:
            name = option["name"]
            if name not in given:
                if option.get("required") and focused is None:
                    raise ValueError(f"/{command.name} needs option {name!r}")
                continue
            if name == focused:
                out.append({"name": name, "type": option["type"], "value": str(given[name]), "focused": True})
                continue
            value = self._option_value(command, option, given[name], resolved, channel)
            out.append({"name": name, "type": option["type"], "value": value})
        return out

    def _option_value(
        self,
        command: ApplicationCommand,
        option: dict[str, Any],
        value: Any,
        resolved: dict[str, dict[str, Any]],
        channel: Channel,
    ) -> Any:
        kind = option["type"]
        label = f"/{command.name} {option['name']}"
        world = self.world
        if kind == 3:
            text = str(value)
            if option.get("min_length") is not None and len(text) < option["min_length"]:
                raise ValueError(f"{label}: at least {option['min_length']} characters")
            if option.get("max_length") is not None and len(text) > option["max_length"]:
                raise ValueError(f"{label}: at most {option['max_length']} characters")
            result: Any = text
        elif kind in (4, 10):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{label}: expects a number, got {value!r}")
            if kind == 4 and not isinstance(value, int):
                raise ValueError(f"{label}: expects a whole number, got {value!r}")
            if option.get("min_value") is not None and value < option["min_value"]:
                raise ValueError(f"{label}: at least {option['min_value']}")
            if option.get("max_value") is not None and value > option["max_value"]:
                raise ValueError(f"{label}: at most {option['max_value']}")
            result = value
        elif kind == 5:
            if not isinstance(value, bool):
                raise ValueError(f"{label}: expects True or False")
            result = value
        elif kind == 6:
            member = self._as_member(value)
            self._resolve_user(member, resolved, channel)
            result = str(member.id)
        elif kind == 7:
            target = world.find_channel(value)
            allowed = option.get("channel_types")
            if allowed and int(target.type) not in allowed:
                raise ValueError(f"{label}: #{target.name} is not one of the channel types {allowed}")
            resolved.setdefault("channels", {})[str(target.id)] = payloads.partial_channel(world, target, self.member)
            result = str(target.id)
        elif kind == 8:
            role = world.find_role(value)
            resolved.setdefault("roles", {})[str(role.id)] = payloads.role(role)
            result = str(role.id)
        elif kind == 9:
            if isinstance(value, Role):
                resolved.setdefault("roles", {})[str(value.id)] = payloads.role(value)
                result = str(value.id)
            else:
                member = self._as_member(value)
                self._resolve_user(member, resolved, channel)
                result = str(member.id)
        elif kind == 11:
            upload = Upload.of(value, label)
            if upload.size > ATTACHMENT_SIZE_LIMIT:
                # Discord's client stops a file over the server's upload limit before sending anything.
                raise ActionRefused(
                    f"{label}: {upload.filename} is {upload.size} bytes; this server takes files up to "
                    f"{ATTACHMENT_SIZE_LIMIT} bytes"
                )
            attachment = world.upload(upload.filename, upload.data, upload.content_type)
            resolved.setdefault("attachments", {})[str(attachment.id)] = payloads.upload(
                world, attachment, self.sandbox.base_url
            )
            result = str(attachment.id)
        else:
            raise ValueError(f"{label}: option type {kind} is not simulated")
        choices = option.get("choices")
        if choices and result not in [c["value"] for c in choices]:
            raise ValueError(f"{label}: {result!r} is not one of the choices {[c['value'] for c in choices]}")
        return result

    def _as_member(self, value: Any) -> Member:
        if isinstance(value, SimulatedPerson):
            return value.member
        if isinstance(value, Member):
            return value
        if isinstance(value, User):
            return self.world.member(value.id)
        return self.world.find_member(value)

    def _resolve_user(self, member: Member, resolved: dict[str, dict[str, Any]], channel: Channel) -> None:
        resolved.setdefault("users", {})[str(member.id)] = payloads.user(member.user)
        resolved.setdefault("members", {})[str(member.id)] = payloads.member(
            self.world, member, with_user=False, permissions_in=channel
        )

    # ---- components and modals ----------------------------------------------------------------------

    def _visible_message(self, message: Message | int) -> Message:
        world = self.world
        found = world.messages.get(message if isinstance(message, int) else message.id)
        if found is None or found.deleted:
            raise ActionRefused(f"{self.name} cannot see message {message!r}: it does not exist")
        if found.ephemeral:
            record = world.interactions.get(found.interaction_id or 0)
            if record is None or record.user_id != self.id:
                raise ActionRefused(f"{self.name} cannot see someone else's ephemeral message")
        return found

    def _component(self, message: Message, custom_id: str, kinds: tuple[int, ...]) -> dict[str, Any]:
        component = message.component_named(custom_id)
        if component is None or component.get("type") not in kinds:
            raise ActionRefused(f"message {message.id} has no component {custom_id!r} of type {kinds}")
        if component.get("disabled"):
            raise ActionRefused(f"component {custom_id!r} is disabled")
        return component

    async def press_button(
        self, message: Message | int, custom_id: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> InteractionHandle:
        """Press a button on a message the bot sent."""
        found = self._visible_message(message)
        component = self._component(found, custom_id, (2,))
        data = {"custom_id": custom_id, "component_type": 2, "id": component.get("id")}
        return self._start(
            3,
            data,
            self.world.channel(found.channel_id),
            message=found,
            name=f"button {custom_id!r}",
            timeout=timeout,
        )

    async def choose(
        self,
        message: Message | int,
        custom_id: str,
        values: Iterable[Any],
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> InteractionHandle:
        """Pick values in a select menu (string, user, role, mentionable or channel select)."""
        found = self._visible_message(message)
        component = self._component(found, custom_id, (3, 5, 6, 7, 8))
        channel = self.world.channel(found.channel_id)
        kind = component["type"]
        picked, resolved = self._select_values(component, list(values), channel)
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": kind,
            "values": picked,
            "id": component.get("id"),
        }
        if resolved:
            data["resolved"] = resolved
        return self._start(3, data, channel, message=found, name=f"select {custom_id!r}", timeout=timeout)

    def _select_values(
        self, component: dict[str, Any], values: list[Any], channel: Channel
    ) -> tuple[list[str], dict[str, dict[str, Any]]]:
        kind = component["type"]
        low, high = int(component.get("min_values", 1)), int(component.get("max_values", 1))
        if not low <= len(values) <= high:
            raise ActionRefused(f"select {component.get('custom_id')!r} takes {low}..{high} values, got {len(values)}")
        resolved: dict[str, dict[str, Any]] = {}
        picked: list[str] = []
        for value in values:
            if kind == 3:
                offered = [o["value"] for o in component.get("options") or []]
                if str(value) not in offered:
                    raise ActionRefused(f"{value!r} is not an option of select {component.get('custom_id')!r}")
                picked.append(str(value))
            elif kind == 8:
                target = self.world.find_channel(value)
                resolved.setdefault("channels", {})[str(target.id)] = payloads.partial_channel(
                    self.world, target, self.member
                )
                picked.append(str(target.id))
            elif kind == 6 or (kind == 7 and isinstance(value, Role)):
                role = self.world.find_role(value)
                resolved.setdefault("roles", {})[str(role.id)] = payloads.role(role)
                picked.append(str(role.id))
            else:
                member = self._as_member(value)
                self._resolve_user(member, resolved, channel)
                picked.append(str(member.id))
        return picked, resolved

    async def submit_modal(
        self, custom_id: str, fields: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
    ) -> InteractionHandle:
        """Fill in and submit the modal with `custom_id` that the bot last showed this person."""
        shown = [
            r
            for r in self.world.interactions.values()
            if r.user_id == self.id and r.callback_type == 9 and (r.callback_data or {}).get("custom_id") == custom_id
        ]
        if not shown:
            raise ActionRefused(f"no modal {custom_id!r} was shown to {self.name}")
        origin = shown[-1]
        modal = origin.callback_data or {}
        channel = self.world.channel(origin.channel_id)
        remaining = dict(fields)
        resolved: dict[str, dict[str, Any]] = {}
        components = [self._modal_component(c, remaining, channel, resolved) for c in modal.get("components") or []]
        if remaining:
            raise ActionRefused(f"modal {custom_id!r} has no field(s) {sorted(remaining)}")
        data: dict[str, Any] = {
            "custom_id": custom_id,
            "components": [c for c in components if c is not None],
        }
        if resolved:
            data["resolved"] = resolved
        message = self.world.messages.get(origin.message_id) if origin.message_id else None
        return self._start(
            5,
            data,
            channel,
            message=message,
            name=f"modal {custom_id!r}",
            timeout=timeout,
            triggered_by=origin.id,
        )

    def _modal_component(
        self,
        component: dict[str, Any],
        remaining: dict[str, Any],
        channel: Channel,
        resolved: dict[str, dict[str, Any]],
    ) -> dict[str, Any] | None:
        kind = component.get("type")
        if kind == 1:
            return {
                "type": 1,
                "id": component.get("id"),
                "components": [
                    c
                    for c in (
                        self._modal_component(x, remaining, channel, resolved)
                        for x in component.get("components") or []
                    )
                    if c is not None
                ],
            }
        if kind == 18:
            inner = self._modal_component(component["component"], remaining, channel, resolved)
            return {"type": 18, "id": component.get("id"), "component": inner}
        custom_id = component.get("custom_id")
        if custom_id is None:
            return None
        if kind == 4:
            value = str(remaining.pop(custom_id, component.get("value") or ""))
            if component.get("required", True) and not value:
                raise ActionRefused(f"modal field {custom_id!r} is required")
            if value and component.get("min_length") is not None and len(value) < component["min_length"]:
                raise ActionRefused(f"modal field {custom_id!r} needs at least {component['min_length']} characters")
            if component.get("max_length") is not None and len(value) > component["max_length"]:
                raise ActionRefused(f"modal field {custom_id!r} takes at most {component['max_length']} characters")
            return {"type": 4, "id": component.get("id"), "custom_id": custom_id, "value": value}
        if kind in (3, 5, 6, 7, 8):
            chosen = remaining.pop(custom_id, [])
            chosen = list(chosen) if isinstance(chosen, list | tuple) else [chosen]
            values: list[str] = []
            if chosen or component.get("required", True):
                values, found = self._select_values(component, chosen, channel)
                for key, entries in found.items():
                    resolved.setdefault(key, {}).update(entries)
            return {"type": kind, "id": component.get("id"), "custom_id": custom_id, "values": values}
        return None

    # ---- the interaction envelope -------------------------------------------------------------------

    def _channel(self, channel: int | str | Channel | None) -> Channel:
        if channel == "dm":
            return self.world.open_dm(self.id)
        if channel is not None:
            return self.world.find_channel(channel)
        for candidate in self.guild.channels.values():
            if candidate.name == "general":
                return candidate
        return next(c for c in self.guild.channels.values() if c.type == ChannelType.GUILD_TEXT)

    def _start(
        self,
        kind: int,
        data: dict[str, Any],
        channel: Channel,
        *,
        name: str,
        timeout: float,
        message: Message | None = None,
        triggered_by: int | None = None,
    ) -> InteractionHandle:
        world = self.world
        sandbox = self.sandbox
        interaction_id = world.snowflakes.next()
        token = (
            "aW50ZXJhY3Rpb246"
            + base64.urlsafe_b64encode(str(interaction_id).encode()).decode().rstrip("=")
            + ":"
            + secrets.token_urlsafe(60)
        )
        in_dm = channel.type == ChannelType.DM
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(world.application.id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": self.member.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
        }
        if in_dm:
            payload |= {
                "channel": payloads.channel(world, channel),
                "user": payloads.user(self.user),
                "context": 1,
                "authorizing_integration_owners": {"0": str(world.guild.id)},
                "app_permissions": str(int(world.permissions_in(world.bot_member(), channel))),
            }
        else:
            guild = world.guild_of(channel)
            payload |= {
                "guild_id": str(guild.id),
                "guild": {
                    "id": str(guild.id),
                    "locale": guild.preferred_locale,
                    "features": list(guild.features),
                },
                "guild_locale": guild.preferred_locale,
                "channel": payloads.partial_channel(world, channel, self.member),
                "member": payloads.member(world, self.member, permissions_in=channel),
                "app_permissions": str(int(world.permissions_in(world.bot_member(guild), channel))),
                "context": 0,
                "authorizing_integration_owners": {"0": str(guild.id)},
            }
        if message is not None:
            payload["message"] = payloads.message(world, message, sandbox.base_url)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            user_id=self.id,
            channel_id=channel.id,
            guild_id=None if in_dm else world.guild_of(channel).id,
            created_clock=sandbox.clock(),
            payload=payload,
            name=name,
            message_id=message.id if message is not None else None,
            triggered_by=triggered_by,
        )
        world.interactions[interaction_id] = record
        if not sandbox.events.interaction_created(payload):
            raise AssertionError(f"{self.name}'s {name}: no bot is connected to the gateway to receive it")
        return InteractionHandle(sandbox, record, timeout)

    # ---- messages -----------------------------------------------------------------------------------

    async def send_message(self, channel: int | str | Channel, content: str) -> Message:
        """Post a message in a guild channel (or 'dm' for the DM with the bot)."""
        where = self._channel(channel)
        if where.type != ChannelType.DM:
            needed = Permission.VIEW_CHANNEL | (
                Permission.SEND_MESSAGES_IN_THREADS if where.is_thread else Permission.SEND_MESSAGES
            )
            if self.permissions_in(where) & needed != needed:
                raise ActionRefused(f"{self.name} cannot send messages in #{where.name}")
        message = self.world.add_message(where, self.id, self.sandbox.clock(), content=content)
        self.sandbox.events.message_created(message)
        return message

    async def delete_message(self, message: Message | int) -> None:
        """Delete a message: one's own, or anyone's in a guild channel where one may Manage Messages."""
        found = self._visible_message(message)
        channel = self.world.channel(found.channel_id)
        if found.author_id != self.id and (
            channel.type == ChannelType.DM or not self.permissions_in(channel) & Permission.MANAGE_MESSAGES
        ):
            raise ActionRefused(f"{self.name} may not delete message {found.id}")
        found.deleted = True
        self.sandbox.events.message_deleted(found)

    # ---- voice --------------------------------------------------------------------------------------

    async def join_voice(
        self, channel: int | str | Channel, *, self_mute: bool = False, self_deaf: bool = False
    ) -> VoiceState:
        """Join a voice or Stage channel (on a Stage, as audience)."""
        where = self.world.find_channel(channel)
        perms = self.permissions_in(where)
        if not where.is_voice or not perms & Permission.CONNECT:
            raise ActionRefused(f"{self.name} cannot connect to #{where.name}")
        if (
            where.user_limit
            and len(self.world.voice_members(where.id)) >= where.user_limit
            and not perms & Permission.MOVE_MEMBERS
        ):
            raise ActionRefused(f"#{where.name} is full")
        state = self.world.join_voice(self.id, where, secrets.token_hex(16), self_mute=self_mute, self_deaf=self_deaf)
        self.sandbox.events.voice_state_changed(state)
        return state

    async def leave_voice(self) -> None:
        """Leave voice."""
        left = self.world.leave_voice(self.id, self.guild)
        if left is None:
            raise ActionRefused(f"{self.name} is not in voice")
        self.sandbox.events.voice_state_changed(left, left=True)

    def _stage_state(self) -> tuple[VoiceState, Channel]:
        state = self.voice_state
        if state is None:
            raise ActionRefused(f"{self.name} is not in voice")
        channel = self.world.channel(state.channel_id)
        return state, channel

    async def request_to_speak(self) -> VoiceState:
        """Raise a hand on the Stage."""
        state, channel = self._stage_state()
        if channel.type != ChannelType.GUILD_STAGE_VOICE:
            raise ActionRefused(f"#{channel.name} is not a Stage")
        if not self.permissions_in(channel) & Permission.REQUEST_TO_SPEAK:
            raise ActionRefused(f"{self.name} may not request to speak in #{channel.name}")
        state.request_to_speak_timestamp = self.world.now()
        self.sandbox.events.voice_state_changed(state)
        return state

    async def try_unmute(self) -> bool:
        """Switch off self-mute; True if others can now hear this person (no server mute, not suppressed)."""
        state, _ = self._stage_state()
        if state.self_mute:
            state.self_mute = False
            self.sandbox.events.voice_state_changed(state)
        return state.can_speak

    async def start_video(self, *, screen: bool = False) -> bool:
        """Turn the camera on (or share the screen); False if Discord does not allow it here (no Video permission)."""
        state, channel = self._stage_state()
        if channel.type != ChannelType.GUILD_VOICE or not self.permissions_in(channel) & Permission.STREAM:
            return False
        if screen:
            state.self_stream = True
        else:
            state.self_video = True
        self.sandbox.events.voice_state_changed(state)
        return True

    async def leave_guild(self) -> None:
        """Leave the guild (GUILD_MEMBER_REMOVE, after leaving voice if there)."""
        if self.voice_state is not None:
            await self.leave_voice()
        member = self.world.remove_member(self.id)
        self.sandbox.events.member_removed(member)

    # ---- scheduled events ---------------------------------------------------------------------------

    def _event(self, event: ScheduledEvent | int | str) -> ScheduledEvent:
        if isinstance(event, ScheduledEvent):
            return event
        events = self.world.guild.scheduled_events
        if isinstance(event, int):
            return self.world.scheduled_event(event)
        found = [e for e in events.values() if e.name == event]
        if not found:
            raise ActionRefused(f"no scheduled event called {event!r}")
        return found[-1]

    async def mark_interested(self, event: ScheduledEvent | int | str) -> None:
        """Click 'Interested' on a scheduled event."""
        scheduled = self._event(event)
        if self.id not in scheduled.interested:
            scheduled.interested.append(self.id)
            self.sandbox.events.scheduled_event_user("ADD", scheduled, self.id)

    async def unmark_interested(self, event: ScheduledEvent | int | str) -> None:
        """Take back 'Interested'."""
        scheduled = self._event(event)
        if self.id in scheduled.interested:
            scheduled.interested.remove(self.id)
            self.sandbox.events.scheduled_event_user("REMOVE", scheduled, self.id)
