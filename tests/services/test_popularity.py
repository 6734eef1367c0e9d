"""The popularity report: figures from a real database grouped by series and Pacific slot, and
its table, CSV and chart renderings.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import matplotlib.image
import pytest

from bot.schedule.rules import pacific_wall_to_utc, rule_for
from bot.services.popularity import (
    MAX_TABLE_CHARS,
    GroupFigures,
    PopularityReport,
    build_report,
    popularity_report,
    render_chart,
    render_table,
    to_csv,
)
from bot.storage import Database

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW_START = datetime(2026, 2, 23, 8, 0, tzinfo=UTC)  # Mon 23 Feb 2026, 00:00 PST
WINDOW_END = datetime(2026, 4, 1, 7, 0, tzinfo=UTC)  # Wed 1 Apr 2026, 00:00 PDT
TEACHER = 100


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "popularity.sqlite3", clock=Clock(datetime(2026, 2, 1, tzinfo=UTC)))
    yield database
    await database.close()


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a Pacific wall-clock time."""
    return pacific_wall_to_utc(datetime(year, month, day, hour, minute))  # noqa: DTZ001 (Pacific wall clock)


async def weekly_series(
    db: Database, title: str, weekday: str, at: time, starts_on: date, until: date
) -> tuple[int, list[int]]:
    """Create a series and store its sessions through the storage API; return (series id, session ids)."""
    series = await db.create_series(
        title=title,
        weekdays=[weekday],
        local_time=at,
        starts_on=starts_on,
        until=until,
        duration_minutes=45,
        channel_id=1,
    )
    starts = rule_for(series).occurrences_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC))
    await db.ensure_occurrences(series.id, starts, 45, 1, title, None)
    rows = await db.list_occurrences(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC), series_id=series.id
    )
    return series.id, [row.id for row in rows]


async def hold(
    db: Database,
    occurrence_id: int,
    *,
    signups: Sequence[int],
    came: Sequence[int] = (),
    teacher: bool = False,
    ran: bool = True,
) -> None:
    """Sign people up, and if the session ran: claim, open, record who came, close."""
    for user in signups:
        await db.sign_up(occurrence_id, user)
    if teacher:
        await db.claim_teacher(occurrence_id, TEACHER)
    if not ran:
        return
    await db.set_occurrence_status(occurrence_id, "open")
    await db.set_occurrence_status(occurrence_id, "teacher_led" if teacher else "no_teacher")
    for user in came:
        await db.record_join(occurrence_id, user)
    await db.close_attendance(occurrence_id)
    await db.set_occurrence_status(occurrence_id, "closed")


@pytest.fixture
async def report(db: Database) -> PopularityReport:
    # Evening: Mondays 18:30 Pacific, across the 8 March change (02:30Z before it, 01:30Z after).
    _, evening = await weekly_series(db, "Evening practice", "MO", time(18, 30), date(2026, 2, 23), date(2026, 3, 30))
    a1, a2, a3, a4, a5, a6 = evening
    await hold(db, a1, signups=[1, 2, 3], came=[1, 2], teacher=True)
    await hold(db, a2, signups=[1, 2], came=[1, 2, 4])
    await hold(db, a3, signups=[1, 2, 3, 4], came=[1, 2, 3], teacher=True)
    await hold(db, a4, signups=[5], ran=False)
    await db.cancel_occurrence(a4)
    await hold(db, a5, signups=[1, 3], came=[1])
    await hold(db, a6, signups=[2], ran=False)  # still ahead
    # Morning: Wednesdays 07:00 Pacific.
    _, morning = await weekly_series(db, "Morning sit", "WE", time(7, 0), date(2026, 2, 25), date(2026, 3, 18))
    b1, b2, b3, b4 = morning
    await hold(db, b1, signups=[1], came=[1], teacher=True)
    await hold(db, b2, signups=[], came=[])
    await hold(db, b3, signups=[6, 7], came=[6, 7], teacher=True)
    await hold(db, b4, signups=[8], teacher=True, ran=False)
    # A one-off on Saturday 14 March, 10:00 Pacific.
    special = await db.add_one_off(start=pacific(2026, 3, 14, 10), duration_minutes=60, channel_id=2, title="Special")
    await hold(db, special.id, signups=[1, 2, 3, 4, 5], came=[1, 2, 3, 5], teacher=True)
    # Outside the window: not counted.
    await db.add_one_off(start=pacific(2026, 4, 2, 10), duration_minutes=60, channel_id=2, title="Too late")
    return await popularity_report(db, WINDOW_START, WINDOW_END)


