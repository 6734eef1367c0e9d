"""The real bot, over real sockets, against the loopback Discord and Discord's own API rules."""

from __future__ import annotations

from bot.adapters.bot import PracticeCirclesBot
from loopback import Sandbox

MESSAGES_ROUTE = "/channels/{channel_id}/messages"


async def test_member_runs_a_slash_command_and_sees_a_private_reply(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("guidelines", "selfcare", "links")
    reply = await (await sandbox.person("sam").run_command("guidelines")).response()
    assert reply.ephemeral
    assert reply.embeds[0]["title"] == "How our practice sessions work"
    assert "no participant leads the practice" in reply.embeds[0]["description"]
    assert sandbox.channel_messages("general") == [], "a private reply posts nothing in the channel"


async def test_links_come_from_the_configuration(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await sandbox.wait_for_commands("links")
    reply = await (await sandbox.person("priya").run_command("links")).response()
    description = reply.embeds[0]["description"]
    for url in (
        "https://community.example.org/msc",
        "mailto:coordinators@example.org",
        "https://donate.example.org/msc",
        "https://share.example.org/practice-circles",
    ):
        assert url in description


async def test_every_request_the_bot_made_was_checked_against_the_spec(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("selfcare")
    await (await sandbox.person("jonas").run_command("selfcare")).response()
    authorised = [record for record in sandbox.request_log if record.status != 401]
    if sandbox.spec is not None:
        assert sandbox.validated_requests == len(authorised) > 0
    assert sandbox.spec_violations == []


async def test_a_429_is_honoured_no_request_repeats_before_retry_after(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    sandbox.faults.inject(429, 1, route=MESSAGES_ROUTE, retry_after=0.4)
    await practice.core.sessions.announcer.to_coordinators("A gentle note for the coordinators.")
    attempts = sandbox.requests_to("POST", MESSAGES_ROUTE)
    assert [record.status for record in attempts] == [429, 200]
    assert attempts[1].time - attempts[0].time >= 0.4
    assert sandbox.rate_limiter is not None and sandbox.rate_limiter.violations == []
    assert [m.content for m in sandbox.channel_messages("coordinators")] == ["A gentle note for the coordinators."]


async def test_the_bot_asks_only_for_the_intents_it_needs(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    intents = practice.intents
    assert intents.guilds and intents.members and intents.voice_states and intents.guild_scheduled_events
    assert not intents.message_content, "the bot never reads message content"
    assert not intents.presences
    assert practice.allowed_mentions is not None
    assert practice.allowed_mentions.to_dict() == {"parse": []}, "no @everyone, role or user pings by default"
