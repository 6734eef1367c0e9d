"""bot.schedule.rules checked against independent implementations of RFC 5545 weekly recurrence.

Oracle 1: dateutil.rrule expands naive Pacific wall-clock times; the standard library's zoneinfo
attaches America/Los_Angeles with fold=0 and converts to UTC. PEP 495's fold=0 reads a time in a
spring-forward gap with the offset before the gap and an ambiguous time as its first instance,
which is exactly RFC 5545 section 3.3.5, so nothing in the oracle shares code with pytz.

Oracle 2: icalendar parses a VEVENT built from the rule's DTSTART;TZID and to_rrule() text, and
recurring-ical-events expands it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from dateutil.rrule import MO, WEEKLY, rrule, weekday

from bot.schedule.rules import WeeklyRule, pacific_wall_to_utc

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
RANGE_FIRST_DAY = date(2026, 1, 1)
RANGE_LAST_DAY = date(2030, 12, 31)
# Midnight Pacific before the range and after its last day, as UTC bounds for occurrences_between.
RANGE_START_UTC = datetime.combine(RANGE_FIRST_DAY, time(), LOS_ANGELES).astimezone(UTC)
RANGE_END_UTC = datetime.combine(RANGE_LAST_DAY + timedelta(days=1), time(), LOS_ANGELES).astimezone(UTC)


def oracle_occurrences(
    weekdays: frozenset[int], at: time, starts_on: date, interval: int = 1, until: date | None = None
) -> list[datetime]:
    """Expand a weekly rule with dateutil on naive Pacific wall times, then convert with zoneinfo fold=0."""
    walls = rrule(
        WEEKLY,
        dtstart=datetime.combine(starts_on, at),
        interval=interval,
        wkst=MO,
        byweekday=[weekday(day) for day in sorted(weekdays)],
        # the end date is inclusive: every wall-clock time on it is <= 23:59:59
        until=datetime.combine(until, time(23, 59, 59)) if until is not None else None,
    )
    return [local.replace(tzinfo=LOS_ANGELES, fold=0).astimezone(UTC) for local in walls]


HALF_HOUR_SLOTS = [time(minutes // 60, minutes % 60) for minutes in range(0, 24 * 60, 30)]


@pytest.mark.parametrize("day", range(7), ids=["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"])
def test_every_half_hour_slot_of_every_weekday_matches_dateutil_2026_to_2030(day: int) -> None:
    # All full Pacific weeks whose `day` lies in the range: the slot must fire in each exactly once.
    first_date = RANGE_FIRST_DAY + timedelta(days=(day - RANGE_FIRST_DAY.weekday()) % 7)
    expected_weeks = (RANGE_LAST_DAY - first_date).days // 7 + 1
    for at in HALF_HOUR_SLOTS:
        rule = WeeklyRule(frozenset({day}), at, RANGE_FIRST_DAY, until=RANGE_LAST_DAY)
        oracle = oracle_occurrences(frozenset({day}), at, RANGE_FIRST_DAY, until=RANGE_LAST_DAY)
        assert rule.occurrences_between(RANGE_START_UTC, RANGE_END_UTC) == oracle, at
        assert rule.first(expected_weeks + 5) == oracle, at

        # Once per week, every week: group by the Monday of the Pacific date each session falls on.
        local_dates = [instant.astimezone(LOS_ANGELES).date() for instant in oracle]
        week_mondays = Counter(local - timedelta(days=local.weekday()) for local in local_dates)
        assert len(oracle) == expected_weeks, at
        assert set(week_mondays.values()) == {1}, at
        assert all(local.weekday() == day for local in local_dates), at
        mondays = sorted(week_mondays)
        assert all(later - earlier == timedelta(weeks=1) for earlier, later in pairwise(mondays)), at
        # Across a DST change the UTC gap between sessions is a week plus or minus one hour.
        for earlier, later in pairwise(oracle):
            assert abs((later - earlier) - timedelta(weeks=1)) <= timedelta(hours=1), (at, later)


SAMPLE_RULES = [
    # (weekdays, time, start, interval, until): chosen to cross DST changes with intervals and ends
    (frozenset({6}), time(2, 30), date(2026, 1, 4), 1, None),  # Sunday in the spring-forward gap
    (frozenset({6}), time(1, 30), date(2026, 10, 4), 1, date(2027, 11, 30)),  # fall-back overlap
    (frozenset({6}), time(2, 0), date(2026, 3, 8), 35, None),  # 35-week steps hit the 2026 and 2028 gaps
    (frozenset({0, 2}), time(18, 30), date(2026, 3, 1), 1, date(2026, 12, 31)),
    (frozenset({0, 2, 4}), time(18, 30), date(2026, 2, 25), 3, date(2027, 6, 30)),
    (frozenset({5, 6}), time(0, 0), date(2026, 3, 4), 4, None),
    (frozenset({1}), time(23, 30), date(2026, 12, 29), 2, date(2030, 3, 31)),
    (frozenset({6, 0}), time(1, 0), date(2027, 11, 1), 2, date(2029, 11, 30)),
    (frozenset(range(7)), time(2, 15), date(2027, 3, 10), 1, date(2027, 3, 20)),
    (frozenset({3}), time(12, 0), date(2030, 1, 3), 52, None),
]


@pytest.mark.parametrize("sample", SAMPLE_RULES)
def test_sample_rules_with_intervals_and_ends_match_dateutil(
    sample: tuple[frozenset[int], time, date, int, date | None],
) -> None:
    weekdays, at, starts_on, interval, until = sample
    rule = WeeklyRule(weekdays, at, starts_on, interval, until)
    # An open-ended rule is cut at the range's last day for dateutil, which would run to year 9999.
    oracle = oracle_occurrences(weekdays, at, starts_on, interval, until or RANGE_LAST_DAY)
    expected = [instant for instant in oracle if instant < RANGE_END_UTC]
    assert rule.occurrences_between(RANGE_START_UTC, RANGE_END_UTC) == expected


def ics_for(rule: WeeklyRule) -> str:
    """Write the rule as the VEVENT an .ics export would carry: DTSTART;TZID plus RRULE."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Practice Circles//schedule oracle test//EN",
        "BEGIN:VEVENT",
        "UID:oracle@practice-circles.test",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART;TZID=America/Los_Angeles:{rule.dtstart_local():%Y%m%dT%H%M%S}",
        "DURATION:PT1H",
        f"RRULE:{rule.to_rrule()}",
        "SUMMARY:Practice circle",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("sample", SAMPLE_RULES)
