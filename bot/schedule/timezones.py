"""Members' optional IANA time zone: checking names, autocomplete, and daylight-saving notes.

Which names are accepted: IANA "Area/Location" names from `zoneinfo.available_timezones()` (for
example Europe/London, America/Argentina/Buenos_Aires, and the Etc/ fixed offsets such as
Etc/GMT-3), plus plain "UTC". Abbreviations and old-style names such as "PST", "CET", "EST5EDT"
or "Japan" are refused even where the tz database knows them: an abbreviation does not say whose
daylight-saving rules apply (CST is three different places), and the POSIX-style names follow
US rules wherever the member lives. Refusals suggest the place names people most likely meant.

Discord already shows `<t:...>` timestamps in each reader's own zone, so a stored zone is only
used for notes like `local_shift_note`: a weekly session that moves on a member's clock because
daylight saving changed on one side (US Pacific or theirs) but not the other.
"""

from __future__ import annotations

import difflib
import functools
import re
import zoneinfo
from datetime import datetime, timedelta, tzinfo
from itertools import pairwise

from bot import texts
from bot.errors import ScheduleError
from bot.model import OccurrenceRow, SeriesRow
from bot.schedule.rules import WEEKDAY_NAMES, WeeklyRule, pacific_wall_to_utc, utc_to_pacific

__all__ = [
    "MAX_SUGGESTIONS",
    "dst_weeks_ahead",
    "local_shift_note",
    "previous_start",
    "suggest_timezones",
    "validate_timezone",
]

MAX_SUGGESTIONS = 5
# The longest IANA names are about 30 characters.
_LONGEST_SENSIBLE_NAME = 64
# Discord shows at most 25 autocomplete choices.
_AUTOCOMPLETE_LIMIT = 25

# What people type instead of a zone name, mapped to the places they most likely mean.
_HINTS: dict[str, tuple[str, ...]] = {
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "PT": ("America/Los_Angeles",),
    "PACIFIC": ("America/Los_Angeles",),
    "PST8PDT": ("America/Los_Angeles",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "MT": ("America/Denver", "America/Phoenix"),
    "MST7MDT": ("America/Denver",),
    "NAVAJO": ("America/Denver",),
    "CST": ("America/Chicago", "America/Mexico_City", "Asia/Shanghai"),
    "CDT": ("America/Chicago",),
    "CT": ("America/Chicago",),
    "CST6CDT": ("America/Chicago",),
    "EST": ("America/New_York", "America/Toronto"),
    "EDT": ("America/New_York", "America/Toronto"),
    "ET": ("America/New_York",),
    "EST5EDT": ("America/New_York",),
    "AKST": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "GMT": ("Europe/London", "UTC"),
    "BST": ("Europe/London",),
    "GB": ("Europe/London",),
    "UK": ("Europe/London",),
    "WET": ("Europe/Lisbon",),
    "CET": ("Europe/Paris", "Europe/Berlin", "Europe/Madrid"),
    "CEST": ("Europe/Paris", "Europe/Berlin", "Europe/Madrid"),
    "MET": ("Europe/Paris", "Europe/Berlin"),
    "EET": ("Europe/Athens", "Europe/Helsinki", "Africa/Cairo"),
    "EEST": ("Europe/Athens", "Europe/Helsinki"),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "EIRE": ("Europe/Dublin",),
    "ISRAEL": ("Asia/Jerusalem",),
    "IRAN": ("Asia/Tehran",),
    "TURKEY": ("Europe/Istanbul",),
    "EGYPT": ("Africa/Cairo",),
    "LIBYA": ("Africa/Tripoli",),
    "POLAND": ("Europe/Warsaw",),
    "PORTUGAL": ("Europe/Lisbon",),
    "ICELAND": ("Atlantic/Reykjavik",),
    "W-SU": ("Europe/Moscow",),
    "MSK": ("Europe/Moscow",),
    "JST": ("Asia/Tokyo",),
    "JAPAN": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "ROK": ("Asia/Seoul",),
    "HKT": ("Asia/Hong_Kong",),
    "HONGKONG": ("Asia/Hong_Kong",),
    "SGT": ("Asia/Singapore",),
    "SINGAPORE": ("Asia/Singapore",),
    "PRC": ("Asia/Shanghai",),
    "ROC": ("Asia/Taipei",),
    "AEST": ("Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney", "Australia/Melbourne"),
    "ACST": ("Australia/Adelaide", "Australia/Darwin"),
    "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
    "NZ": ("Pacific/Auckland",),
    "CUBA": ("America/Havana",),
    "JAMAICA": ("America/Jamaica",),
    "KWAJALEIN": ("Pacific/Kwajalein",),
    "Z": ("UTC",),
    "ZULU": ("UTC",),
    "UCT": ("UTC",),
    "UNIVERSAL": ("UTC",),
    "GREENWICH": ("UTC", "Europe/London"),
    "GMT0": ("UTC", "Europe/London"),
}

# Shown for an empty autocomplete box: spread round the world, west to east.
_POPULAR = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/New_York",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Africa/Johannesburg",
    "Europe/Athens",
    "Asia/Jerusalem",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
)

