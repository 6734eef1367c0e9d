"""Weekly session rules at a Pacific wall-clock time, expanded to aware UTC instants.

Pacific time (America/Los_Angeles) appears only at the edges: coordinators enter rules in it and
people read it. Everything in between is an aware UTC datetime. Daylight saving follows RFC 5545
section 3.3.5: a wall-clock time inside the spring-forward gap is read with the UTC offset in force
before the gap (02:30 on the spring-forward day is 03:30 PDT), and an ambiguous time in the
fall-back overlap is its first instance (PDT).

The time-zone data comes from pytz, whose compiled transitions stop in 2037 (after that it would
keep PST all summer). Dates are therefore limited to FIRST_SUPPORTED_DATE..LAST_SUPPORTED_DATE and
an error is raised rather than an instant that could be an hour off.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice

import pytz

from bot.errors import ScheduleError
from bot.model import WEEKDAY_CODES, SeriesRow, check_weekly_rule

PACIFIC_ZONE_NAME = "America/Los_Angeles"
PACIFIC = pytz.timezone(PACIFIC_ZONE_NAME)

FIRST_SUPPORTED_DATE = date(2000, 1, 1)
LAST_SUPPORTED_DATE = date(2037, 12, 31)
MAX_INTERVAL_WEEKS = 52

WEEKDAY_ABBREVIATIONS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DISCORD_TIMESTAMP_STYLES = frozenset("tTdDfFR")

# Fixed English names, because strftime's %a/%b follow the process locale.
_SHORT_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_BY_NAME = {
    **{name: index for index, name in enumerate(WEEKDAY_ABBREVIATIONS)},
    **{name.upper(): index for index, name in enumerate(WEEKDAY_NAMES)},
}
_ALLOWED_WEEKDAYS = ", ".join(WEEKDAY_ABBREVIATIONS) + " (or full names like Monday)"
_WHY_2037 = "the bot's time-zone data has no daylight-saving rules after 2037"
_SUPPORTED_RANGE = f"{FIRST_SUPPORTED_DATE.isoformat()} to {LAST_SUPPORTED_DATE.isoformat()}, because {_WHY_2037}"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_SECOND = timedelta(seconds=1)
# Midnight Pacific (always PST in January) at each end of the supported range, as UTC instants.
_SUPPORTED_START_UTC = datetime(2000, 1, 1, 8, tzinfo=UTC)
_SUPPORTED_END_UTC = datetime(2038, 1, 1, 8, tzinfo=UTC)

_TIME_PATTERN = re.compile(r"(\d{1,2}):(\d{2})")
_DATE_PATTERN = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATETIME_PATTERN = re.compile(r"(\S+?)(?:T|\s+)(\S+)")
# A zone after the time ("18:30Z", "18:30-08:00", "18:30 PST"): rejected, since input is always Pacific.
_ZONE_SUFFIX_PATTERN = re.compile(
    r"\d:\d{2}(?::\d{2})?\s*(?:Z|[+-]\d{1,2}(?::?\d{2})?|UTC|GMT|PST|PDT|PT)$", re.IGNORECASE
)


# --- Conversions at the edge ------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    """Raise TypeError unless value is an aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be an aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime (attach a zone, e.g. tzinfo=UTC); got {value!r}")


def _check_supported_date(day: date, what: str) -> None:
    """Raise ScheduleError if day lies outside the range the time-zone data covers correctly."""
    if not FIRST_SUPPORTED_DATE <= day <= LAST_SUPPORTED_DATE:
        raise ScheduleError(f"{what} {day.isoformat()} is outside the dates the bot can schedule: {_SUPPORTED_RANGE}.")


def _localize(naive_local: datetime) -> tuple[datetime, str]:
    """Return (aware UTC instant, "normal" | "gap" | "overlap") for a Pacific wall-clock reading."""
    try:
        return PACIFIC.localize(naive_local, is_dst=None).astimezone(UTC), "normal"
    except pytz.NonExistentTimeError:
        # pytz's is_dst=False attaches standard time (PST), the offset in force before the
        # spring-forward gap, which is exactly RFC 5545's reading: 02:30 PST == 03:30 PDT.
        return PACIFIC.localize(naive_local, is_dst=False).astimezone(UTC), "gap"
    except pytz.AmbiguousTimeError:
        # is_dst=True picks daylight time (PDT), the first of the two fall-back instances.
        return PACIFIC.localize(naive_local, is_dst=True).astimezone(UTC), "overlap"


