"""The change log as CSV: every cell a spreadsheet would run as a formula is defused, and it parses back."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bot.model import AuditRow
from bot.services.reports import AUDIT_COLUMNS, audit_csv, csv_cell

AT = dt.datetime(2026, 3, 8, 10, 30, tzinfo=dt.UTC)  # 03:30 PDT, just after the spring-forward gap


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1 snow day", "'+1 snow day"),
        ("-2", "'-2"),
        ("@laila", "'@laila"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Evening = calm", "Evening = calm"),
        (12, "12"),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_start_with_a_quote_mark(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_audit_rows_come_out_oldest_first_with_both_times_and_names() -> None:
    rows = [
        AuditRow(2, None, "alert.teachers", "occurrence:7", {}, AT + dt.timedelta(minutes=5)),
        AuditRow(1, 42, "session.cancel", "occurrence:7", {"reason": '=1+1, "snow"\nday'}, AT),
    ]
    header, first, second = list(csv.reader(io.StringIO(audit_csv(rows, {42: "@Laila"}), newline="")))
    assert tuple(header) == AUDIT_COLUMNS
    assert first == [
        "1",
        "2026-03-08T10:30:00Z",
        "Sun 8 Mar 2026, 03:30 PDT",
        "42",
        "'@Laila",
        "session.cancel",
        "occurrence:7",
        '{"reason": "=1+1, \\"snow\\"\\nday"}',
    ]
    assert second[3:5] == ["", ""], "the bot's own entries have no actor"
