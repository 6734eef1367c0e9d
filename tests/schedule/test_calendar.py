"""The .ics export, checked by expanding it with icalendar + recurring-ical-events (an independent
RFC 5545 implementation) and comparing with the sessions the bot stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from bot.model import OccurrenceRow, SeriesRow
from bot.schedule.calendar import MAX_TITLE_LENGTH, series_calendar, sessions_calendar
from bot.schedule.rules import pacific_wall_to_utc
from bot.services.horizon import Horizon
from bot.storage import Database

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
EXPORTED_AT = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
CREATED_AT = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
# Far enough either side that the window never cuts through a session.
BEFORE_ALL = datetime(2025, 6, 1, tzinfo=UTC)
HORIZON = timedelta(days=340)  # to 26 Dec 2026: both 2026 DST changes
HORIZON_END = CREATED_AT + HORIZON


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "calendar.sqlite3", clock=Clock(CREATED_AT))
    yield database
    await database.close()


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a Pacific wall-clock time."""
    return pacific_wall_to_utc(datetime(year, month, day, hour, minute))  # noqa: DTZ001 (Pacific wall clock)


async def make_series(
    db: Database,
    *,
    title: str = "Evening practice",
    weekdays: tuple[str, ...] = ("MO", "WE"),
    at: time = time(18, 30),
    starts_on: date = date(2026, 2, 2),
    interval_weeks: int = 1,
    until: date | None = None,
) -> tuple[SeriesRow, list[OccurrenceRow]]:
    """Create a series and store its sessions for the horizon, as the bot does."""
    series = await db.create_series(
        title=title,
        weekdays=list(weekdays),
        local_time=at,
        starts_on=starts_on,
        duration_minutes=45,
        channel_id=555,
        interval_weeks=interval_weeks,
        until=until,
    )
    await Horizon(db, HORIZON, Clock(CREATED_AT)).expand(series)
    return series, await stored(db, series.id)


async def stored(db: Database, series_id: int) -> list[OccurrenceRow]:
    return await db.list_occurrences(BEFORE_ALL, datetime(2031, 1, 1, tzinfo=UTC), series_id=series_id)