def pacific_wall_to_utc(naive_local: datetime) -> datetime:
    """Convert a naive Pacific wall-clock datetime to an aware UTC instant (RFC 5545 DST rules)."""
    if not isinstance(naive_local, datetime):
        raise TypeError(f"expected a naive Pacific wall-clock datetime, not {type(naive_local).__name__}")
    if naive_local.tzinfo is not None:
        raise TypeError(f"expected a naive Pacific wall-clock datetime, got an aware one: {naive_local!r}")
    _check_supported_date(naive_local.date(), "The date")
    return _localize(naive_local)[0]


def utc_to_pacific(instant: datetime) -> datetime:
    """Convert an aware instant to an aware Pacific datetime (for display; do arithmetic in UTC)."""
    _require_aware(instant, "instant")
    if not _SUPPORTED_START_UTC <= instant < _SUPPORTED_END_UTC:
        raise ScheduleError(
            f"{instant.astimezone(UTC).isoformat()} is outside the dates the bot can show in Pacific time: "
            f"{_SUPPORTED_RANGE}."
        )
    return instant.astimezone(PACIFIC)


def dst_note(naive_local: datetime) -> str | None:
    """Explain how a Pacific wall-clock time in a DST gap or overlap is read; None for ordinary times."""
    if naive_local.tzinfo is not None:
        raise TypeError(f"expected a naive Pacific wall-clock datetime, got an aware one: {naive_local!r}")
    _check_supported_date(naive_local.date(), "The date")
    instant, kind = _localize(naive_local)
    wall = f"{naive_local:%H:%M}"
    day = _format_day(naive_local.date())
    actual = utc_to_pacific(instant)
    if kind == "gap":
        return (
            f"{wall} does not exist on {day} in Pacific time (clocks spring forward an hour), "
            f"so it is read as {actual:%H:%M} {actual.tzname()}."
        )
    if kind == "overlap":
        return (
            f"{wall} happens twice on {day} in Pacific time (clocks fall back an hour); "
            f"the first one, {actual:%H:%M} {actual.tzname()}, is used."
        )
    return None


# --- Formatting -------------------------------------------------------------------------------


def _format_day(day: date) -> str:
    """Format a date like 'Mon 2 Mar 2026' independent of the process locale."""
    return f"{_SHORT_WEEKDAYS[day.weekday()]} {day.day} {_SHORT_MONTHS[day.month - 1]} {day.year}"


def discord_timestamp(instant: datetime, style: str = "F") -> str:
    """Return a Discord timestamp tag like '<t:1772438400:F>' that each reader sees in their own zone."""
    _require_aware(instant, "instant")
    if style not in DISCORD_TIMESTAMP_STYLES:
        raise ValueError(f"Discord timestamp style must be one of {''.join(sorted(DISCORD_TIMESTAMP_STYLES))}")
    # Integer arithmetic instead of float timestamp(), so whole seconds are never rounded.
    return f"<t:{(instant - _EPOCH) // _ONE_SECOND}:{style}>"


def when(instant: datetime) -> str:
    """Return an instant as a full Discord timestamp ('<t:…:F>'): date and time in each reader's own zone."""
    return discord_timestamp(instant, "F")


@functools.lru_cache(maxsize=4096)
def format_pacific(instant: datetime) -> str:
    """Format an aware instant in Pacific time, like 'Mon 2 Mar 2026, 00:00 PST'."""
    # Cached: a listing formats the same few session starts for every member who asks, and pytz's
    # conversion is most of the cost of a listing's text.
    local = utc_to_pacific(instant)
    return f"{_format_day(local.date())}, {local:%H:%M} {local.tzname()}"