# Old region aliases (links kept for compatibility): accepted, but listed after the real places.
_ALIAS_AREAS = frozenset({"US", "Canada", "Brazil", "Chile", "Mexico", "Etc", "SystemV"})

# "UTC+3", "GMT-05:00", "+0530", "UTC +3": a fixed offset rather than a place.
_OFFSET_PATTERN = re.compile(r"(?:UTC|GMT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_COMPACT_DROP = re.compile(r"[\s_\-]+")


@functools.cache
def _accepted_zones() -> dict[str, str]:
    """Return the accepted zone names keyed by their lower-case form."""
    names = {
        name
        for name in zoneinfo.available_timezones()
        # "localtime" and "Factory" exist in some tz databases but are not places.
        if ("/" in name and not name.startswith(("posix/", "right/"))) or name == "UTC"
    }
    return {name.lower(): name for name in names}


def _compact(text: str) -> str:
    """Lower-case text without spaces, underscores or hyphens, for forgiving comparisons."""
    return _COMPACT_DROP.sub("", text.lower())


def _offset_hint(text: str) -> str | None:
    """Explain the Etc/GMT name for a whole-hour offset like 'UTC+3', or None if text is not one."""
    match = _OFFSET_PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    sign, hours_text, minutes_text = match.groups()
    hours = int(hours_text)
    if minutes_text not in (None, "00") or hours > (14 if sign == "+" else 12):
        return (
            f"{text.strip()!r} is a fixed offset, which stays wrong when daylight saving changes. "
            "Please choose your nearest city instead (start typing its name)."
        )
    # POSIX-style Etc names count the other way round: UTC+3 is Etc/GMT-3.
    etc_name = "Etc/GMT" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return (
        f"{text.strip()!r} is a fixed offset rather than a place. Your nearest city is best, because it "
        f"also follows daylight saving. If you really want a fixed offset, use {etc_name} "
        "(these names count the other way round: UTC+3 is Etc/GMT-3)."
    )


def _rank(name: str, query: str) -> int | None:
    """Return how well a zone name matches a compacted query (0 best), or None if it does not."""
    parts = [_compact(part) for part in name.split("/")]
    whole = "/".join(parts)
    city = parts[-1]
    if query in (whole, city):
        return 0
    if city.startswith(query):
        return 1
    if whole.startswith(query):
        return 2
    if any(part.startswith(query) for part in parts):
        return 3
    if query in whole:
        return 4
    return None


def suggest_timezones(prefix: str, limit: int = _AUTOCOMPLETE_LIMIT) -> list[str]:
    """Return accepted zone names matching typed text (case-insensitive, city names too), best first."""
    if limit < 1:
        return []
    query = _compact(prefix)
    if not query:
        return list(_POPULAR[:limit])
    hinted = list(_HINTS.get(prefix.strip().upper(), ()))
    ranked: list[tuple[int, bool, int, str]] = []
    for name in _accepted_zones().values():
        rank = _rank(name, query)
        if rank is not None and name not in hinted:
            ranked.append((rank, name.split("/")[0] in _ALIAS_AREAS, len(name), name))
    ranked.sort()
    return (hinted + [name for *_, name in ranked])[:limit]


def _close_matches(name: str) -> list[str]:
    """Return up to MAX_SUGGESTIONS zone names a mistyped name probably meant."""
    hinted = _HINTS.get(name.strip().upper())
    if hinted is not None:
        return list(hinted[:MAX_SUGGESTIONS])
    if len(name) > _LONGEST_SENSIBLE_NAME:
        return []  # no zone is that long, and difflib's time grows with the length
    found = suggest_timezones(name, MAX_SUGGESTIONS)
    zones = _accepted_zones()
    # Misspellings: compare with whole names and with city names ("Londn" -> Europe/London).
    by_city: dict[str, list[str]] = {}
    for zone in zones.values():
        by_city.setdefault(_compact(zone.rsplit("/", 1)[-1]), []).append(zone)
    found += [zones[match] for match in difflib.get_close_matches(name.strip().lower(), zones, n=MAX_SUGGESTIONS)]
    for city in difflib.get_close_matches(_compact(name), by_city, n=MAX_SUGGESTIONS):
        found += sorted(by_city[city], key=lambda zone: (zone.split("/")[0] in _ALIAS_AREAS, zone))
    return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]


