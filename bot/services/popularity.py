"""Which sessions are popular: per-session figures grouped by series and by Pacific weekday and hour.

For coordinators deciding when to hold sessions. Figures come from `Database.occurrence_stats`;
this module only groups and presents them, so it needs no Discord and no SQL.

Counting rules, stated once:
- cancelled sessions are left out of every figure (they are counted separately);
- mean sign-ups are per session; mean attendance is per session that has run (status open,
  teacher_led, no_teacher or closed), so sessions still ahead in the period do not pull it down;
- attendance is the number of distinct people who joined the voice channel.

Pacific time appears only here at the edge: a session's start is converted with
`bot.schedule.rules.utc_to_pacific`, so an 18:30 session is "Mon 18:xx" all year, across DST changes.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.schedule.rules import format_pacific, utc_to_pacific
from bot.storage.stats import OccurrenceStats

if TYPE_CHECKING:
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

__all__ = [
    "MAX_TABLE_CHARS",
    "GroupFigures",
    "PopularityReport",
    "build_report",
    "popularity_report",
    "render_chart",
    "render_table",
    "to_csv",
]

# Leaves room for the ``` fences and a line of text around the table in a 2000-character message.
MAX_TABLE_CHARS = 1900

_RAN_STATUSES = frozenset({"open", "teacher_led", "no_teacher", "closed"})
_SHORT_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ONE_OFF_LABEL = "One-off sessions"
_NAME_WIDTH = 24
# Spreadsheet apps run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """Totals for a group of sessions: a series, a weekday-and-hour slot, or everything."""

    label: str
    sessions: int
    ran: int
    total_signups: int
    total_attendance: int
    no_teacher: int
    series_id: int | None = None
    weekday: int | None = None  # 0 = Monday, Pacific
    hour: int | None = None  # Pacific start hour, 0-23

    @property
    def mean_signups(self) -> float:
        """Return sign-ups per session (0.0 for no sessions)."""
        return self.total_signups / self.sessions if self.sessions else 0.0

    @property
    def mean_attendance(self) -> float:
        """Return distinct attendees per session that has run (0.0 if none has)."""
        return self.total_attendance / self.ran if self.ran else 0.0


@dataclass(frozen=True, slots=True)
class PopularityReport:
    """Figures for the sessions starting in [start_utc, end_utc), most popular groups first."""

    start_utc: datetime
    end_utc: datetime
    total: GroupFigures
    by_series: tuple[GroupFigures, ...]
    by_slot: tuple[GroupFigures, ...]
    cancelled: int


class _StatsSource(Protocol):
    """What popularity_report needs from the database."""

    async def occurrence_stats(self, start_from: datetime, start_before: datetime) -> list[OccurrenceStats]:
        """Return per-session figures for the period."""
        ...


# --- Building ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Flatten user text to one line: control characters and line breaks become single spaces."""
    spaced = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    return _WHITESPACE_RUN.sub(" ", spaced).strip()


def _figures(label: str, rows: Sequence[OccurrenceStats], **key: int | None) -> GroupFigures:
    """Add up a group's sessions."""
    return GroupFigures(
        label=label,
        sessions=len(rows),
        ran=sum(1 for row in rows if row.status in _RAN_STATUSES),
        total_signups=sum(row.signups for row in rows),
        total_attendance=sum(row.attendance for row in rows),
        no_teacher=sum(1 for row in rows if row.without_teacher),
        **key,
    )


def _popularity_order(group: GroupFigures) -> tuple[float, float, str]:
    """Sort key: most sign-ups per session first, then attendance, then name."""
    return (-group.mean_signups, -group.mean_attendance, group.label.casefold())


