"""The `schedule` command: preview the session times a weekly rule or a one-off would give."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from bot.errors import ScheduleError
from bot.schedule.rules import (
    WEEKDAY_NAMES,
    WeeklyRule,
    dst_note,
    format_pacific,
    pacific_wall_to_utc,
    parse_pacific_date,
    parse_pacific_wall,
    utc_isoformat,
    utc_to_pacific,
)

DEFAULT_COUNT = 10
# A preview is for reading; this bound keeps a typo like --count 1000000 from flooding the terminal.
MAX_PREVIEW_COUNT = 10_000

_EXAMPLES = """\
examples:
  python -m bot schedule preview --weekly MON,WED@18:30 --from 2026-03-01 --count 6
  python -m bot schedule preview --weekly SUN@02:30 --from 2026-03-01 --interval 2 --until 2026-12-31
  python -m bot schedule preview --once "2026-03-08 02:30" --json

Times are Pacific wall-clock times (America/Los_Angeles). A time that does not exist on a
spring-forward day is read with the offset before the jump (02:30 becomes 03:30 PDT); a time that
happens twice on a fall-back day is the first one (PDT).
"""


def register(subparsers: Any) -> None:
    """Add the `schedule` command and its `preview` subcommand."""
    parser = subparsers.add_parser(
        "schedule",
        help="preview session times for a weekly rule or a one-off session",
        description="Work with session schedules set in US Pacific time.",
    )
    commands = parser.add_subparsers(dest="schedule_command", metavar="SUBCOMMAND")
    commands.required = True
    preview = commands.add_parser(
        "preview",
        help="list the session times a rule gives, in Pacific time and UTC",
        description="List the session times a weekly rule or a one-off gives, in Pacific time and UTC.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Values are read as text and checked by bot.schedule.rules, so every mistake gets the same kind of
    # explanation (argparse's own "invalid int value" says less).
    preview.add_argument("--weekly", metavar="DAYS@HH:MM", help="weekdays and a time, e.g. MON,WED@18:30")
    preview.add_argument("--once", metavar="'YYYY-MM-DD HH:MM'", help="a single session, e.g. '2026-03-08 02:30'")
    preview.add_argument(
        "--from",
        dest="from_date",
        metavar="YYYY-MM-DD",
        help="first date of the rule (default: today, Pacific)",
    )
    preview.add_argument("--count", metavar="N", help=f"how many sessions to list (default {DEFAULT_COUNT})")
    preview.add_argument("--interval", metavar="N", help="every N weeks, 1-52 (default 1)")
    preview.add_argument("--until", metavar="YYYY-MM-DD", help="last date of the rule, inclusive")
    preview.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    preview.set_defaults(handler=_preview)


def _parse_count(text: str | None) -> int:
    """Read --count, which must be a whole number from 1 to MAX_PREVIEW_COUNT."""
    if text is None:
        return DEFAULT_COUNT
    cleaned = text.strip()
    if not cleaned.isdecimal() or not 1 <= int(cleaned) <= MAX_PREVIEW_COUNT:
        raise ScheduleError(
            f"--count {cleaned!r} must be a whole number from 1 to {MAX_PREVIEW_COUNT}, like --count 8."
        )
    return int(cleaned)


def _today_pacific() -> date:
    """Return today's date in Pacific time."""
    return utc_to_pacific(datetime.now(UTC)).date()


def _session_record(instant: datetime) -> dict[str, str]:
    """Describe one session start for --json output."""
    local = utc_to_pacific(instant)
    return {
        "start_utc": utc_isoformat(instant),
        "start_pacific": local.isoformat(),
        "weekday": WEEKDAY_NAMES[local.weekday()],
        "zone": str(local.tzname()),
    }


def _preview(args: argparse.Namespace) -> int:
    """Print the sessions for --weekly or --once as a table or JSON."""
    if args.weekly is None and args.once is None:
        raise ScheduleError(
            "Say what to preview: --weekly DAYS@HH:MM (like --weekly MON,WED@18:30) "
            "or --once 'YYYY-MM-DD HH:MM' (like --once '2026-03-08 18:30')."
        )
    if args.weekly is not None and args.once is not None:
        raise ScheduleError("Give either --weekly or --once, not both: preview one schedule at a time.")

    walls: list[datetime]
    if args.once is not None:
        weekly_only = [
            flag
            for flag, value in (
                ("--from", args.from_date),
                ("--count", args.count),
                ("--interval", args.interval),
                ("--until", args.until),
            )
            if value is not None
        ]
        if weekly_only:
            raise ScheduleError(
                f"--once is a single session, so {', '.join(weekly_only)} does not apply; "
                "those options go with --weekly."
            )
        walls = [parse_pacific_wall(args.once)]
        instants = [pacific_wall_to_utc(walls[0])]
        heading = f"One session at {walls[0]:%Y-%m-%d %H:%M} Pacific time"
    else:
        count = _parse_count(args.count)
        starts_on = parse_pacific_date(args.from_date) if args.from_date is not None else _today_pacific()
        rule = WeeklyRule.parse(
            args.weekly,
            starts_on,
            args.interval if args.interval is not None else 1,
            args.until,
        )
        instants = rule.first(count)
        # A DST shift never moves a session to another date, so the Pacific date plus the rule's
        # time is the wall-clock reading the rule asked for.
        walls = [datetime.combine(utc_to_pacific(instant).date(), rule.at) for instant in instants]
        heading = (
            f"{rule.describe()}\n"
            f"DTSTART;TZID=America/Los_Angeles:{rule.dtstart_local():%Y%m%dT%H%M%S}\n"
            f"RRULE:{rule.to_rrule()}"
        )

    if args.json:
        print(json.dumps([_session_record(instant) for instant in instants], indent=2))
        return 0
    print(_format_table(heading, instants, walls))
    return 0


def _format_table(heading: str, instants: list[datetime], walls: list[datetime]) -> str:
    """Lay out sessions as numbered rows of Pacific and UTC times, with DST notes underneath."""
    number_width = len(str(len(instants)))
    pacific_texts = [format_pacific(instant) for instant in instants]
    pacific_width = max(len("Pacific"), *(len(text) for text in pacific_texts))
    lines = [heading, "", f"{'#':>{number_width}}  {'Pacific':<{pacific_width}}  UTC"]
    notes = []
    for number, (instant, pacific_text, wall) in enumerate(zip(instants, pacific_texts, walls, strict=True), 1):
        note = dst_note(wall)
        marker = ""
        if note is not None:
            notes.append(f"{number}: {note}")
            marker = "  *"
        lines.append(f"{number:>{number_width}}  {pacific_text:<{pacific_width}}  {utc_isoformat(instant)}{marker}")
    if notes:
        lines.append("")
        lines.append("* Daylight saving:")
        lines.extend(f"  {note}" for note in notes)
    return "\n".join(lines)
