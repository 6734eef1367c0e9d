"""At start-up the bot runs the same checks as `check --live`; coordinators hear once of what is wrong.

The real bot starts against the loopback Discord (restarts keep the database, as a service's would):
a report goes to the coordinators' channel when something is wrong, not again at the next start for
the same findings, again when the findings change, and never when the bot cannot post there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.adapters.server_check import ServerReport
from bot.config import Config
from bot.services.setup_report import AUDIT_ACTION, compose
from bot.storage import Database
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from loopback.world import ROLE_PERMISSION, CommandPermission, Message, Permission
from tests.adapters.test_server_check import LINKS


def reports(sandbox: Sandbox) -> list[Message]:
    """The bot's setup reports in the coordinators' channel."""
    return [m for m in sandbox.channel_messages("coordinators") if "needs a few things set up" in m.content]


async def start_once(sandbox: Sandbox, config: Config) -> ServerReport:
    """Start the real bot, wait for its start-up check, stop it; the check's report."""
    async with practice_bot(sandbox, config) as bot:
        assert bot.setup_check is not None
        report = await bot.setup_check
    assert report is not None
    return report


@pytest.fixture
def config(sandbox: Sandbox, tmp_path: Path) -> Config:
    return config_for_world(sandbox.world, tmp_path / "bot", sections={"links": LINKS})


async def test_nothing_is_posted_when_everything_is_in_place(sandbox: Sandbox, config: Config) -> None:
    report = await start_once(sandbox, config)
    assert report.findings == []
    assert reports(sandbox) == []


async def test_a_report_goes_once_and_again_only_when_the_findings_change(sandbox: Sandbox, config: Config) -> None:
    world = sandbox.world
    coordinator = world.find_role("Coordinator")
    coordinator.permissions = Permission(0)  # as a new server's role would be

    first = await start_once(sandbox, config)
    [posted] = reports(sandbox)
    assert [f.key for f in first.findings] == [f.key for f in first.findings if f.key.startswith("staff:")]
    assert f"Members with only the <@&{coordinator.id}> role cannot see /series" in posted.content
    assert "Server Settings > Integrations > Practice Circles > Roles & Members" in posted.content
    assert "python -m bot check --live" in posted.content
    assert posted.allowed_mentions == {"parse": []}, "naming the role pings nobody"

    await start_once(sandbox, config)
    assert len(reports(sandbox)) == 1, "the same findings are not posted at every restart"

    # A coordinator follows the click path; the next start finds nothing and says nothing.
    world.set_command_permissions(None, [CommandPermission(coordinator.id, ROLE_PERMISSION, True)])
    assert (await start_once(sandbox, config)).findings == []
    assert len(reports(sandbox)) == 1

    # Something else goes wrong later: that is news, and is posted.
    world.find_role("Practice Circles").permissions &= ~(Permission.CREATE_EVENTS | Permission.MANAGE_EVENTS)
    await start_once(sandbox, config)
    latest = reports(sandbox)
    assert len(latest) == 2 and "lacks Create Events" in latest[-1].content

    async with Database.open(config.storage.database) as db:
        recorded = [row.details["findings"] for row in await db.list_audit(action=AUDIT_ACTION)]
    assert len(recorded) == 3 and recorded[1] == [], "newest first: events, then the clean start, then the first"


async def test_without_a_way_to_post_it_is_logged_and_posted_once_it_can_be(
    sandbox: Sandbox, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    world = sandbox.world
    bot_role = world.find_role("Practice Circles")
    coordinators = world.find_channel("coordinators")
    allowed = coordinators.overwrites.pop(bot_role.id)
    with caplog.at_level(logging.WARNING):
        report = await start_once(sandbox, config)
    assert any("cannot see #coordinators" in f.text for f in report.findings)
    assert "server setup: The bot cannot see #coordinators" in caplog.text
    assert not sandbox.requests_to("POST", "/channels/{channel_id}/messages"), "no post it would be refused"

    coordinators.overwrites[bot_role.id] = allowed
    world.find_role("Practice Circles").permissions &= ~Permission.MOVE_MEMBERS
    await start_once(sandbox, config)
    [posted] = reports(sandbox)
    assert "lacks Move Members" in posted.content


def test_a_long_report_fits_one_message_and_says_how_to_see_the_rest() -> None:
    from bot.model import SetupFinding

    findings = [SetupFinding(f"k{i}", "x" * 150, f"finding {i}: " + "y" * 150) for i in range(30)]
    text = compose(findings)
    assert len(text) <= 2000
    assert "finding 0:" in text and "finding 29:" not in text
    shown = text.count("finding ")
    assert f"\u2026and {30 - shown} more" in text