def build_report(stats: Iterable[OccurrenceStats], start_utc: datetime, end_utc: datetime) -> PopularityReport:
    """Group per-session figures by series and by Pacific weekday and hour."""
    utc_to_pacific(start_utc)  # refuse naive or unsupported bounds up front
    utc_to_pacific(end_utc)
    all_rows = list(stats)
    held = [row for row in all_rows if row.status != "cancelled"]

    by_series: dict[int | None, list[OccurrenceStats]] = defaultdict(list)
    by_slot: dict[tuple[int, int], list[OccurrenceStats]] = defaultdict(list)
    for row in held:
        by_series[row.series_id].append(row)
        local = utc_to_pacific(row.start_utc)
        by_slot[(local.weekday(), local.hour)].append(row)

    series_groups = []
    for series_id, rows in by_series.items():
        if series_id is None:
            label = _ONE_OFF_LABEL
        else:
            latest = max(rows, key=lambda row: row.start_utc)
            label = _clean(latest.series_title or latest.title)
        series_groups.append(_figures(label, rows, series_id=series_id))
    slot_groups = [
        _figures(f"{_SHORT_WEEKDAYS[weekday]} {hour:02d}:xx", rows, weekday=weekday, hour=hour)
        for (weekday, hour), rows in by_slot.items()
    ]
    return PopularityReport(
        start_utc=start_utc,
        end_utc=end_utc,
        total=_figures("All sessions", held),
        by_series=tuple(sorted(series_groups, key=_popularity_order)),
        by_slot=tuple(sorted(slot_groups, key=_popularity_order)),
        cancelled=len(all_rows) - len(held),
    )


async def popularity_report(db: _StatsSource, start_utc: datetime, end_utc: datetime) -> PopularityReport:
    """Read the period's per-session figures from the database and build the report."""
    return build_report(await db.occurrence_stats(start_utc, end_utc), start_utc, end_utc)


# --- Table ------------------------------------------------------------------------------------


