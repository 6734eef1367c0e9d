"""Aware datetimes <-> stored text: exact round trips, order preserved, naive refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.storage import from_db_date, from_db_time, to_db_date, to_db_time


def test_time_is_utc_text_ending_in_z() -> None:
    pacific = datetime(2025, 3, 9, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert to_db_time(pacific) == "2025-03-09T17:00:00.000000Z"


def test_round_trip_is_exact_and_utc() -> None:
    moment = datetime(2025, 11, 2, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-8)))
    back = from_db_time(to_db_time(moment))
    assert back == moment
    assert back.tzinfo is UTC


def test_text_order_is_time_order() -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(microseconds=n) for n in (0, 1, 999_999, 1_000_000, 10**9)]
    texts = [to_db_time(moment) for moment in moments]
    assert texts == sorted(texts)
    assert len({len(text) for text in texts}) == 1


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(TypeError, match="naive"):
        to_db_time(datetime(2025, 1, 1, 12, 0))  # noqa: DTZ001 (the point of the test)


def test_non_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        to_db_time(date(2025, 1, 1))  # type: ignore[arg-type]


def test_stored_time_without_z_is_rejected() -> None:
    with pytest.raises(ValueError, match="'Z'"):
        from_db_time("2025-01-01T00:00:00.000000+00:00")


def test_dates_round_trip_and_refuse_datetimes() -> None:
    assert from_db_date(to_db_date(date(2025, 2, 28))) == date(2025, 2, 28)
    with pytest.raises(TypeError):
        to_db_date(datetime(2025, 2, 28, tzinfo=UTC))