def figures(group: GroupFigures) -> tuple[object, ...]:
    return (
        group.label,
        group.sessions,
        group.ran,
        group.total_signups,
        group.mean_signups,
        group.total_attendance,
        group.mean_attendance,
        group.no_teacher,
    )


# --- figures ----------------------------------------------------------------------------------


async def test_figures_by_series_equal_the_hand_counts(report: PopularityReport) -> None:
    assert [figures(group) for group in report.by_series] == [
        ("One-off sessions", 1, 1, 5, 5.0, 4, 4.0, 0),
        # 5 sessions (the cancelled one left out), 4 run; 12 sign-ups; 2+3+3+1 came; A2 and A5 unled.
        ("Evening practice", 5, 4, 12, 2.4, 9, 2.25, 2),
        ("Morning sit", 4, 3, 4, 1.0, 3, 1.0, 1),
    ]
    assert figures(report.total) == ("All sessions", 10, 8, 21, 2.1, 16, 2.0, 3)
    assert report.cancelled == 1
    assert report.by_series[0].series_id is None


async def test_a_series_across_the_dst_change_stays_in_one_pacific_slot(db: Database, report: PopularityReport) -> None:
    evening_utc_hours = {
        row.start_utc.hour
        for row in await db.occurrence_stats(WINDOW_START, WINDOW_END)
        if row.title == "Evening practice"
    }
    assert evening_utc_hours == {1, 2}  # the UTC hour changes on 8 March ...
    slots = {(group.weekday, group.hour): figures(group) for group in report.by_slot}
    assert slots == {  # ... the Pacific hour does not
        (0, 18): ("Mon 18:xx", 5, 4, 12, 2.4, 9, 2.25, 2),
        (2, 7): ("Wed 07:xx", 4, 3, 4, 1.0, 3, 1.0, 1),
        (5, 10): ("Sat 10:xx", 1, 1, 5, 5.0, 4, 4.0, 0),
    }
    assert [group.label for group in report.by_slot] == ["Sat 10:xx", "Mon 18:xx", "Wed 07:xx"]


async def test_a_whole_year_of_a_weekly_series_is_one_slot(db: Database) -> None:
    await weekly_series(db, "All year", "MO", time(18, 30), date(2026, 1, 5), date(2026, 12, 28))
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    year = await popularity_report(db, start, end)
    assert [(group.label, group.sessions) for group in year.by_slot] == [("Mon 18:xx", 52)]


def test_means_of_empty_groups_are_zero() -> None:
    empty = build_report([], WINDOW_START, WINDOW_END)
    assert empty.total.sessions == 0
    assert empty.total.mean_signups == 0.0
    assert empty.total.mean_attendance == 0.0
    assert empty.by_series == () and empty.by_slot == ()


def test_naive_bounds_are_refused() -> None:
    with pytest.raises(TypeError):
        build_report([], datetime(2026, 1, 1), WINDOW_END)  # noqa: DTZ001 (the point of the test)


# --- table ------------------------------------------------------------------------------------


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


async def test_table_shows_both_groupings_in_monospace(report: PopularityReport) -> None:
    table = render_table(report)
    assert len(table) <= MAX_TABLE_CHARS
    lines = table.splitlines()
    assert lines[0] == "Sessions from Mon 23 Feb 2026, 00:00 PST to Wed 1 Apr 2026, 00:00 PDT"
    assert lines[1] == "10 sessions (8 have run), 1 cancelled, 3 without a teacher"
    evening = next(line for line in lines if line.startswith("Evening practice"))
    assert evening.split() == ["Evening", "practice", "5", "12", "2.4", "9", "2.2", "2"]
    assert any(line.startswith("Mon 18:xx ") for line in lines)
    rows = [line for line in lines if line[:1] != " " and line.count(".") == 2]
    assert len({len(line) for line in rows}) == 1  # columns line up


async def test_table_keeps_user_text_inside_the_code_block_and_aligned(db: Database) -> None:
    for title in ("Sit ```@everyone```", "禅 zen practice 禅禅禅禅禅禅禅禅", "Two\nlines"):
        series_id, (first, *_) = await weekly_series(db, title, "TU", time(9), date(2026, 3, 3), date(2026, 3, 3))
        await hold(db, first, signups=[1])
    table = render_table(await popularity_report(db, WINDOW_START, WINDOW_END))
    assert "`" not in table
    assert "\nlines" not in table
    rows = [line for line in table.splitlines() if line.count(".") == 2]
    assert len(rows) == 4  # three series and their one shared slot
    assert len({display_width(line) for line in rows}) == 1


