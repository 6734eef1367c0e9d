"""Tests for `python -m bot schedule preview`: table, JSON against an oracle, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import MO, WEEKLY, rrule, weekday

from bot.cli import main

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
REPO_ROOT = Path(__file__).resolve().parents[2]


def oracle_json(
    weekdays: list[int], at: time, starts_on: date, count: int, interval: int = 1, until: date | None = None
) -> list[dict[str, str]]:
    """What --json should print, computed with dateutil + zoneinfo fold=0 (RFC 5545 DST readings)."""
    walls = rrule(
        WEEKLY,
        dtstart=datetime.combine(starts_on, at),
        interval=interval,
        wkst=MO,
        byweekday=[weekday(day) for day in weekdays],
        until=datetime.combine(until, time(23, 59, 59)) if until is not None else None,
    )
    records = []
    # count applied here: dateutil deprecates combining count with until in one rule
    for local_wall in islice(walls, count):
        instant = local_wall.replace(tzinfo=LOS_ANGELES, fold=0).astimezone(UTC)
        local = instant.astimezone(LOS_ANGELES)
        records.append(
            {
                "start_utc": instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "start_pacific": local.isoformat(),
                "weekday": local.strftime("%A"),
            }
        )
    return records


def run_preview(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Run `schedule preview` in-process and return (exit code, stdout, stderr)."""
    code = main(["schedule", "preview", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def without_extra_keys(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """Keep only the keys the oracle computes, so extra informative keys are allowed."""
    return [{key: record[key] for key in ("start_utc", "start_pacific", "weekday")} for record in records]


@pytest.mark.parametrize(
    ("arguments", "oracle_arguments"),
    [
        (
            ["--weekly", "MON@00:00", "--from", "2026-03-01", "--count", "4"],
            ([0], time(0), date(2026, 3, 1), 4),
        ),
        (
            ["--weekly", "mon,wed@18:30", "--from", "2026-10-20", "--count", "6"],
            ([0, 2], time(18, 30), date(2026, 10, 20), 6),
        ),
        (
            ["--weekly", "Sunday@02:30", "--from", "2026-02-20", "--count", "5"],
            ([6], time(2, 30), date(2026, 2, 20), 5),
        ),
        (
            ["--weekly", "SUN@01:30", "--from", "2027-10-01", "--count", "8", "--interval", "2"],
            ([6], time(1, 30), date(2027, 10, 1), 8, 2),
        ),
        (
            ["--weekly", "TUE,SAT@23:30", "--from", "2030-02-27", "--count", "50", "--until", "2030-04-01"],
            ([1, 5], time(23, 30), date(2030, 2, 27), 50, 1, date(2030, 4, 1)),
        ),
    ],
)
def test_preview_json_equals_oracle(
    capsys: pytest.CaptureFixture[str], arguments: list[str], oracle_arguments: tuple
) -> None:
    code, out, err = run_preview(capsys, *arguments, "--json")
    assert (code, err) == (0, "")
    assert without_extra_keys(json.loads(out)) == oracle_json(*oracle_arguments)


def test_preview_json_shape_for_the_first_monday_of_march_2026(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_preview(capsys, "--weekly", "MON@00:00", "--from", "2026-03-01", "--count", "2", "--json")
    assert code == 0
    first, second = json.loads(out)
    assert first["start_utc"] == "2026-03-02T08:00:00Z"
    assert first["start_pacific"] == "2026-03-02T00:00:00-08:00"
    assert first["weekday"] == "Monday"
    assert second["start_pacific"] == "2026-03-09T00:00:00-07:00"


def test_preview_once_reads_a_gap_time_with_the_offset_before_the_gap(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_preview(capsys, "--once", "2026-03-08 02:30", "--json")
    assert code == 0
    [record] = json.loads(out)
    assert record["start_utc"] == "2026-03-08T10:30:00Z"
    assert record["start_pacific"] == "2026-03-08T03:30:00-07:00"


def test_preview_table_shows_pacific_and_utc_with_dst_notes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_preview(capsys, "--weekly", "SUN@02:30", "--from", "2026-03-01", "--count", "3")
    assert (code, err) == (0, "")
    assert "Every Sunday at 02:30 Pacific time" in out
    assert "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU;WKST=MO" in out
    assert "Sun 1 Mar 2026, 02:30 PST" in out and "2026-03-01T10:30:00Z" in out
    assert "Sun 8 Mar 2026, 03:30 PDT" in out and "2026-03-08T10:30:00Z" in out
    assert "Sun 15 Mar 2026, 02:30 PDT" in out and "2026-03-15T09:30:00Z" in out
    assert "02:30 does not exist on Sun 8 Mar 2026" in out


def test_preview_once_in_the_fall_back_hour_notes_the_first_instance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_preview(capsys, "--once", "2026-11-01T01:30")
    assert code == 0
    assert "Sun 1 Nov 2026, 01:30 PDT" in out and "2026-11-01T08:30:00Z" in out
    assert "happens twice" in out


def test_preview_defaults_to_ten_sessions_from_today_pacific(capsys: pytest.CaptureFixture[str]) -> None:
    today = datetime.now(UTC).astimezone(LOS_ANGELES).date()
    code, out, _ = run_preview(capsys, "--weekly", "THU@12:00", "--json")
    assert code == 0
    records = json.loads(out)
    assert len(records) == 10
    assert date.fromisoformat(records[0]["start_pacific"][:10]) >= today
    assert {record["weekday"] for record in records} == {"Thursday"}


BAD_ARGUMENTS = [
    # (arguments after `schedule preview`, words the error must contain)
    (["--weekly", "MOX@18:30", "--from", "2026-03-01"], ["'MOX' is not a weekday", "MON, TUE, WED"]),
    (["--weekly", "MON@25:00", "--from", "2026-03-01"], ["hours are 00-23"]),
    (["--weekly", "MON@18:61", "--from", "2026-03-01"], ["minutes are 00-59"]),
    (["--weekly", "MON 18:30", "--from", "2026-03-01"], ["DAYS@HH:MM"]),
    (["--weekly", "MON@18:30", "--from", "2026-02-30"], ["February 2026 has 28 days"]),
    (["--weekly", "MON@18:30", "--from", "1/3/2026"], ["YYYY-MM-DD"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--interval", "0"], ["from 1 to 52"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--interval", "x"], ["whole number of weeks"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--until", "2026-02-01"], ["before the start date"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-03", "--until", "2026-03-08"], ["has no sessions"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--count", "0"], ["--count '0'", "from 1 to 10000"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--count", "ten"], ["--count 'ten'"]),
    (["--weekly", "MON@18:30", "--from", "2026-03-01", "--count", "10001"], ["from 1 to 10000"]),
    (["--weekly", "MON@18:30", "--from", "2037-06-01", "--count", "100"], ["goes past 2037-12-31"]),
    (["--weekly", "MON@18:30", "--from", "2040-01-01"], ["outside the dates", "2037"]),
    ([], ["Say what to preview", "--weekly", "--once"]),
    (["--weekly", "MON@18:30", "--once", "2026-03-08 02:30"], ["either --weekly or --once"]),
    (["--once", "2026-03-08 02:30", "--interval", "2"], ["--interval does not apply"]),
    (
        ["--once", "2026-03-08 02:30", "--from", "2026-03-01", "--count", "3"],
        ["--from, --count does not apply"],
    ),
    (["--once", "2026-03-08"], ["YYYY-MM-DD HH:MM"]),
    (["--once", "2026-03-08 02:30Z"], ["without one"]),
    (["--once", "2026-02-29 10:00"], ["February 2026 has 28 days"]),
]


@pytest.mark.parametrize(("arguments", "needed_words"), BAD_ARGUMENTS)
def test_bad_arguments_exit_2_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], arguments: list[str], needed_words: list[str]
) -> None:
    code, out, err = run_preview(capsys, *arguments)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    for words in needed_words:
        assert words in err


def test_module_entry_point_runs_preview_and_reports_errors() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "schedule", "preview", "--weekly", "MON@00:00", "--from", "2026-03-01"]
        + ["--count", "4", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert without_extra_keys(json.loads(ok.stdout)) == oracle_json([0], time(0), date(2026, 3, 1), 4)

    bad = subprocess.run(
        [sys.executable, "-m", "bot", "schedule", "preview", "--weekly", "MON@25:00", "--from", "2026-03-01"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "error: '25:00': hours are 00-23" in bad.stderr
