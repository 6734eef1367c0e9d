"""Users, the application, the gateway URL, and opening DMs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loopback import payloads
from loopback.rest import ApiRequest, Reply, Router
from loopback.world import invalid_form

if TYPE_CHECKING:
    from loopback.server import Sandbox


async def get_current_user(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /users/@me."""
    return Reply(body=payloads.current_user(sandbox.world))


async def get_user(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /users/{user_id}."""
    return Reply(body=payloads.user(sandbox.world.user(req.snowflake("user_id"))))


async def get_application(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /oauth2/applications/@me and /applications/@me."""
    return Reply(body=payloads.application(sandbox.world))


async def get_gateway(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /gateway."""
    return Reply(body={"url": sandbox.gateway_url})


async def get_gateway_bot(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /gateway/bot: the sandbox's own gateway and a generous session-start budget."""
    limit = {
        "total": 1000,
        "remaining": 1000 - sandbox.signals.counts["identify"],
        "reset_after": 86_400_000,
        "max_concurrency": 1,
    }
    return Reply(body={"url": sandbox.gateway_url, "shards": 1, "session_start_limit": limit})


async def open_dm(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /users/@me/channels: the DM channel with a user (opening always works; sending may not)."""
    body = req.json()
    recipient = body.get("recipient_id")
    if recipient is None:
        raise invalid_form("recipient_id", "This field is required", "BASE_TYPE_REQUIRED")
    user = sandbox.world.user(int(recipient))
    channel = sandbox.world.open_dm(user.id)
    return Reply(body=payloads.channel(sandbox.world, channel))


async def leave_guild(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /users/@me/guilds/{guild_id}: the bot leaves a guild (GUILD_DELETE follows on the gateway)."""
    world = sandbox.world
    guild = world.require_guild(req.snowflake("guild_id"), first_only=False)
    for state in [s for s in guild.voice_states.values() if s.user_id == world.bot_user.id]:
        world.leave_voice(state.user_id, guild)
    world.remove_member(world.bot_user.id, guild)
    sandbox.events.guild_left(guild)
    return Reply(status=204)


def register(router: Router) -> None:
    """Add this module's routes."""
    router.add("GET", "/users/@me", get_current_user)
    router.add("GET", "/users/{user_id}", get_user)
    router.add("GET", "/oauth2/applications/@me", get_application)
    router.add("GET", "/applications/@me", get_application)
    router.add("GET", "/gateway", get_gateway, auth=False)
    router.add("GET", "/gateway/bot", get_gateway_bot)
    router.add("POST", "/users/@me/channels", open_dm)
    router.add("DELETE", "/users/@me/guilds/{guild_id}", leave_guild)