def utc_isoformat(instant: datetime) -> str:
    """Format an aware instant as ISO 8601 UTC ending in 'Z', like '2026-03-02T08:00:00Z'."""
    _require_aware(instant, "instant")
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


# --- Parsing coordinator input ----------------------------------------------------------------


def parse_weekday(text: str) -> int:
    """Parse a weekday name like 'MON' or 'Monday' (any case) to 0=Monday..6=Sunday."""
    name = text.strip()
    if not name:
        raise ScheduleError(f"A weekday is empty (check for doubled commas). Use {_ALLOWED_WEEKDAYS}.")
    try:
        return _WEEKDAY_BY_NAME[name.upper()]
    except KeyError:
        raise ScheduleError(f"{name!r} is not a weekday. Use {_ALLOWED_WEEKDAYS}.") from None


def parse_time_of_day(text: str) -> time:
    """Parse a 24-hour 'HH:MM' Pacific wall-clock time."""
    cleaned = text.strip()
    match = _TIME_PATTERN.fullmatch(cleaned)
    if match is None:
        raise ScheduleError(f"{cleaned!r} is not a time. Write it as 24-hour HH:MM, like 18:30 or 07:00.")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23:
        raise ScheduleError(f"{cleaned!r}: hours are 00-23 (midnight is 00:00, not 24:00).")
    if minutes > 59:
        raise ScheduleError(f"{cleaned!r}: minutes are 00-59.")
    return time(hours, minutes)


def parse_weekly(text: str) -> tuple[frozenset[int], time]:
    """Parse 'MON,WED@18:30' into (weekdays, wall-clock time)."""
    days_text, at_sign, time_text = text.strip().partition("@")
    if not at_sign:
        raise ScheduleError(f"{text.strip()!r} needs days and a time joined by @ (DAYS@HH:MM), like MON,WED@18:30.")
    if not days_text.strip():
        raise ScheduleError(f"{text.strip()!r} names no day before the @. Give at least one, like MON@18:30.")
    weekdays = frozenset(parse_weekday(token) for token in days_text.split(","))
    return weekdays, parse_time_of_day(time_text)


def parse_pacific_date(text: str) -> date:
    """Parse a Pacific calendar date 'YYYY-MM-DD'."""
    cleaned = text.strip()
    match = _DATE_PATTERN.fullmatch(cleaned)
    if match is None:
        raise ScheduleError(f"{cleaned!r} is not a date. Write it as YYYY-MM-DD, like 2026-03-01.")
    year, month, day = (int(part) for part in match.groups())
    if not FIRST_SUPPORTED_DATE.year <= year <= LAST_SUPPORTED_DATE.year:
        # Checked first: the calendar has no year 0, so looking up its months would fail.
        raise ScheduleError(f"{cleaned!r} is outside the dates the bot can schedule: {_SUPPORTED_RANGE}.")
    if not 1 <= month <= 12:
        raise ScheduleError(f"{cleaned!r}: months are 01-12.")
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise ScheduleError(
            f"{cleaned!r}: {calendar.month_name[month]} {year} has {days_in_month} days, "
            f"so the day must be 01-{days_in_month}."
        )
    parsed = date(year, month, day)
    _check_supported_date(parsed, "The date")
    return parsed


def parse_pacific_wall(text: str) -> datetime:
    """Parse 'YYYY-MM-DD HH:MM' (or with 'T') as a naive Pacific wall-clock datetime."""
    cleaned = text.strip()
    if _ZONE_SUFFIX_PATTERN.search(cleaned):
        raise ScheduleError(
            f"{cleaned!r} has a time zone or offset. Give the Pacific wall-clock time without one, "
            "like 2026-03-08 18:30."
        )
    match = _DATETIME_PATTERN.fullmatch(cleaned)
    if match is None:
        raise ScheduleError(
            f"{cleaned!r} is not a date and time. Write it as YYYY-MM-DD HH:MM in Pacific time, like 2026-03-08 18:30."
        )
    return datetime.combine(parse_pacific_date(match.group(1)), parse_time_of_day(match.group(2)))


def parse_pacific_datetime(text: str) -> datetime:
    """Parse a Pacific 'YYYY-MM-DD HH:MM' (or with 'T') into the aware UTC instant it names."""
    return _localize(parse_pacific_wall(text))[0]


