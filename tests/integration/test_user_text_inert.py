"""What people type shows as they typed it wherever the bot shows it, read as a Discord client renders it.

A title, a reason or feedback holding Discord markdown must not become a heading, subtext, a quote,
a list, a live link, a timestamp, a command mention or a mention in someone else's view: the bot
would be speaking in a volunteer's words. The checks read each message through the loopback's
renderer (loopback.markdown), which shows text the way a Discord client does.
"""

from __future__ import annotations

import datetime as dt

from bot.adapters.bot import PracticeCirclesBot
from bot.schedule.rules import utc_to_pacific
from loopback import Sandbox
from loopback.markdown import Rendered, render

ZWSP = "\u200b"
EVIL = "evil.example"


def assert_inert(shown: str, typed: str) -> Rendered:
    """The typed text appears literally in what is shown, and none of it became formatting."""
    rendered = render(shown)
    assert typed in rendered.text.replace(ZWSP, ""), f"{typed!r} is not shown as typed in:\n{rendered.text}"
    assert rendered.headings == rendered.subtext == rendered.list_items == [], rendered
    assert not [link for link in rendered.links if EVIL in link], f"a live link: {rendered.links}"
    assert "t:0:R" not in rendered.timestamps and "/help:1" not in rendered.command_mentions
    assert not [mention for mention in rendered.mentions if mention in ("@everyone", "@here")]
    return rendered


async def test_feedback_reaches_the_coordinators_as_plain_text_not_a_heading_with_a_live_link(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("feedback")
    priya = sandbox.person("priya")
    form = await (await priya.run_command("feedback")).response()
    assert form.modal is not None
    lines = [
        "# URGENT: your account is locked, sign in at https://evil.example/claim",
        "-# this is an official notice",
        "> from the coordinators",
        "1. open [this link](https://evil.example/a) <https://evil.example/b>",
        "@everyone </help:1> <t:0:R>",
    ]
    await (await priya.submit_modal(form.modal["custom_id"], {"text": "\n".join(lines)})).response()

    [posted] = sandbox.channel_messages("coordinators")
    rendered = render(posted.content)
    for line in lines:
        assert_inert(posted.content, line)
    assert rendered.quotes, "the bot's own quote around the feedback is still there"


async def test_a_titles_and_a_reasons_markdown_shows_literally_in_listings_replies_and_notices(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await sandbox.wait_for_commands("session", "schedule", "signup")
    laila, sam = sandbox.person("laila"), sandbox.person("sam")
    title = "# Free gift [claim](https://evil.example/g) <t:0:R> </help:1>"
    start = utc_to_pacific(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%d 18:30")
    added = await (
        await laila.run_command("session", {"start": start, "duration": 45, "title": title}, subcommand="add")
    ).response()
    assert_inert(added.content, title)
    [session] = await practice.core.sessions.upcoming(7)

    listing = await (await sam.run_command("schedule")).response()
    field = listing.embeds[0]["fields"][0]
    assert_inert(field["name"], title)
    joined = await (await sam.run_command("signup", {"session": session.occurrence.id})).response()
    assert_inert(joined.content, title)

    reason = "-# see https://evil.example/why"
    cancel = {"session": session.occurrence.id, "reason": reason}
    cancelled = await (await laila.run_command("session", cancel, subcommand="cancel")).response()
    assert_inert(cancelled.content, title)
    await sandbox.wait_until(lambda: sam.dms(), timeout=15, what="Sam's cancellation notice")
    [notice] = sam.dms()
    assert_inert(notice.content, title)
    assert_inert(notice.content, reason)