def parse(ics: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(ics)
    assert isinstance(calendar, icalendar.Calendar)
    return calendar


def expand(ics: bytes, start: datetime = BEFORE_ALL, end: datetime = HORIZON_END) -> list[datetime]:
    """The UTC starts a calendar app would show in [start, end)."""
    events = recurring_ical_events.of(parse(ics)).between(start, end)
    return sorted(event["DTSTART"].dt.astimezone(UTC) for event in events)


def expected_starts(rows: list[OccurrenceRow]) -> list[datetime]:
    return sorted(row.start_utc for row in rows if row.status != "cancelled")


def find(rows: list[OccurrenceRow], start: datetime) -> OccurrenceRow:
    return next(row for row in rows if row.recurrence_id == start)


# --- series_calendar --------------------------------------------------------------------------


async def test_series_expands_to_the_stored_sessions_across_both_dst_changes(db: Database) -> None:
    series, rows = await make_series(db)
    # Changes on both sides of each 2026 change: 8 March and 1 November.
    await db.cancel_occurrence(find(rows, pacific(2026, 3, 4, 18, 30)).id)
    await db.cancel_occurrence(find(rows, pacific(2026, 3, 9, 18, 30)).id)
    await db.move_occurrence(find(rows, pacific(2026, 3, 11, 18, 30)).id, pacific(2026, 3, 12, 7, 0))
    await db.move_occurrence(find(rows, pacific(2026, 10, 28, 18, 30)).id, pacific(2026, 11, 2, 9, 0))
    await db.set_occurrence_channel(find(rows, pacific(2026, 11, 4, 18, 30)).id, 777)
    rows = await stored(db, series.id)
    assert len(rows) > 90

    ics = series_calendar(series, rows, now=EXPORTED_AT)

    assert expand(ics) == expected_starts(rows)
    assert pacific(2026, 3, 9, 18, 30) not in expand(ics)
    assert pacific(2026, 11, 2, 9, 0) in expand(ics)
    # Beyond the stored horizon the rule carries on (open-ended series).
    later = expand(ics, HORIZON_END, HORIZON_END + timedelta(days=14))
    assert later == [
        pacific(2026, 12, 28, 18, 30),
        pacific(2026, 12, 30, 18, 30),
        pacific(2027, 1, 4, 18, 30),
        pacific(2027, 1, 6, 18, 30),
    ]


async def test_series_calendar_has_the_rfc_5545_structure(db: Database) -> None:
    series, rows = await make_series(db)
    cancelled = find(rows, pacific(2026, 3, 9, 18, 30))
    moved = find(rows, pacific(2026, 11, 2, 18, 30))
    rechannelled = find(rows, pacific(2026, 11, 4, 18, 30))
    await db.cancel_occurrence(cancelled.id)
    await db.move_occurrence(moved.id, pacific(2026, 11, 2, 19, 0))
    await db.move_occurrence(moved.id, pacific(2026, 11, 2, 19, 15))
    await db.set_occurrence_channel(rechannelled.id, 777)

    calendar = parse(series_calendar(series, await stored(db, series.id), now=EXPORTED_AT))

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert "Practice Circles" in str(calendar["PRODID"])
    master, *overrides = calendar.walk("VEVENT")
    assert str(master["UID"]) == f"series-{series.id}@practice-circles"
    assert master["DTSTART"].params["TZID"] == "America/Los_Angeles"
    assert master["DTSTART"].dt == datetime(2026, 2, 2, 18, 30, tzinfo=LOS_ANGELES)
    assert master["DURATION"].dt == timedelta(minutes=45)
    assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;WKST=MO"
    assert master["DTSTAMP"].dt == EXPORTED_AT
    assert str(master["SUMMARY"]) == "Evening practice"
    assert "self-compassion" in str(master["DESCRIPTION"])
    exdate = master["EXDATE"]
    assert exdate.params["TZID"] == "America/Los_Angeles"
    assert [value.dt for value in exdate.dts] == [datetime(2026, 3, 9, 18, 30, tzinfo=LOS_ANGELES)]

    by_recurrence = {override["RECURRENCE-ID"].dt: override for override in overrides}
    assert set(by_recurrence) == {
        datetime(2026, 11, 2, 18, 30, tzinfo=LOS_ANGELES),
        datetime(2026, 11, 4, 18, 30, tzinfo=LOS_ANGELES),
    }
    moved_event = by_recurrence[datetime(2026, 11, 2, 18, 30, tzinfo=LOS_ANGELES)]
    assert moved_event["RECURRENCE-ID"].params["TZID"] == "America/Los_Angeles"
    assert moved_event["DTSTART"].dt == datetime(2026, 11, 2, 19, 15, tzinfo=LOS_ANGELES)
    assert moved_event["SEQUENCE"] == 3  # moved twice
    rechannelled_event = by_recurrence[datetime(2026, 11, 4, 18, 30, tzinfo=LOS_ANGELES)]
    assert rechannelled_event["SEQUENCE"] == 2
    assert rechannelled_event["DTSTART"].dt == datetime(2026, 11, 4, 18, 30, tzinfo=LOS_ANGELES)
    for override in overrides:
        assert str(override["UID"]) == str(master["UID"])
        assert override["DTSTAMP"].dt == EXPORTED_AT


async def test_every_other_week_with_an_end_date(db: Database) -> None:
    series, rows = await make_series(
        db,
        weekdays=("TU", "TH"),
        at=time(7, 15),
        starts_on=date(2026, 2, 24),
        interval_weeks=2,
        until=date(2026, 11, 19),
    )
    await db.cancel_occurrence(find(rows, pacific(2026, 3, 10, 7, 15)).id)
    await db.move_occurrence(find(rows, pacific(2026, 11, 5, 7, 15)).id, pacific(2026, 11, 6, 7, 15))
    rows = await stored(db, series.id)
    assert rows[-1].recurrence_id == pacific(2026, 11, 19, 7, 15)

    ics = series_calendar(series, rows, now=EXPORTED_AT)

    assert expand(ics, BEFORE_ALL, datetime(2028, 1, 1, tzinfo=UTC)) == expected_starts(rows)
    rrule = parse(ics).walk("VEVENT")[0]["RRULE"]
    assert rrule["INTERVAL"] == [2]
    # The inclusive Pacific end date ends at 23:59:59 PST, which is the next day in UTC.
    assert rrule["UNTIL"] == [datetime(2026, 11, 20, 7, 59, 59, tzinfo=UTC)]


async def test_rule_dates_before_the_first_stored_session_are_not_shown(db: Database) -> None:
    # Created on 20 Jan with a start of 5 Jan: the bot never stored the sessions of 5-19 Jan.
    series, rows = await make_series(db, starts_on=date(2026, 1, 5))
    assert rows[0].recurrence_id == pacific(2026, 1, 21, 18, 30)
    ics = series_calendar(series, rows, now=EXPORTED_AT)
    assert expand(ics) == expected_starts(rows)
    assert parse(ics).walk("VEVENT")[0]["DTSTART"].dt == datetime(2026, 1, 21, 18, 30, tzinfo=LOS_ANGELES)


async def test_an_ended_series_stops_at_its_last_stored_session(db: Database) -> None:
    series, rows = await make_series(db)
    for row in rows:
        if row.start_utc >= pacific(2026, 6, 1, 0):
            await db.cancel_occurrence(row.id, by="series")
    series = await db.update_series(series.id, status="ended")
    rows = await stored(db, series.id)

    ics = series_calendar(series, rows, now=EXPORTED_AT)

    shown = expand(ics, BEFORE_ALL, datetime(2030, 1, 1, tzinfo=UTC))
    assert shown == expected_starts(rows)
    assert shown[-1] == pacific(2026, 5, 27, 18, 30)


async def test_an_ended_series_without_sessions_exports_no_recurrence(db: Database) -> None:
    series = await db.create_series(
        title="Never ran",
        weekdays=["FR"],
        local_time=time(12),
        starts_on=date(2026, 5, 1),
        duration_minutes=30,
        channel_id=1,
        status="ended",
    )
    ics = series_calendar(series, [], now=EXPORTED_AT)
    assert parse(ics).walk("VEVENT") == []
    assert expand(ics, BEFORE_ALL, datetime(2030, 1, 1, tzinfo=UTC)) == []


@pytest.mark.parametrize("change", ["cancel", "move"])
async def test_a_session_in_the_spring_forward_gap_is_matched_by_its_rule_wall_time(db: Database, change: str) -> None:
    # 02:30 on 8 Mar 2026 does not exist; the bot stores it as 03:30 PDT (10:30Z), RFC 5545's reading.
    series, rows = await make_series(db, weekdays=("SU",), at=time(2, 30), starts_on=date(2026, 2, 1))
    gap = find(rows, datetime(2026, 3, 8, 10, 30, tzinfo=UTC))
    if change == "cancel":
        await db.cancel_occurrence(gap.id)
    else:
        await db.move_occurrence(gap.id, pacific(2026, 3, 8, 9, 0))
    rows = await stored(db, series.id)

    ics = series_calendar(series, rows, now=EXPORTED_AT)

    assert expand(ics) == expected_starts(rows)
    assert b"20260308T023000" in ics  # EXDATE / RECURRENCE-ID name the instance as the rule does


async def test_a_move_to_the_second_one_thirty_of_the_fall_back_night_is_written_in_utc(db: Database) -> None:
    series, rows = await make_series(db, weekdays=("SA",), at=time(20, 0), starts_on=date(2026, 10, 3))
    second_one_thirty = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, after 01:30 PDT
    await db.move_occurrence(find(rows, pacific(2026, 10, 31, 20)).id, second_one_thirty)
    rows = await stored(db, series.id)
    ics = series_calendar(series, rows, now=EXPORTED_AT)
    assert second_one_thirty in expand(ics)
    assert expand(ics) == expected_starts(rows)
    assert b"DTSTART:20261101T093000Z" in ics


async def test_title_with_line_breaks_and_separators_round_trips_harmlessly(db: Database) -> None:
    title = "Evening\r\nBEGIN:VEVENT\nUID:evil; practice, \\ @everyone\u2028END:VCALENDAR"
    series, rows = await make_series(db, title=title)
    await db.set_occurrence_channel(rows[0].id, 777)  # an override carries the title too
    rows = await stored(db, series.id)

    ics = series_calendar(series, rows, now=EXPORTED_AT)
    calendar = parse(ics)

    expected = "Evening BEGIN:VEVENT UID:evil; practice, \\ @everyone END:VCALENDAR"
    events = calendar.walk("VEVENT")
    assert len(events) == 2
    assert [str(event["SUMMARY"]) for event in events] == [expected, expected]
    assert {str(event["UID"]) for event in events} == {f"series-{series.id}@practice-circles"}
    unfolded = ics.replace(b"\r\n ", b"")
    assert unfolded.count(b"\r\nBEGIN:VEVENT\r\n") == 2
    assert unfolded.count(b"\r\nEND:VCALENDAR\r\n") == 1
    assert expand(ics) == expected_starts(rows)


async def test_long_titles_and_names_are_capped(db: Database) -> None:
    series, rows = await make_series(db, title="Loving-kindness " * 40)
    calendar = parse(series_calendar(series, rows, now=EXPORTED_AT))
    summary = str(calendar.walk("VEVENT")[0]["SUMMARY"])
    assert len(summary) == MAX_TITLE_LENGTH
    assert summary.endswith("…")
    assert len(str(calendar["X-WR-CALNAME"])) == MAX_TITLE_LENGTH
    assert str(parse(sessions_calendar([], "\n\t  ", now=EXPORTED_AT))["X-WR-CALNAME"]) == "Practice session"


async def test_the_vtimezone_is_present_and_its_own_rules_give_every_session_the_right_offset(db: Database) -> None:
    series, rows = await make_series(db)
    ics = series_calendar(series, rows, now=EXPORTED_AT)
    calendar = parse(ics)

    assert calendar.get_missing_tzids() == set()
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "America/Los_Angeles"
    assert ics.index(b"BEGIN:VTIMEZONE") < ics.index(b"BEGIN:VEVENT")  # defined before it is used
    # Read the VTIMEZONE itself (not the zone its name looks up) and check it against the sessions.
    own_rules = vtimezone.to_tz(lookup_tzid=False)
    for row in rows:
        wall = row.start_utc.astimezone(LOS_ANGELES).replace(tzinfo=None)
        assert wall.replace(tzinfo=own_rules).astimezone(UTC) == row.start_utc, wall
    # It covers every year the bot can schedule after the sessions.
    for year in range(2026, 2038):
        july = datetime(year, 7, 1, 12, tzinfo=own_rules)
        assert july.utcoffset() == timedelta(hours=-7), year


async def test_the_export_is_valid_rfc_5545_text(db: Database) -> None:
    series, rows = await make_series(db, title="Évening practice — ünïcode " * 3)
    await db.cancel_occurrence(rows[3].id)
    rows = await stored(db, series.id)
    ics = series_calendar(series, rows, now=EXPORTED_AT)

    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert ics.endswith(b"END:VCALENDAR\r\n")
    lines = ics.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75  # octets, folded (3.1)
    ics.decode("utf-8")  # folding never splits a multi-byte character
    calendar = parse(ics)
    calendar.validate()
    for event in calendar.walk("VEVENT"):
        for required in ("UID", "DTSTAMP", "DTSTART"):
            assert required in event
        assert not ("DTEND" in event and "DURATION" in event)
    assert calendar.to_ical() == ics  # parsing loses nothing


async def test_sessions_of_another_series_are_refused(db: Database) -> None:
    series, _ = await make_series(db)
    _, other_rows = await make_series(db, title="Morning")
    with pytest.raises(ValueError, match="does not belong"):
        series_calendar(series, other_rows, now=EXPORTED_AT)


async def test_sessions_the_rule_no_longer_gives_become_events_of_their_own(db: Database) -> None:
    series, rows = await make_series(db)
    # The rule changed without the sessions being re-based: their recurrence ids are stale.
    series = await db.update_series(series.id, local_time=time(19, 0))
    ics = series_calendar(series, rows[:2], now=EXPORTED_AT)
    uids = [str(event["UID"]) for event in parse(ics).walk("VEVENT")]
    assert uids == [
        f"series-{series.id}@practice-circles",
        f"session-{rows[0].id}@practice-circles",
        f"session-{rows[1].id}@practice-circles",
    ]


def test_a_naive_export_time_is_refused() -> None:
    with pytest.raises(TypeError):
        sessions_calendar([], "x", now=datetime(2026, 1, 1))  # noqa: DTZ001 (the point of the test)


# --- sessions_calendar ------------------------------------------------------------------------


async def test_sessions_calendar_has_one_event_per_session_that_is_not_cancelled(db: Database) -> None:
    series, rows = await make_series(db)
    one_off = await db.add_one_off(start=pacific(2026, 3, 8, 11, 0), duration_minutes=60, channel_id=9, title="Day")
    await db.cancel_occurrence(rows[1].id)
    await db.move_occurrence(rows[2].id, pacific(2026, 2, 10, 8, 0))
    rows = await stored(db, series.id)
    chosen = [*rows[:12], one_off]

    ics = sessions_calendar(chosen, "My practice sessions", now=EXPORTED_AT)
    calendar = parse(ics)

    assert str(calendar["X-WR-CALNAME"]) == "My practice sessions"
    events = calendar.walk("VEVENT")
    assert len(events) == 12
    assert expand(ics) == expected_starts(chosen)
    assert {str(event["UID"]) for event in events} == {
        f"session-{row.id}@practice-circles" for row in chosen if row.status != "cancelled"
    }
    for event in events:
        assert event["DTSTART"].params["TZID"] == "America/Los_Angeles"
        assert "RRULE" not in event
    moved = next(event for event in events if str(event["UID"]) == f"session-{rows[2].id}@practice-circles")
    assert moved["SEQUENCE"] == 2
    assert moved["DTSTART"].dt == datetime(2026, 2, 10, 8, 0, tzinfo=LOS_ANGELES)
    assert calendar.walk("VTIMEZONE")


async def test_sessions_calendar_on_the_fall_back_night(db: Database) -> None:
    first = await db.add_one_off(
        start=datetime(2026, 11, 1, 8, 30, tzinfo=UTC), duration_minutes=20, channel_id=1, title="A"
    )
    second = await db.add_one_off(
        start=datetime(2026, 11, 1, 9, 30, tzinfo=UTC), duration_minutes=20, channel_id=1, title="B"
    )
    ics = sessions_calendar([second, first], "Night", now=EXPORTED_AT)
    assert expand(ics) == [first.start_utc, second.start_utc]
    assert b"DTSTART;TZID=America/Los_Angeles:20261101T013000" in ics  # 01:30 PDT, the first one
    assert b"DTSTART:20261101T093000Z" in ics  # 01:30 PST would read as PDT with a TZID


async def test_an_empty_sessions_calendar_still_parses(db: Database) -> None:
    ics = sessions_calendar([], "Nothing yet", now=EXPORTED_AT)
    assert parse(ics).walk("VTIMEZONE")
    assert expand(ics) == []
