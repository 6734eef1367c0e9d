"""`python -m bot invite-url` asks for exactly the permissions the bot needs, never Administrator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.adapters.invite import REQUIRED, required_permissions
from bot.cli import main


def test_invite_url_has_exactly_the_listed_permission_bits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite-url", "--client-id", "123456789012345678"]) == 0
    url = capsys.readouterr().out.strip()
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == ["123456789012345678"]
    assert set(query["scope"][0].split()) == {"bot", "applications.commands"}
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == required_permissions()
    assert bin(granted.value).count("1") == len(REQUIRED), "one bit per listed permission, nothing else"


def test_no_broad_permissions_are_requested() -> None:
    granted = required_permissions()
    for broad in (
        "administrator",
        "manage_guild",
        "mention_everyone",
        "ban_members",
        "kick_members",
        "manage_messages",
        "manage_webhooks",
        "moderate_members",
    ):
        assert not getattr(granted, broad), f"{broad} is not needed"


@pytest.mark.parametrize("bad", ["abc", "12", "1" * 25, "@everyone"])
def test_a_bad_client_id_is_refused_with_the_way_to_find_it(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite-url", "--client-id", bad]) == 2
    assert "General Information" in capsys.readouterr().err
