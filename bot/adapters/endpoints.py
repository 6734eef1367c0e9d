"""Where the Discord client connects: production Discord, or a loopback Discord for tests and the demo.

`DISCORD_API_BASE_URL` (e.g. `http://127.0.0.1:PORT/api/v10`) and `DISCORD_GATEWAY_URL`
(e.g. `ws://127.0.0.1:PORT/gateway`) point the real, unpatched discord.py client elsewhere. When
both are unset nothing is changed and production Discord is used. The bot's token travels with
every request, so plain `http://` and `ws://` are accepted only for this machine's loopback
addresses (127.0.0.0/8, ::1, localhost); anywhere else needs `https://` and `wss://`.

discord.py reads these from two class attributes (`Route.BASE` for REST, and
`DiscordWebSocket.DEFAULT_GATEWAY` for the gateway), so they are process-wide by nature. Voice
websockets are always built as `wss://{endpoint}`; when the gateway itself is plain `ws://` (a
loopback Discord has no TLS certificate) the client's websocket connector is wrapped so voice
uses `ws://` too. That wrapper is the only seam, and it is installed on our own client instance.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import discord
import yarl

from bot.errors import ConfigError

API_BASE_VARIABLE = "DISCORD_API_BASE_URL"
GATEWAY_VARIABLE = "DISCORD_GATEWAY_URL"
# Schemes that carry the token unencrypted, each with the TLS scheme to use instead.
_PLAIN_SCHEMES = {"http": "https", "ws": "wss"}


@dataclass(frozen=True)
class DiscordEndpoints:
    """The REST base URL and gateway URL the client should use; None means production Discord."""

    api_base_url: str | None = None
    gateway_url: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> DiscordEndpoints:
        """Read and check the two override variables."""
        env = os.environ if environ is None else environ
        api = env.get(API_BASE_VARIABLE, "").strip() or None
        gateway = env.get(GATEWAY_VARIABLE, "").strip() or None
        if api is not None:
            _check_url(API_BASE_VARIABLE, api, ("http", "https"), "http://127.0.0.1:8080/api/v10")
            if not urlsplit(api).path.rstrip("/").endswith("/api/v10"):
                raise ConfigError(
                    API_BASE_VARIABLE,
                    f"must end with /api/v10 (the API version the bot speaks), got {api!r}",
                )
        if gateway is not None:
            _check_url(GATEWAY_VARIABLE, gateway, ("ws", "wss"), "ws://127.0.0.1:8080/gateway")
        return cls(api_base_url=api.rstrip("/") if api else None, gateway_url=gateway)

    @property
    def is_production(self) -> bool:
        """True when no override is set."""
        return self.api_base_url is None and self.gateway_url is None

    @property
    def voice_without_tls(self) -> bool:
        """True when voice websockets must use ws:// because the gateway does."""
        return self.gateway_url is not None and self.gateway_url.startswith("ws://")

    def apply(self, client: discord.Client) -> None:
        """Point discord.py (process-wide) and this client's voice connector at these endpoints."""
        if self.api_base_url is not None:
            discord.http.Route.BASE = self.api_base_url
        if self.gateway_url is not None:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        if self.voice_without_tls:
            client.http.ws_connect = _plain_voice_connector(client.http.ws_connect)  # type: ignore[method-assign,assignment]


def restore_production_endpoints() -> None:
    """Undo `apply` for the process (tests start and stop many bots)."""
    discord.http.Route.BASE = f"https://discord.com/api/v{discord.http.INTERNAL_API_VERSION}"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("wss://gateway.discord.gg/")


def _check_url(variable: str, value: str, schemes: tuple[str, ...], example: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(variable, f"must be a URL starting with {allowed}, e.g. {example}; got {value!r}")
    if parts.scheme in _PLAIN_SCHEMES and not is_loopback_host(parts.hostname):
        secure = _PLAIN_SCHEMES[parts.scheme]
        raise ConfigError(
            variable,
            (
                f"{parts.scheme}:// sends the bot's token unencrypted, so it is allowed only to this machine "
                f"(127.0.0.1, ::1 or localhost), not to {parts.hostname}; use {secure}:// for any other host"
            ),
        )


def is_loopback_host(host: str) -> bool:
    """Whether a URL's host is this machine: localhost, or an address in 127.0.0.0/8 or ::1."""
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def _plain_voice_connector(
    connect: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    """Wrap `HTTPClient.ws_connect` so `wss://` voice URLs become `ws://` (gateway is plain ws)."""

    async def ws_connect(url: str, *, compress: int = 0) -> Any:
        if url.startswith("wss://"):
            url = "ws://" + url[len("wss://") :]
        return await connect(url, compress=compress)

    return ws_connect