def test_sample_rules_match_recurring_ical_events(
    sample: tuple[frozenset[int], time, date, int, date | None],
) -> None:
    rule = WeeklyRule(*sample)
    calendar = icalendar.Calendar.from_ical(ics_for(rule))
    events = recurring_ical_events.of(calendar).between(RANGE_START_UTC, RANGE_END_UTC)
    # recurring-ical-events yields each start as the rule's wall-clock reading with the TZID zone
    # attached (a zoneinfo zone, fold=0), so a 02:30 start on a spring-forward day comes back as
    # "02:30" that only becomes a real instant on conversion: fold=0 gives 10:30Z, RFC 5545's
    # 03:30 PDT. Comparing in UTC therefore tests the instants, not the library's wall display.
    starts = sorted(event["DTSTART"].dt.astimezone(UTC) for event in events)
    assert starts == rule.occurrences_between(RANGE_START_UTC, RANGE_END_UTC)
    assert starts  # the samples are all inside the range


def test_recurring_ical_events_agrees_on_the_gap_and_overlap_instants() -> None:
    # Pin the two DST readings through the second oracle too, so a library change would show here.
    gap = WeeklyRule(frozenset({6}), time(2, 30), date(2026, 3, 8), until=date(2026, 3, 8))
    overlap = WeeklyRule(frozenset({6}), time(1, 30), date(2026, 11, 1), until=date(2026, 11, 1))
    cases = [
        (gap, datetime(2026, 3, 8, 10, 30, tzinfo=UTC)),
        (overlap, datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),
    ]
    for rule, expected in cases:
        events = recurring_ical_events.of(icalendar.Calendar.from_ical(ics_for(rule))).between(
            RANGE_START_UTC, RANGE_END_UTC
        )
        assert [event["DTSTART"].dt.astimezone(UTC) for event in events] == [expected]
        assert rule.first(1) == [expected] == [pacific_wall_to_utc(rule.dtstart_local())]