def _char_width(char: str) -> int:
    """Return how many monospace cells a character takes (wide CJK/emoji 2, combining marks 0)."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fit(text: str, width: int) -> str:
    """Cut and pad text to exactly `width` monospace cells, ending a cut with an ellipsis."""
    # Backticks would close the Discord code block the table is posted in.
    text = _clean(text).replace("`", "'")
    used, kept = 0, []
    total = sum(_char_width(char) for char in text)
    room = width if total <= width else width - 1
    for char in text:
        cells = _char_width(char)
        if used + cells > room:
            break
        kept.append(char)
        used += cells
    if total > width:
        kept.append("…")
        used += 1
    return "".join(kept) + " " * (width - used)


def _table_row(group: GroupFigures) -> str:
    """Format one group as a fixed-width line."""
    return (
        f"{_fit(group.label, _NAME_WIDTH)} {group.sessions:>4} {group.total_signups:>5} {group.mean_signups:>5.1f}"
        f" {group.total_attendance:>5} {group.mean_attendance:>5.1f} {group.no_teacher:>4}"
    )


def _table_head(title: str) -> list[str]:
    """Return the two header lines of a section."""
    return [
        f"{'':<{_NAME_WIDTH}} {'':>4} {'Sign-ups':>11} {'Came':>11} {'No':>4}",
        f"{title:<{_NAME_WIDTH}} {'Sess':>4} {'total':>5} {'avg':>5} {'total':>5} {'avg':>5} {'tchr':>4}",
    ]


def render_table(report: PopularityReport) -> str:
    """Render the report as monospace text for a Discord code block (at most MAX_TABLE_CHARS characters)."""
    period = f"{format_pacific(report.start_utc)} to {format_pacific(report.end_utc)}"
    head = [f"Sessions from {period}"]
    total = report.total
    if total.sessions == 0:
        cancelled = f" ({report.cancelled} cancelled)" if report.cancelled else ""
        return "\n".join([*head, f"No sessions were held in this period{cancelled}."])[:MAX_TABLE_CHARS]
    head.append(
        f"{total.sessions} sessions ({total.ran} have run), {report.cancelled} cancelled, "
        f"{total.no_teacher} without a teacher"
    )
    foot = [
        "",
        "avg sign-ups per session; avg came per session that has run;",
        "times are the Pacific start hour (18:xx = 18:00-18:59).",
    ]
    sections = [
        (_table_head("Series"), [_table_row(group) for group in report.by_series]),
        (_table_head("Pacific slot"), [_table_row(group) for group in report.by_slot]),
    ]
    keep = [len(rows) for _, rows in sections]
    while True:
        lines = list(head)
        for (section_head, rows), count in zip(sections, keep, strict=True):
            lines += ["", *section_head, *rows[:count]]
            if count < len(rows):
                lines.append(f"... and {len(rows) - count} more (see the CSV)")
        text = "\n".join(lines + foot)
        if len(text) <= MAX_TABLE_CHARS or not any(keep):
            return text[:MAX_TABLE_CHARS]
        # Drop the least popular row of whichever section is showing more rows.
        longest = max(range(len(keep)), key=lambda index: keep[index])
        keep[longest] -= 1


# --- CSV --------------------------------------------------------------------------------------


def _csv_cell(value: object) -> str:
    """Render one cell, defusing text a spreadsheet would run as a formula."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(report: PopularityReport) -> str:
    """Render the report as CSV: one row per series, per Pacific slot, and a total row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "grouping",
            "group",
            "series_id",
            "pacific_weekday",
            "pacific_hour",
            "sessions",
            "sessions_run",
            "signups_total",
            "signups_mean",
            "attendance_total",
            "attendance_mean",
            "no_teacher",
        ]
    )
    rows = [
        *(("series", group) for group in report.by_series),
        *(("pacific_slot", group) for group in report.by_slot),
        ("total", report.total),
    ]
    for grouping, group in rows:
        writer.writerow(
            _csv_cell(value)
            for value in (
                grouping,
                _clean(group.label),
                group.series_id,
                None if group.weekday is None else _SHORT_WEEKDAYS[group.weekday],
                group.hour,
                group.sessions,
                group.ran,
                group.total_signups,
                f"{group.mean_signups:.2f}",
                group.total_attendance,
                f"{group.mean_attendance:.2f}",
                group.no_teacher,
            )
        )
    return buffer.getvalue()


# --- Chart ------------------------------------------------------------------------------------


def render_chart(report: PopularityReport) -> bytes:
    """Render a PNG heatmap of mean sign-ups by Pacific weekday and start hour."""
    # Imported here so the table and CSV do not pay for matplotlib; Figure + Agg canvas directly,
    # never pyplot, so no global figure state is created or leaked.
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    slots = [
        (group.weekday, group.hour, group)
        for group in report.by_slot
        if group.weekday is not None and group.hour is not None
    ]
    period = f"{format_pacific(report.start_utc)} to {format_pacific(report.end_utc)}"
    if not slots:
        figure = Figure(figsize=(6.4, 2.4), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_axis_off()
        axes.set_title(f"Mean sign-ups by weekday and hour (Pacific time)\n{period}", fontsize=10)
        axes.text(0.5, 0.4, "No sessions were held in this period.", ha="center", va="center", fontsize=12)
        return _png(figure)

    first_hour = min(hour for _, hour, _ in slots)
    last_hour = max(hour for _, hour, _ in slots)
    hours = list(range(first_hour, last_hour + 1))
    means = np.full((7, len(hours)), np.nan)
    counts = np.zeros((7, len(hours)), dtype=int)
    for weekday, hour, group in slots:
        means[weekday, hour - first_hour] = group.mean_signups
        counts[weekday, hour - first_hour] = group.sessions

    figure = Figure(figsize=(max(6.4, 1.0 + 0.75 * len(hours)), 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # cividis is designed to read the same with red-green colour blindness and in greyscale.
    colormap = _colormap("cividis")
    shown = np.ma.masked_invalid(means)
    highest = float(np.nanmax(means)) or 1.0
    image = axes.imshow(shown, cmap=colormap, aspect="auto", vmin=0.0, vmax=highest)
    axes.set_xticks(range(len(hours)), [f"{hour:02d}:00" for hour in hours], rotation=45 if len(hours) > 8 else 0)
    axes.set_yticks(range(7), list(_SHORT_WEEKDAYS))
    axes.set_xlabel("Start hour (Pacific time)")
    axes.set_ylabel("Weekday (Pacific time)")
    axes.set_title(f"Mean sign-ups per session by weekday and hour\n{period}", fontsize=10)
    for row in range(7):
        for column in range(len(hours)):
            if counts[row, column]:
                value = means[row, column]
                # Dark text on the light end of the map, light text on the dark end.
                light_cell = value / highest > 0.6
                axes.text(
                    column,
                    row,
                    f"{value:.1f}\n({counts[row, column]})",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if light_cell else "white",
                )
    colorbar = figure.colorbar(image, ax=axes)
    colorbar.set_label("Mean sign-ups per session (number of sessions in brackets)")
    return _png(figure)


def _colormap(name: str) -> Colormap:
    """Return a registered matplotlib colormap, with empty cells drawn light grey."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="#eeeeee")


def _png(figure: Figure) -> bytes:
    """Serialise a figure as PNG bytes without embedding a timestamp or software version."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
