"""The endpoint overrides point discord.py elsewhere only when set, and refuse malformed URLs."""

from __future__ import annotations

import discord
import pytest

from bot.adapters.endpoints import DiscordEndpoints, restore_production_endpoints
from bot.errors import ConfigError


def test_unset_means_production_unchanged() -> None:
    endpoints = DiscordEndpoints.from_environ({})
    assert endpoints.is_production
    client = discord.Client(intents=discord.Intents.none())
    original_connect = client.http.ws_connect
    endpoints.apply(client)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"
    assert client.http.ws_connect == original_connect


def test_loopback_overrides_apply_and_restore() -> None:
    endpoints = DiscordEndpoints.from_environ(
        {
            "DISCORD_API_BASE_URL": "http://127.0.0.1:9999/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9999/gateway",
        }
    )
    assert endpoints.voice_without_tls
    client = discord.Client(intents=discord.Intents.none())
    try:
        endpoints.apply(client)
        assert discord.http.Route.BASE == "http://127.0.0.1:9999/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9999/gateway"
    finally:
        restore_production_endpoints()
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_voice_urls_use_plain_ws_when_gateway_does() -> None:
    seen: list[str] = []

    async def fake_connect(url: str, *, compress: int = 0) -> str:
        seen.append(url)
        return url

    client = discord.Client(intents=discord.Intents.none())
    client.http.ws_connect = fake_connect  # type: ignore[method-assign,assignment]
    DiscordEndpoints(gateway_url="ws://127.0.0.1:1/gateway").apply(client)
    restore_production_endpoints()
    await client.http.ws_connect("wss://127.0.0.1:5555/?v=8", compress=15)
    assert seen == ["ws://127.0.0.1:5555/?v=8"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DISCORD_API_BASE_URL", "127.0.0.1:8080/api/v10", "must be a URL starting with http:// or https://"),
        ("DISCORD_API_BASE_URL", "ftp://127.0.0.1/api/v10", "must be a URL starting with http://"),
        ("DISCORD_API_BASE_URL", "http://127.0.0.1:8080/api/v9", "must end with /api/v10"),
        ("DISCORD_GATEWAY_URL", "http://127.0.0.1:8080/gateway", "must be a URL starting with ws:// or wss://"),
        ("DISCORD_GATEWAY_URL", "ws://", "must be a URL starting with ws://"),
    ],
)
def test_malformed_overrides_name_the_variable(variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DiscordEndpoints.from_environ({variable: value})
    assert caught.value.key == variable
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("DISCORD_API_BASE_URL", "http://discord.example.org/api/v10", id="api-plain-http-to-a-name"),
        pytest.param("DISCORD_API_BASE_URL", "http://10.0.0.7:8080/api/v10", id="api-plain-http-to-a-lan-address"),
        pytest.param("DISCORD_API_BASE_URL", "http://localhost.example.org/api/v10", id="api-name-starting-localhost"),
        pytest.param("DISCORD_GATEWAY_URL", "ws://gateway.example.org/", id="gateway-plain-ws-to-a-name"),
        pytest.param("DISCORD_GATEWAY_URL", "ws://[2001:db8::1]:8080/", id="gateway-plain-ws-to-ipv6"),
    ],
)
def test_plain_overrides_to_another_machine_are_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DiscordEndpoints.from_environ({variable: value})
    assert caught.value.key == variable
    assert "sends the bot's token unencrypted" in str(caught.value)
    assert "https://" in str(caught.value) or "wss://" in str(caught.value)


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"DISCORD_API_BASE_URL": "http://127.0.0.9:8080/api/v10"}, id="api-loopback-range"),
        pytest.param({"DISCORD_API_BASE_URL": "http://localhost:8080/api/v10"}, id="api-localhost"),
        pytest.param({"DISCORD_GATEWAY_URL": "ws://[::1]:8080/gateway"}, id="gateway-ipv6-loopback"),
        pytest.param({"DISCORD_API_BASE_URL": "https://discord.example.org/api/v10"}, id="api-tls-anywhere"),
        pytest.param({"DISCORD_GATEWAY_URL": "wss://gateway.example.org/"}, id="gateway-tls-anywhere"),
    ],
)
def test_loopback_or_tls_overrides_are_accepted(environ: dict[str, str]) -> None:
    assert not DiscordEndpoints.from_environ(environ).is_production