async def test_a_long_table_is_cut_to_fit_discord_and_says_so(db: Database) -> None:
    async with db.transaction():  # one commit instead of hundreds
        for number in range(60):
            await add_numbered_series(db, number)
    report = await popularity_report(db, WINDOW_START, WINDOW_END)
    table = render_table(report)
    assert len(table) <= MAX_TABLE_CHARS
    assert "more (see the CSV)" in table
    assert "Series number 59" in table  # the most popular stay
    assert "Series number 00" not in table  # the least popular go first
    assert table.endswith("(18:xx = 18:00-18:59).")  # the legend survives the cut


async def add_numbered_series(db: Database, number: int) -> None:
    """A series with one session, more popular the higher its number, at one of 70 weekday-hour slots."""
    weekday = ("MO", "TU", "WE", "TH", "FR")[number % 5]
    title = f"Series number {number:02d} with a very long descriptive title"
    _, (first, *_) = await weekly_series(db, title, weekday, time(6 + number % 14), date(2026, 3, 2), date(2026, 3, 6))
    await hold(db, first, signups=list(range(number // 3)))


def test_an_empty_report_says_so() -> None:
    assert "No sessions were held" in render_table(build_report([], WINDOW_START, WINDOW_END))


# --- CSV --------------------------------------------------------------------------------------


async def test_csv_has_every_group_and_the_total(report: PopularityReport) -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [(row["grouping"], row["group"]) for row in rows] == [
        ("series", "One-off sessions"),
        ("series", "Evening practice"),
        ("series", "Morning sit"),
        ("pacific_slot", "Sat 10:xx"),
        ("pacific_slot", "Mon 18:xx"),
        ("pacific_slot", "Wed 07:xx"),
        ("total", "All sessions"),
    ]
    evening = rows[1]
    assert (evening["sessions"], evening["sessions_run"], evening["signups_total"], evening["signups_mean"]) == (
        "5",
        "4",
        "12",
        "2.40",
    )
    assert (evening["attendance_total"], evening["attendance_mean"], evening["no_teacher"]) == ("9", "2.25", "2")
    assert (rows[4]["pacific_weekday"], rows[4]["pacific_hour"]) == ("Mon", "18")


@pytest.mark.parametrize(
    "title",
    ['=HYPERLINK("http://example.invalid","x")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1"],
)
async def test_csv_cells_that_a_spreadsheet_would_run_are_defused(db: Database, title: str) -> None:
    _, (first, *_) = await weekly_series(db, title, "TU", time(9), date(2026, 3, 3), date(2026, 3, 3))
    await hold(db, first, signups=[1])
    rows = list(csv.DictReader(io.StringIO(to_csv(await popularity_report(db, WINDOW_START, WINDOW_END)))))
    group = rows[0]["group"]
    assert group.startswith("'")
    assert group.lstrip("'")[0] in "=+-@"


async def test_csv_leaves_ordinary_text_alone(db: Database) -> None:
    _, (first, *_) = await weekly_series(
        db, "Kindness, together; 100%", "TU", time(9), date(2026, 3, 3), date(2026, 3, 3)
    )
    await hold(db, first, signups=[1])
    rows = list(csv.DictReader(io.StringIO(to_csv(await popularity_report(db, WINDOW_START, WINDOW_END)))))
    assert rows[0]["group"] == "Kindness, together; 100%"


# --- chart ------------------------------------------------------------------------------------


def assert_png(data: bytes, min_height: int = 200) -> None:
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] >= min_height and pixels.shape[1] >= 400
    assert pixels.std() > 0.05  # not a blank image


async def test_chart_is_a_decodable_png(report: PopularityReport) -> None:
    assert_png(render_chart(report))


def test_chart_of_an_empty_report_is_still_a_png() -> None:
    assert_png(render_chart(build_report([], WINDOW_START, WINDOW_END)), min_height=150)


def test_the_chart_does_not_touch_pyplot() -> None:
    # In a fresh interpreter, so other tests' imports cannot hide a pyplot import.
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from bot.services.popularity import build_report, render_chart\n"
        "report = build_report([], datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))\n"
        "assert render_chart(report).startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
