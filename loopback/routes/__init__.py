"""REST routes of the loopback Discord, one module per area of the API."""

from __future__ import annotations

from loopback.rest import Router
from loopback.routes import channels, commands, guilds, interactions, users


def build_router() -> Router:
    """Every route the sandbox serves, keyed by the spec's path templates."""
    router = Router()
    for module in (users, commands, interactions, channels, guilds):
        module.register(router)
    return router
