"""Unit and property tests for bot.schedule.rules: parsing, DST conversions, expansion, formatting."""

from __future__ import annotations

import dataclasses
import time as stopwatch
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ScheduleError
from bot.schedule.rules import (
    WeeklyRule,
    discord_timestamp,
    dst_note,
    format_pacific,
    pacific_wall_to_utc,
    parse_interval,
    parse_pacific_date,
    parse_pacific_datetime,
    parse_pacific_wall,
    parse_weekly,
    utc_isoformat,
    utc_to_pacific,
)

# The reference zone for expectations: the standard library's zoneinfo, not the pytz under test.
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Build an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Build a naive Pacific wall-clock reading (the one place naive datetimes are wanted)."""
    return datetime.combine(date(year, month, day), time(hour, minute))


# --- Explicit DST cases -----------------------------------------------------------------------

# Expected instants are worked out by hand from the published US rules (second Sunday of March,
# first Sunday of November, at 02:00 local), not taken from the implementation.
DST_CASES = [
    # spring-forward gaps: read with the offset before the gap (PST, -08:00)
    (wall(2026, 3, 8, 2, 30), utc(2026, 3, 8, 10, 30), "03:30", "PDT"),
    (wall(2026, 3, 8, 2, 0), utc(2026, 3, 8, 10, 0), "03:00", "PDT"),
    (wall(2027, 3, 14, 2, 15), utc(2027, 3, 14, 10, 15), "03:15", "PDT"),
    (wall(2030, 3, 10, 2, 59), utc(2030, 3, 10, 10, 59), "03:59", "PDT"),
    # fall-back overlaps: the first instance (PDT, -07:00)
    (wall(2026, 11, 1, 1, 30), utc(2026, 11, 1, 8, 30), "01:30", "PDT"),
    (wall(2026, 11, 1, 1, 0), utc(2026, 11, 1, 8, 0), "01:00", "PDT"),
    (wall(2027, 11, 7, 1, 45), utc(2027, 11, 7, 8, 45), "01:45", "PDT"),
    (wall(2030, 11, 3, 1, 0), utc(2030, 11, 3, 8, 0), "01:00", "PDT"),
    # just outside the transitions
    (wall(2026, 3, 8, 1, 59), utc(2026, 3, 8, 9, 59), "01:59", "PST"),
    (wall(2026, 3, 8, 3, 0), utc(2026, 3, 8, 10, 0), "03:00", "PDT"),
    (wall(2026, 11, 1, 0, 59), utc(2026, 11, 1, 7, 59), "00:59", "PDT"),
    (wall(2026, 11, 1, 2, 0), utc(2026, 11, 1, 10, 0), "02:00", "PST"),
    (wall(2030, 11, 3, 2, 0), utc(2030, 11, 3, 10, 0), "02:00", "PST"),
    (wall(2026, 1, 15, 12, 0), utc(2026, 1, 15, 20, 0), "12:00", "PST"),
    (wall(2026, 7, 15, 12, 0), utc(2026, 7, 15, 19, 0), "12:00", "PDT"),
]


@pytest.mark.parametrize(("local", "expected_utc", "shown_time", "shown_zone"), DST_CASES)
def test_pacific_wall_to_utc_follows_rfc5545(
    local: datetime, expected_utc: datetime, shown_time: str, shown_zone: str
) -> None:
    instant = pacific_wall_to_utc(local)
    assert instant == expected_utc
    assert instant.utcoffset() == timedelta(0)
    back = utc_to_pacific(instant)
    assert (f"{back:%H:%M}", back.tzname()) == (shown_time, shown_zone)
    assert parse_pacific_datetime(f"{local:%Y-%m-%d %H:%M}") == expected_utc
    assert parse_pacific_datetime(f"{local:%Y-%m-%dT%H:%M}") == expected_utc


def test_weekly_rule_on_spring_forward_sunday_lands_at_0330_pdt() -> None:
    rule = WeeklyRule(frozenset({6}), time(2, 30), date(2026, 3, 1), until=date(2026, 3, 15))
    assert rule.first(3) == [utc(2026, 3, 1, 10, 30), utc(2026, 3, 8, 10, 30), utc(2026, 3, 15, 9, 30)]


def test_weekly_rule_on_fall_back_sunday_uses_first_instance() -> None:
    rule = WeeklyRule(frozenset({6}), time(1, 30), date(2026, 10, 25), until=date(2026, 11, 8))
    assert rule.first(3) == [utc(2026, 10, 25, 8, 30), utc(2026, 11, 1, 8, 30), utc(2026, 11, 8, 9, 30)]


def test_dst_note_explains_gaps_and_overlaps_only() -> None:
    gap = dst_note(wall(2026, 3, 8, 2, 30))
    overlap = dst_note(wall(2026, 11, 1, 1, 30))
    assert gap is not None and "does not exist" in gap and "03:30 PDT" in gap
    assert overlap is not None and "twice" in overlap and "01:30 PDT" in overlap
    assert dst_note(wall(2026, 3, 8, 3, 30)) is None


# --- Naive/aware discipline -------------------------------------------------------------------


def test_naive_datetimes_are_refused_where_an_instant_is_needed() -> None:
    naive = wall(2026, 3, 2)
    rule = WeeklyRule(frozenset({0}), time(0), date(2026, 3, 1))
    with pytest.raises(TypeError, match="aware"):
        utc_to_pacific(naive)
    with pytest.raises(TypeError, match="aware"):
        discord_timestamp(naive)
    with pytest.raises(TypeError, match="aware"):
        format_pacific(naive)
    with pytest.raises(TypeError, match="aware"):
        rule.occurrences_between(naive, utc(2026, 4, 1))
    with pytest.raises(TypeError, match="aware"):
        rule.occurrences_between(utc(2026, 3, 1), naive)


def test_aware_datetimes_are_refused_as_wall_clock_readings() -> None:
    with pytest.raises(TypeError, match="naive"):
        pacific_wall_to_utc(utc(2026, 3, 2))
    with pytest.raises(TypeError, match="naive"):
        dst_note(utc(2026, 3, 2))


# --- Parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "weekdays", "at"),
    [
        ("MON,WED@18:30", {0, 2}, time(18, 30)),
        ("mon@00:00", {0}, time(0, 0)),
        ("Monday, friday @ 7:05", {0, 4}, time(7, 5)),
        ("SUN,SAT,sun@23:59", {5, 6}, time(23, 59)),
        ("tue,THU@12:00", {1, 3}, time(12, 0)),
    ],
)
def test_parse_weekly_accepts_short_and_full_names_in_any_case(text: str, weekdays: set[int], at: time) -> None:
    assert parse_weekly(text) == (frozenset(weekdays), at)


def test_parse_dates_and_datetimes() -> None:
    assert parse_pacific_date("2026-03-01") == date(2026, 3, 1)
    assert parse_pacific_date(" 2028-02-29 ") == date(2028, 2, 29)
    assert parse_pacific_wall("2026-03-08T02:30") == wall(2026, 3, 8, 2, 30)
    assert parse_pacific_wall("2026-03-08   02:30") == wall(2026, 3, 8, 2, 30)
    assert parse_interval("3") == 3
    rule = WeeklyRule.parse("fri@09:15", "2026-01-02", "2", "2026-06-30")
    assert rule == WeeklyRule(frozenset({4}), time(9, 15), date(2026, 1, 2), 2, date(2026, 6, 30))


def rule_from(weekly: str, start: str = "2026-03-01", interval: str = "1", until: str | None = None) -> None:
    """Build a rule from text, for the bad-input table."""
    WeeklyRule.parse(weekly, start, interval, until)


BAD_INPUTS = [
    # (what the coordinator typed, words the message must contain)
    (
        lambda: parse_weekly("MOX@18:30"),
        ["'MOX' is not a weekday", "MON, TUE, WED, THU, FRI, SAT, SUN", "Monday"],
    ),
    (lambda: parse_weekly("MON@25:00"), ["hours are 00-23"]),
    (lambda: parse_weekly("MON@24:00"), ["hours are 00-23", "midnight is 00:00"]),
    (lambda: parse_weekly("MON@18:75"), ["minutes are 00-59"]),
    (lambda: parse_weekly("MON@6pm"), ["'6pm' is not a time", "24-hour HH:MM"]),
    (lambda: parse_weekly("MON 18:30"), ["DAYS@HH:MM", "MON,WED@18:30"]),
    (lambda: parse_weekly("@18:30"), ["no day before the @"]),
    (lambda: parse_weekly("MON,,WED@18:30"), ["weekday is empty", "doubled commas"]),
    (lambda: parse_weekly("MONDAYS@18:30"), ["'MONDAYS' is not a weekday"]),
    (lambda: parse_pacific_date("2026-02-30"), ["February 2026 has 28 days"]),
    (lambda: parse_pacific_date("2028-02-30"), ["February 2028 has 29 days"]),
    (lambda: parse_pacific_date("2026-04-31"), ["April 2026 has 30 days"]),
    (lambda: parse_pacific_date("2026-13-01"), ["months are 01-12"]),
    (lambda: parse_pacific_date("03/01/2026"), ["YYYY-MM-DD", "2026-03-01"]),
    (lambda: parse_pacific_date(""), ["YYYY-MM-DD"]),
    (lambda: parse_pacific_date("2040-01-01"), ["outside the dates", "2037-12-31"]),
    (lambda: parse_pacific_datetime("2026-03-08"), ["not a date and time", "YYYY-MM-DD HH:MM"]),
    (lambda: parse_pacific_datetime("2026-03-08T02:30Z"), ["time zone or offset", "Pacific"]),
    (lambda: parse_pacific_datetime("2026-03-08 02:30 PST"), ["time zone or offset"]),
    (lambda: parse_pacific_datetime("2026-03-08 02:30-08:00"), ["time zone or offset"]),
    (lambda: parse_pacific_datetime("2026-02-29 10:00"), ["February 2026 has 28 days"]),
    (lambda: parse_pacific_datetime("2026-03-08 02:30pm"), ["'02:30pm' is not a time", "24-hour"]),
    (lambda: rule_from("MON@18:30", interval="0"), ["from 1 to 52", "every other week"]),
    (lambda: rule_from("MON@18:30", interval="53"), ["from 1 to 52"]),
    (lambda: rule_from("MON@18:30", interval="two"), ["whole number of weeks"]),
    (lambda: rule_from("MON@18:30", interval="-1"), ["whole number of weeks"]),
    (lambda: rule_from("MON@18:30", until="2026-02-01"), ["before the start date", "on or after the start"]),
    (
        lambda: rule_from("MON@18:30", start="2026-03-03", until="2026-03-08"),
        ["has no sessions", "later end date"],
    ),
    (lambda: WeeklyRule(frozenset(), time(9), date(2026, 3, 1)), ["at least one weekday"]),
    (lambda: WeeklyRule(frozenset({7}), time(9), date(2026, 3, 1)), ["0 (Monday) to 6 (Sunday)"]),
    (lambda: WeeklyRule(frozenset({0}), time(9, tzinfo=UTC), date(2026, 3, 1)), ["without a time zone"]),
    (lambda: WeeklyRule(frozenset({0}), time(9), utc(2026, 3, 1)), ["calendar date"]),
    (lambda: WeeklyRule(frozenset({0}), time(9), date(2026, 3, 1)).first(30_000), ["goes past 2037-12-31"]),
]


@pytest.mark.parametrize(("attempt", "needed_words"), BAD_INPUTS)
def test_bad_input_gets_a_message_that_says_how_to_fix_it(
    attempt: Callable[[], object], needed_words: list[str]
) -> None:
    with pytest.raises(ScheduleError) as caught:
        attempt()
    for words in needed_words:
        assert words in str(caught.value)


# --- Expansion --------------------------------------------------------------------------------


def test_occurrences_between_is_half_open_and_clipped_to_the_rule() -> None:
    rule = WeeklyRule(frozenset({0}), time(0), date(2026, 3, 1), until=date(2026, 3, 23))
    mondays = [utc(2026, 3, 2, 8), utc(2026, 3, 9, 7), utc(2026, 3, 16, 7), utc(2026, 3, 23, 7)]
    assert rule.occurrences_between(utc(2026, 1, 1), utc(2027, 1, 1)) == mondays
    assert rule.occurrences_between(mondays[1], mondays[3]) == mondays[1:3]
    assert rule.occurrences_between(mondays[1] + timedelta(seconds=1), mondays[3] + timedelta(seconds=1)) == [
        mondays[2],
        mondays[3],
    ]
    assert rule.occurrences_between(mondays[2], mondays[1]) == []
    assert rule.occurrences_between(utc(2040, 1, 1), utc(2041, 1, 1)) == []


def test_interval_weeks_count_from_the_week_of_the_start_date() -> None:
    # Start on Wednesday 2026-03-04; that week's Monday (2 Mar) is before the start, so the first
    # Monday is two weeks later (16 Mar), while that week's Friday (6 Mar) is already in.
    rule = WeeklyRule(frozenset({0, 4}), time(12), date(2026, 3, 4), interval_weeks=2)
    local_days = [utc_to_pacific(instant).date() for instant in rule.first(5)]
    assert local_days == [
        date(2026, 3, 6),
        date(2026, 3, 16),
        date(2026, 3, 20),
        date(2026, 3, 30),
        date(2026, 4, 3),
    ]
    assert rule.first(2, from_date=date(2026, 3, 21)) == [utc(2026, 3, 30, 19), utc(2026, 4, 3, 19)]


def test_until_is_an_inclusive_pacific_date_even_when_utc_is_already_the_next_day() -> None:
    # 18:30 PST on 31 Dec is 02:30Z on 1 Jan: still inside an until of 31 Dec.
    rule = WeeklyRule(frozenset({3}), time(18, 30), date(2026, 12, 1), until=date(2026, 12, 31))
    assert rule.first(10)[-1] == utc(2027, 1, 1, 2, 30)
    assert len(rule.first(10)) == 5


def test_open_ended_rule_refuses_ranges_past_the_time_zone_data() -> None:
    rule = WeeklyRule(frozenset({0}), time(9), date(2026, 3, 1))
    with pytest.raises(ScheduleError, match="2037-12-31"):
        rule.occurrences_between(utc(2037, 6, 1), utc(2038, 6, 1))
    # Mondays of December 2037: 7, 14, 21, 28
    assert len(rule.occurrences_between(utc(2037, 12, 1), utc(2038, 1, 1, 8))) == 4


def test_rrule_and_dtstart_for_ics_export() -> None:
    rule = WeeklyRule(frozenset({2, 0}), time(18, 30), date(2026, 3, 1), until=date(2026, 12, 31))
    # 2026-12-31 23:59:59 PST is 2027-01-01 07:59:59Z
    assert rule.to_rrule() == "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,WE;UNTIL=20270101T075959Z;WKST=MO"
    assert rule.dtstart_local() == wall(2026, 3, 2, 18, 30)
    summer_end = WeeklyRule(frozenset({6}), time(9), date(2026, 5, 3), interval_weeks=3, until=date(2026, 8, 2))
    assert summer_end.to_rrule() == "FREQ=WEEKLY;INTERVAL=3;BYDAY=SU;UNTIL=20260803T065959Z;WKST=MO"
    assert summer_end.dtstart_local() == wall(2026, 5, 3, 9)


def test_expanding_ten_thousand_occurrences_is_fast() -> None:
    every_day = WeeklyRule(frozenset(range(7)), time(2, 30), date(2000, 1, 1))
    began = stopwatch.perf_counter()
    instants = every_day.first(12_000)
    in_range = every_day.occurrences_between(utc(2000, 1, 1), utc(2037, 12, 31))
    elapsed = stopwatch.perf_counter() - began
    assert len(instants) == 12_000 and len(in_range) > 13_000
    # About 0.5 s on a laptop; the bound only catches a per-minute or quadratic walk.
    assert elapsed < 5


# --- Formatting -------------------------------------------------------------------------------


def test_formatting_helpers() -> None:
    instant = utc(2026, 3, 2, 8)
    # 2026-03-02T08:00Z: 20514 days after the epoch (checked with `date -d @1772438400 -u`).
    assert discord_timestamp(instant) == "<t:1772438400:F>"
    assert discord_timestamp(instant.astimezone(LOS_ANGELES), "R") == "<t:1772438400:R>"
    assert format_pacific(instant) == "Mon 2 Mar 2026, 00:00 PST"
    assert format_pacific(utc(2026, 7, 4, 1, 5)) == "Fri 3 Jul 2026, 18:05 PDT"
    assert utc_isoformat(instant.astimezone(LOS_ANGELES)) == "2026-03-02T08:00:00Z"
    with pytest.raises(ValueError, match="style"):
        discord_timestamp(instant, "X")


# --- Property tests ---------------------------------------------------------------------------

weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
wall_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
start_dates = st.dates(date(2026, 1, 1), date(2030, 12, 31))


@st.composite
def weekly_rules(draw: st.DrawFn) -> WeeklyRule:
    """Draw a valid rule: random days, time, interval 1-4, start 2026-2030, maybe an end date."""
    weekdays = draw(weekday_sets)
    starts_on = draw(start_dates)
    interval = draw(st.integers(1, 4))
    # An end at least interval weeks after the start always contains one session.
    until = draw(st.none() | st.integers(7 * interval, 3 * 365).map(lambda days: starts_on + timedelta(days=days)))
    return WeeklyRule(weekdays, draw(wall_times), starts_on, interval, until)


def is_spring_forward_gap(local_wall: datetime) -> bool:
    """True if the Pacific wall-clock reading does not exist (zoneinfo's round trip moves it)."""
    aware = local_wall.replace(tzinfo=LOS_ANGELES)
    return aware.astimezone(UTC).astimezone(LOS_ANGELES).replace(tzinfo=None) != local_wall


@settings(max_examples=150, deadline=None)
@given(weekly_rules())
def test_expansion_properties(rule: WeeklyRule) -> None:
    # 80 sessions at most 4 weeks apart from a 2030 start stay inside the supported range (2037)
    instants = rule.first(80)
    assert instants == sorted(set(instants))
    assert all(instant.utcoffset() == timedelta(0) for instant in instants)
    last_by_weekday: dict[int, datetime] = {}
    first_monday = rule.starts_on - timedelta(days=rule.starts_on.weekday())
    for instant in instants:
        local = utc_to_pacific(instant)
        day = local.date()
        assert day.weekday() in rule.weekdays
        assert rule.starts_on <= day and (rule.until is None or day <= rule.until)
        assert ((day - first_monday).days // 7) % rule.interval_weeks == 0
        intended = datetime.combine(day, rule.at)
        if local.time() != rule.at:
            # only the spring-forward gap may move a session, and then by exactly one hour
            assert is_spring_forward_gap(intended)
            assert local.replace(tzinfo=None) == intended + timedelta(hours=1)
        previous = last_by_weekday.get(day.weekday())
        if previous is not None:
            gap = instant - previous
            assert abs(gap - timedelta(weeks=rule.interval_weeks)) <= timedelta(hours=1)
        last_by_weekday[day.weekday()] = instant
    if rule.until is None:
        assert len(instants) == 80


@settings(max_examples=100, deadline=None)
@given(weekly_rules(), st.integers(0, 400), st.integers(1, 200))
def test_occurrences_between_agrees_with_first(rule: WeeklyRule, skip_days: int, window_days: int) -> None:
    # For an open-ended rule, a two-year end lets `first` list all the window (<= 600 days) can see.
    bounded = dataclasses.replace(rule, until=rule.until or rule.starts_on + timedelta(days=730))
    everything = bounded.first(10_000)
    window_start = datetime.combine(rule.starts_on, time(), UTC) + timedelta(days=skip_days, minutes=7)
    window_end = window_start + timedelta(days=window_days)
    expected = [instant for instant in everything if window_start <= instant < window_end]
    assert rule.occurrences_between(window_start, window_end) == expected


# hypothesis takes naive bounds for st.datetimes, with the zone (if any) drawn separately
FIRST_WALL = datetime.combine(date(2026, 1, 1), time())
LAST_WALL = datetime.combine(date(2030, 12, 31), time(23, 59))
instants_2026_2030 = st.datetimes(FIRST_WALL, LAST_WALL, timezones=st.just(UTC))
walls_2026_2030 = st.datetimes(FIRST_WALL, LAST_WALL).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=300, deadline=None)
@given(instants_2026_2030)
def test_utc_to_pacific_round_trip(instant: datetime) -> None:
    local = utc_to_pacific(instant)
    assert local == instant
    assert local.utcoffset() == instant.astimezone(LOS_ANGELES).utcoffset()
    back = pacific_wall_to_utc(local.replace(tzinfo=None))
    if back != instant:
        # the second instance of a fall-back hour reads back as the first, one hour earlier
        assert local.tzname() == "PST" and back == instant - timedelta(hours=1)


@settings(max_examples=300, deadline=None)
@given(walls_2026_2030)
def test_pacific_wall_to_utc_matches_zoneinfo_fold_zero(local_wall: datetime) -> None:
    # zoneinfo's fold=0 is PEP 495's reading: the pre-transition offset in gaps, the first
    # instance in overlaps, which is what RFC 5545 3.3.5 asks for.
    assert pacific_wall_to_utc(local_wall) == local_wall.replace(tzinfo=LOS_ANGELES, fold=0).astimezone(UTC)
    shown = utc_to_pacific(pacific_wall_to_utc(local_wall)).replace(tzinfo=None)
    assert shown == local_wall or (is_spring_forward_gap(local_wall) and shown == local_wall + timedelta(hours=1))