def parse_interval(text: str | int) -> int:
    """Parse 'every N weeks' from coordinator input; N must be 1..52."""
    if isinstance(text, int) and not isinstance(text, bool):
        weeks = text
    else:
        cleaned = str(text).strip()
        # isdecimal, not isdigit: int() refuses digits such as '²' that isdigit accepts.
        if not cleaned.isdecimal():
            raise ScheduleError(
                f"The interval {cleaned!r} must be a whole number of weeks from 1 to {MAX_INTERVAL_WEEKS}, "
                "like 2 for every other week."
            )
        weeks = int(cleaned)
    if not 1 <= weeks <= MAX_INTERVAL_WEEKS:
        raise ScheduleError(
            f"The interval must be from 1 to {MAX_INTERVAL_WEEKS} weeks (1 is every week, 2 every other "
            f"week); got {weeks}."
        )
    return weeks


# --- The rule ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyRule:
    """Sessions every interval_weeks weeks on the given weekdays at a Pacific wall-clock time.

    Weeks are counted from the week (Monday to Sunday, RFC 5545 WKST=MO) containing starts_on;
    until is an inclusive Pacific date.
    """

    weekdays: frozenset[int]
    at: time
    starts_on: date
    interval_weeks: int = 1
    until: date | None = None

    def __post_init__(self) -> None:
        """Validate every field so a WeeklyRule that exists can always be expanded."""
        days = check_weekly_rule(self.weekdays, self.at, self.starts_on, self.until)
        # Store the hashable, immutable form whatever collection of day numbers was given.
        object.__setattr__(self, "weekdays", frozenset(days))
        _check_supported_date(self.starts_on, "The start date")
        object.__setattr__(self, "interval_weeks", parse_interval(self.interval_weeks))
        if self.until is not None:
            _check_supported_date(self.until, "The end date")
            if next(self._local_dates(self.starts_on), None) is None:
                raise ScheduleError(
                    f"{self.describe()} has no sessions: none of those weekdays falls between the start "
                    "and the end. Choose a later end date or other days."
                )

    @classmethod
    def parse(
        cls,
        weekly: str,
        starts_on: str | date,
        interval_weeks: str | int = 1,
        until: str | date | None = None,
    ) -> WeeklyRule:
        """Build a rule from coordinator text like ('MON,WED@18:30', '2026-03-01', '2', '2026-12-31')."""
        weekdays, at = parse_weekly(weekly)
        start = parse_pacific_date(starts_on) if isinstance(starts_on, str) else starts_on
        end = parse_pacific_date(until) if isinstance(until, str) else until
        return cls(weekdays, at, start, parse_interval(interval_weeks), end)

    def describe(self) -> str:
        """Describe the rule in words, like 'Every Monday and Wednesday at 18:30 Pacific time, ...'."""
        names = [WEEKDAY_NAMES[day] for day in sorted(self.weekdays)]
        days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        every = "Every" if self.interval_weeks == 1 else f"Every {self.interval_weeks} weeks on"
        text = f"{every} {days} at {self.at:%H:%M} Pacific time, from {_format_day(self.starts_on)}"
        if self.until is not None:
            text += f" until {_format_day(self.until)}"
        return text

    def _last_date(self) -> date:
        """Return the last Pacific date the rule may produce."""
        return self.until if self.until is not None else LAST_SUPPORTED_DATE

    def _local_dates(self, from_date: date) -> Iterator[date]:
        """Yield the rule's Pacific dates on or after from_date in order, stopping at the last date."""
        start = max(from_date, self.starts_on)
        last = self._last_date()
        period_days = 7 * self.interval_weeks
        first_monday = self.starts_on - timedelta(days=self.starts_on.weekday())
        # Jump straight to the active week at or before `start` instead of walking from starts_on.
        weeks_in = (start - first_monday).days // period_days
        week_monday = first_monday + timedelta(days=weeks_in * period_days)
        day_offsets = [timedelta(days=day) for day in sorted(self.weekdays)]
        step = timedelta(days=period_days)
        while week_monday <= last:
            for offset in day_offsets:
                day = week_monday + offset
                if day > last:
                    return
                if day >= start:
                    yield day
            week_monday += step

    def _horizon_error(self, wanted: str) -> ScheduleError:
        """Build the error for asking an open-ended rule about times past the supported range."""
        return ScheduleError(
            f"{wanted} goes past {LAST_SUPPORTED_DATE.isoformat()}, the last date the bot can schedule "
            f"({_WHY_2037}). Ask for an earlier range or fewer sessions."
        )

    def occurrences_between(self, start_utc: datetime, end_utc: datetime) -> list[datetime]:
        """Return the sorted aware UTC starts in [start_utc, end_utc)."""
        _require_aware(start_utc, "start_utc")
        _require_aware(end_utc, "end_utc")
        if end_utc <= start_utc:
            return []
        if self.until is None and end_utc > _SUPPORTED_END_UTC:
            raise self._horizon_error(f"The range up to {utc_isoformat(end_utc)}")
        if start_utc >= _SUPPORTED_END_UTC:
            return []  # only reachable with an until, which is never past the supported range
        # Any session on an earlier Pacific date than start_utc's starts before start_utc, and any
        # on a later Pacific date than end_utc's starts after it, so whole dates bound the walk.
        from_date = self.starts_on if start_utc < _SUPPORTED_START_UTC else utc_to_pacific(start_utc).date()
        to_date = LAST_SUPPORTED_DATE if end_utc >= _SUPPORTED_END_UTC else utc_to_pacific(end_utc).date()
        found: list[datetime] = []
        for day in self._local_dates(from_date):
            if day > to_date:
                break
            instant = _localize(datetime.combine(day, self.at))[0]
            if start_utc <= instant < end_utc:
                found.append(instant)
        return found

    def first(self, count: int, from_date: date | None = None) -> list[datetime]:
        """Return the first count aware UTC starts on or after from_date (a Pacific date; default: start)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScheduleError(f"The number of sessions must be a whole number of at least 0, not {count!r}.")
        if from_date is not None and (isinstance(from_date, datetime) or not isinstance(from_date, date)):
            raise TypeError(f"from_date must be a calendar date, not {type(from_date).__name__}")
        days = list(islice(self._local_dates(from_date or self.starts_on), count))
        if len(days) < count and self.until is None:
            raise self._horizon_error(f"Listing {count} sessions")
        return [_localize(datetime.combine(day, self.at))[0] for day in days]

    def dtstart_local(self) -> datetime:
        """Return the naive Pacific wall-clock DTSTART (the first session) for an iCalendar export."""
        first_day = next(self._local_dates(self.starts_on), None)
        if first_day is None:  # __post_init__ rejects such rules; kept for the type checker's sake
            raise ScheduleError(f"{self.describe()} has no sessions.")
        return datetime.combine(first_day, self.at)

    def to_rrule(self) -> str:
        """Return the RFC 5545 RRULE value to pair with DTSTART;TZID=America/Los_Angeles."""
        parts = [
            "FREQ=WEEKLY",
            f"INTERVAL={self.interval_weeks}",
            "BYDAY=" + ",".join(_RRULE_DAYS[day] for day in sorted(self.weekdays)),
        ]
        if self.until is not None:
            # RFC 5545 requires UNTIL in UTC when DTSTART has a TZID. The inclusive Pacific end date
            # ends at 23:59:59 Pacific, which is the next UTC day, not 23:59:59Z on the same date.
            end_of_until = _localize(datetime.combine(self.until, time(23, 59, 59)))[0]
            parts.append(f"UNTIL={end_of_until:%Y%m%dT%H%M%SZ}")
        parts.append("WKST=MO")
        return ";".join(parts)


def rule_for(series: SeriesRow) -> WeeklyRule:
    """The weekly rule a stored series describes."""
    return WeeklyRule(
        weekdays=frozenset(WEEKDAY_CODES.index(code) for code in series.weekdays),
        at=series.local_time,
        starts_on=series.starts_on,
        interval_weeks=series.interval_weeks,
        until=series.until,
    )
