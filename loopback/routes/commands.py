"""Application commands: bulk overwrite, list, create, edit, delete (global and guild)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopback import payloads
from loopback.rest import ApiRequest, Reply, Router
from loopback.world import WorldError, invalid_form, missing_access, unknown

if TYPE_CHECKING:
    from loopback.server import Sandbox


def _scope(sandbox: Sandbox, req: ApiRequest) -> int | None:
    """The guild id for guild routes (None for global), after checking the application id."""
    if req.snowflake("application_id") != sandbox.world.application.id:
        raise missing_access()
    if "guild_id" in req.params:
        return sandbox.world.require_guild(req.snowflake("guild_id")).id
    return None


def _check_options(options: list[dict[str, Any]], where: str) -> None:
    """Required options first and unique names, as Discord insists."""
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        if option.get("name") in names:
            raise invalid_form(
                f"{where}.{index}.name",
                "Application command option names must be unique",
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
            )
        names.add(option.get("name", ""))
        if option.get("type") in (1, 2):
            _check_options(list(option.get("options") or []), f"{where}.{index}.options")
            continue
        if option.get("required"):
            if seen_optional:
                raise invalid_form(
                    f"{where}.{index}.required",
                    "Required options must be placed before non-required options",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                )
        else:
            seen_optional = True


def _check_definitions(definitions: list[dict[str, Any]]) -> None:
    keys: set[tuple[str, int]] = set()
    for index, definition in enumerate(definitions):
        key = (definition.get("name", ""), int(definition.get("type") or 1))
        if key in keys:
            raise invalid_form(
                f"{index}.name",
                "Application command names must be unique",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
            )
        keys.add(key)
        _check_options(list(definition.get("options") or []), f"{index}.options")


async def bulk_overwrite(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT .../commands: replace the whole set (what `CommandTree.sync()` does)."""
    guild_id = _scope(sandbox, req)
    definitions = req.json_list()
    _check_definitions(definitions)
    commands = sandbox.world.overwrite_commands(guild_id, definitions)
    return Reply(body=[payloads.application_command(sandbox.world, c) for c in commands])


async def list_commands(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET .../commands."""
    guild_id = _scope(sandbox, req)
    return Reply(body=[payloads.application_command(sandbox.world, c) for c in sandbox.world.commands_for(guild_id)])


async def create_command(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST .../commands: create or replace one command by name."""
    guild_id = _scope(sandbox, req)
    definition = req.json()
    _check_definitions([definition])
    command, created = sandbox.world.upsert_command(guild_id, definition)
    return Reply(status=201 if created else 200, body=payloads.application_command(sandbox.world, command))


def _command(sandbox: Sandbox, req: ApiRequest, guild_id: int | None) -> Any:
    command = sandbox.world.commands.get(req.snowflake("command_id"))
    if command is None or command.guild_id != guild_id:
        raise unknown("application command", 10063)
    return command


async def get_command(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET .../commands/{command_id}."""
    command = _command(sandbox, req, _scope(sandbox, req))
    return Reply(body=payloads.application_command(sandbox.world, command))


async def edit_command(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH .../commands/{command_id}."""
    command = _command(sandbox, req, _scope(sandbox, req))
    changes = req.json()
    if "type" in changes and int(changes["type"]) != command.type:
        raise WorldError(400, 50035, "Invalid Form Body")
    command.data.update(changes)
    command.name = command.data["name"]
    command.version = sandbox.world.snowflakes.next()
    _check_options(list(command.data.get("options") or []), "options")
    return Reply(body=payloads.application_command(sandbox.world, command))


async def delete_command(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE .../commands/{command_id}."""
    command = _command(sandbox, req, _scope(sandbox, req))
    del sandbox.world.commands[command.id]
    return Reply(status=204)


def _permissions_payload(sandbox: Sandbox, key: int, guild_id: int) -> dict[str, Any]:
    world = sandbox.world
    return {
        "id": str(key),
        "application_id": str(world.application.id),
        "guild_id": str(guild_id),
        "permissions": [
            {"id": str(entry.id), "type": entry.type, "permission": entry.permission}
            for entry in world.command_permissions.get(key, [])
        ],
    }


async def list_command_permissions(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET .../guilds/{guild_id}/commands/permissions: every command (and the app) with admin settings."""
    guild_id = _scope(sandbox, req)
    assert guild_id is not None
    world = sandbox.world
    known = {world.application.id} | {c.id for c in world.commands.values() if c.guild_id in (None, guild_id)}
    keys = [key for key in world.command_permissions if key in known]
    return Reply(body=[_permissions_payload(sandbox, key, guild_id) for key in keys])


async def get_command_permissions(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET .../guilds/{guild_id}/commands/{command_id}/permissions (404 10066 when none are set)."""
    guild_id = _scope(sandbox, req)
    assert guild_id is not None
    key = req.snowflake("command_id")
    if key not in sandbox.world.command_permissions:
        raise unknown("application command permissions", 10066)
    return Reply(body=_permissions_payload(sandbox, key, guild_id))


async def edit_command_permissions(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PUT .../commands/{command_id}/permissions: only a person's Bearer token may; a bot gets 20001."""
    raise WorldError(403, 20001, "Bots cannot use this endpoint")


def register(router: Router) -> None:
    """Add this module's routes."""
    for base in (
        "/applications/{application_id}/commands",
        "/applications/{application_id}/guilds/{guild_id}/commands",
    ):
        router.add("PUT", base, bulk_overwrite)
        router.add("GET", base, list_commands)
        router.add("POST", base, create_command)
        router.add("GET", base + "/{command_id}", get_command)
        router.add("PATCH", base + "/{command_id}", edit_command)
        router.add("DELETE", base + "/{command_id}", delete_command)
    guild_base = "/applications/{application_id}/guilds/{guild_id}/commands"
    router.add("GET", guild_base + "/permissions", list_command_permissions)
    router.add("GET", guild_base + "/{command_id}/permissions", get_command_permissions)
    router.add("PUT", guild_base + "/{command_id}/permissions", edit_command_permissions)
