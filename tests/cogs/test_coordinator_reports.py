"""The coordinators' reports: popularity (table, PNG chart, CSV) and the change log, on the loopback Discord."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from PIL import Image

from bot.adapters.bot import PracticeCirclesBot
from bot.services.reports import AUDIT_COLUMNS
from loopback import Sandbox
from loopback.markdown import render
from loopback.people import Reply
from loopback.world import Attachment
from tests.cogs.coordinator_support import ask, pacific_day, weekly_series

FORMULA_TITLE = '=HYPERLINK("https://example.org","Evening")'


async def held_sessions(bot: PracticeCirclesBot, sandbox: Sandbox) -> None:
    """In the past fortnight: a session of each of two series, with sign-ups and attendance, and a cancelled one-off."""
    db, now = bot.core.db, dt.datetime.now(dt.UTC)
    stage = sandbox.world.find_channel("Practice Circle").id
    people = [sandbox.person(name).id for name in ("sam", "priya", "jonas")]
    for days, title, coming in ((3, "Evening practice", 3), (10, FORMULA_TITLE, 1)):
        start = now - dt.timedelta(days=days)
        series = await db.create_series(
            title=title,
            weekdays=["MO"],
            local_time=dt.time(18, 30),
            starts_on=start.date() - dt.timedelta(days=7),
            duration_minutes=45,
            channel_id=stage,
            status="ended",
        )
        await db.ensure_occurrences(
            series.id, [start], duration_minutes=45, channel_id=stage, title=title, practice=None
        )
        (occurrence,) = await db.list_occurrences(start, start + dt.timedelta(seconds=1))
        for user in people[:coming]:
            await db.sign_up(occurrence.id, user)
            await db.record_join(occurrence.id, user, occurrence.start_utc)
        await db.set_occurrence_status(occurrence.id, "closed")
    skipped = await db.add_one_off(
        start=now - dt.timedelta(days=5), duration_minutes=45, channel_id=stage, title="Extra sit"
    )
    await db.cancel_occurrence(skipped.id)


def only_attachment(reply: Reply) -> Attachment:
    """The single file a reply carries."""
    assert reply.message is not None
    (attachment,) = reply.message.attachments
    return attachment


def csv_rows(attachment: Attachment) -> list[list[str]]:
    """A CSV attachment's rows (it starts with a byte-order mark for spreadsheet apps)."""
    assert attachment.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(attachment.data.decode("utf-8-sig"), newline="")))


async def test_popularity_is_posted_in_the_coordinators_channel_with_a_table_and_a_png_chart(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    await held_sessions(practice, sandbox)
    laila = sandbox.person("laila")
    reply = await ask(laila, "report popularity", {"weeks": 2}, channel="coordinators")
    assert not reply.ephemeral, "a report asked for in the coordinators' channel is shared there"
    assert [m.id for m in sandbox.channel_messages("coordinators")] == [reply.message and reply.message.id]
    assert reply.content.startswith("📊 Session popularity over the last 2 week(s):\n```\n")
    assert reply.content.endswith("\n```") and len(reply.content) <= 2000
    assert "2 sessions (2 have run), 1 cancelled, 2 without a teacher" in reply.content
    assert "Evening practice" in reply.content
    chart = only_attachment(reply)
    assert chart.filename.endswith(".png") and chart.size > 0
    assert chart.description == "Heatmap of mean sign-ups by Pacific weekday and hour"
    with Image.open(io.BytesIO(chart.data)) as image:
        image.verify()
        assert image.format == "PNG" and image.width > 100 and image.height > 100


async def test_popularity_asked_elsewhere_is_shown_only_to_the_coordinator(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    reply = await ask(sandbox.person("laila"), "report popularity")
    assert reply.ephemeral and "only you see this" in reply.content
    assert "No sessions were held in this period." in reply.content
    assert only_attachment(reply).data.startswith(b"\x89PNG\r\n\x1a\n")
    assert sandbox.channel_messages("general") == []


async def test_popularity_csv_parses_and_defuses_formulas(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    await held_sessions(practice, sandbox)
    reply = await ask(sandbox.person("laila"), "report csv", {"weeks": 2}, channel="coordinators")
    assert not reply.ephemeral
    attachment = only_attachment(reply)
    assert attachment.filename.endswith(".csv")
    header, *rows = csv_rows(attachment)
    assert header[:3] == ["grouping", "group", "series_id"]
    groups = {(row[0], row[1]): row for row in rows}
    assert groups[("total", "All sessions")][5:8] == ["2", "2", "4"]
    assert groups[("series", "Evening practice")][7] == "3"
    assert groups[("series", "'" + FORMULA_TITLE)][7] == "1", "a title a spreadsheet would run is defused"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


async def test_audit_shows_who_changed_what_and_when(sandbox: Sandbox, practice: PracticeCirclesBot) -> None:
    laila = sandbox.person("laila")
    series, sessions = await weekly_series(practice, laila)
    await ask(laila, "session move", {"session": sessions[0].id, "start": f"{pacific_day(5)} 06:45"})
    await ask(laila, "session cancel", {"session": sessions[1].id, "reason": "**Holiday** <@everyone>"})
    reply = await ask(laila, "report audit", {"limit": 10})
    assert reply.ephemeral
    lines = [line for line in reply.embeds[0]["description"].splitlines() if f"<@{laila.id}>" in line]
    assert len(lines) == 3 and all(line.startswith("<t:") for line in lines)
    assert f"**cancelled a session** · session #{sessions[1].id}" in lines[0]
    shown = render(lines[0])
    assert "reason: **Holiday** <@everyone>" in shown.text.replace("\u200b", ""), "typed text is shown as typed"
    assert shown.styles == ["bold"], "only the bot's own bold action name; the typed ** shows as typed"
    assert shown.mentions == [f"@{laila.id}"], "the typed @everyone is no mention"
    assert f"**moved a session** · session #{sessions[0].id}" in lines[1]
    assert f"**created a series** · series #{series.id}" in lines[2]


async def test_audit_export_is_a_spreadsheet_of_every_change_with_names_and_defused_cells(
    sandbox: Sandbox, practice: PracticeCirclesBot
) -> None:
    eve = await sandbox.join_guild("eve", "=Eve", roles=["Coordinator"])
    series, sessions = await weekly_series(practice, sandbox.person("laila"))
    await ask(eve, "session cancel", {"session": sessions[0].id, "reason": "+1 snow day"})
    reply = await ask(eve, "report audit-export")
    stored = await practice.core.db.list_audit(limit=None)
    assert reply.ephemeral and f"({len(stored)} entries)" in reply.content
    header, *rows = csv_rows(only_attachment(reply))
    assert tuple(header) == AUDIT_COLUMNS and len(rows) == len(stored)
    created, cancelled = (row for row in rows if row[5] in ("series.create", "session.cancel"))
    assert (created[3], created[4], created[5], created[6]) == (
        str(sandbox.person("laila").id),
        "Laila",
        "series.create",
        f"series:{series.id}",
    )
    assert created[1].endswith("Z") and created[2].endswith(("PST", "PDT"))
    assert (cancelled[4], cancelled[5]) == ("'=Eve", "session.cancel")
    assert json.loads(cancelled[7]) == {"reason": "+1 snow day"}
