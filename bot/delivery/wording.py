"""The words of reminders and notices, built from a ledger row and the session it is about.

Times are Discord timestamps, which each member's client shows in their own time zone, with the
US Pacific wall-clock time beside them (the schedule's own time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import texts
from bot.model import DeliveryRow, OccurrenceRow
from bot.schedule.rules import discord_timestamp, format_pacific, when
from bot.validation import display_safe


def message_for(row: DeliveryRow, occurrence: OccurrenceRow, *, late: bool, note: str | None = None) -> str:
    """The message a member receives for one ledger row."""
    kind = row.key.kind
    title = display_safe(occurrence.title)
    lines: list[str]
    if kind.startswith("reminder:"):
        template = texts.REMINDER_LATE if late else texts.REMINDER
        lines = [
            template.format(
                title=title,
                relative=discord_timestamp(occurrence.start_utc, "R"),
                when=when(occurrence.start_utc),
                pacific=format_pacific(occurrence.start_utc),
            ),
            texts.REMINDER_WHERE.format(channel=occurrence.channel_id),
        ]
    else:
        lines = _notice_lines(kind.removeprefix("notice:"), row.payload, occurrence)
    if note:
        lines.append(note)
    lines.append(texts.NOTICE_FOOTER)
    return "\n".join(lines)


def _notice_lines(change: str, payload: Any, occurrence: OccurrenceRow) -> list[str]:
    title = display_safe(occurrence.title)
    start = when(occurrence.start_utc)
    if change == "cancelled":
        lines = [texts.NOTICE_CANCELLED.format(title=title, when=start)]
        if payload.get("reason"):
            lines.append(texts.NOTICE_CANCELLED_REASON.format(reason=display_safe(payload["reason"])))
        return lines
    if change == "moved":
        old = dt.datetime.fromisoformat(payload["old_start"])
        return [
            texts.NOTICE_MOVED.format(
                title=title, old_when=when(old), new_when=start, pacific=format_pacific(occurrence.start_utc)
            )
        ]
    if change == "channel":
        return [
            texts.NOTICE_CHANNEL.format(
                title=title, when=start, new_channel=payload["new_channel"], old_channel=payload["old_channel"]
            )
        ]
    if change == "teacher":
        teacher = payload.get("new_teacher")
        if teacher:
            return [texts.NOTICE_TEACHER_CHANGED.format(title=title, when=start, teacher=teacher)]
        return [texts.NOTICE_TEACHER_NONE.format(title=title, when=start)]
    if change == "clocks":
        # The note itself (what moves, and why) is added by message_for.
        return [texts.NOTICE_CLOCKS.format(title=title, when=start)]
    if change == "restored":
        return [texts.NOTICE_RESTORED.format(title=title, when=start)]
    raise ValueError(f"no wording for notice {change!r}")