def validate_timezone(name: str) -> str:
    """Return the canonical spelling of an accepted IANA zone name, or raise a kind ScheduleError."""
    cleaned = name.strip()
    if not cleaned:
        raise ScheduleError(
            "Please give a time zone: your nearest city in IANA form, like Europe/London or Asia/Tokyo."
        )
    # Same name, forgivingly typed: any case, spaces for underscores ("america/sao paulo").
    canonical = _accepted_zones().get(re.sub(r"\s+", "_", cleaned).lower())
    if canonical is not None:
        return canonical
    offset_hint = _offset_hint(cleaned)
    if offset_hint is not None:
        raise ScheduleError(offset_hint)
    shown = cleaned if len(cleaned) <= 60 else cleaned[:59] + "…"
    if cleaned.upper() in _HINTS:
        message = (
            f"{shown!r} is an abbreviation or an old name that can stand for different daylight-saving "
            "rules in different places, so the bot uses place names instead."
        )
    else:
        message = (
            f"Sorry, {shown!r} isn't a time zone name the bot knows. Time zones are named after a place, "
            "like Europe/London or Asia/Tokyo."
        )
    suggestions = _close_matches(cleaned)
    if suggestions:
        message += " Did you mean: " + ", ".join(suggestions) + "?"
    else:
        message += " Start typing your nearest city to see the choices."
    raise ScheduleError(message)


# --- Daylight-saving notes --------------------------------------------------------------------


def _load_zone(member_zone: str) -> tzinfo:
    """Load a stored zone name (already validated when it was set); unknown names raise ScheduleError."""
    try:
        return zoneinfo.ZoneInfo(member_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{member_zone!r} is not a time zone the bot knows.") from None


def _require_aware(value: datetime, name: str) -> None:
    """Raise TypeError unless value is an aware datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TypeError(f"{name} must be an aware datetime, got {value!r}")


def local_shift_note(this_start_utc: datetime, previous_start_utc: datetime, member_zone: str) -> str | None:
    """Explain a session moving on the member's clock because only one side changed daylight saving.

    None when the member's wall time is unchanged, or when the Pacific wall time itself changed
    (a coordinator moved the session; that has its own notice).
    """
    _require_aware(this_start_utc, "this_start_utc")
    _require_aware(previous_start_utc, "previous_start_utc")
    zone = _load_zone(member_zone)
    this_pacific, previous_pacific = utc_to_pacific(this_start_utc), utc_to_pacific(previous_start_utc)
    if this_pacific.time() != previous_pacific.time():
        return None
    this_local, previous_local = this_start_utc.astimezone(zone), previous_start_utc.astimezone(zone)
    if this_local.time() == previous_local.time():
        return None
    pacific_changed = this_pacific.utcoffset() != previous_pacific.utcoffset()
    local_changed = this_local.utcoffset() != previous_local.utcoffset()
    why = "both" if pacific_changed and local_changed else "pacific" if pacific_changed else "local"
    now_at, was_at = f"{this_local:%H:%M}", f"{previous_local:%H:%M}"
    # Near midnight the shift can also move the session to the next or previous local day.
    if this_local.date() - this_pacific.date() != previous_local.date() - previous_pacific.date():
        now_at = texts.CLOCK_NOTE_ON_DAY.format(time=now_at, day=WEEKDAY_NAMES[this_local.weekday()])
        was_at = texts.CLOCK_NOTE_ON_DAY.format(time=was_at, day=WEEKDAY_NAMES[previous_local.weekday()])
    when = "week" if this_start_utc - previous_start_utc <= timedelta(days=7) else "time"
    return texts.CLOCK_NOTE.format(
        when=texts.CLOCK_NOTE_WHEN[when], now_at=now_at, was_at=was_at, why=texts.CLOCK_NOTE_WHY[why]
    )


def previous_start(series: SeriesRow, occurrence: OccurrenceRow) -> datetime:
    """The series' start one repeat (interval) before this session, at the rule's US Pacific wall time."""
    day = utc_to_pacific(occurrence.recurrence_id).date() - timedelta(weeks=series.interval_weeks)
    return pacific_wall_to_utc(datetime.combine(day, series.local_time))


def dst_weeks_ahead(rule: WeeklyRule, member_zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Return the rule's UTC starts in [start, end) that a member sees at a new local time because of DST."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    # Look back one period so the first session in the range has a previous one to compare with.
    lookback = timedelta(weeks=rule.interval_weeks, days=1)
    starts = rule.occurrences_between(start - lookback, end)
    return [
        this
        for previous, this in pairwise(starts)
        if this >= start and local_shift_note(this, previous, member_zone) is not None
    ]
