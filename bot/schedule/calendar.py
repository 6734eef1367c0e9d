"""RFC 5545 (iCalendar) export, so members can put sessions in any calendar app.

Three shapes:

- `series_calendar`: one recurring VEVENT per series (DTSTART;TZID=America/Los_Angeles plus the
  rule's RRULE), EXDATE for each cancelled session and an override VEVENT (RECURRENCE-ID) for each
  session that was changed on its own. Calendar apps then show sessions beyond the stored horizon
  too, at the right local time across daylight-saving changes.
- `sessions_calendar`: one plain VEVENT per session (a member's own sign-ups, say; a member's
  private feed keeps cancelled ones as STATUS:CANCELLED).
- `schedule_feed`: the whole schedule for subscribing: every series recurring, with cancelled
  sessions as STATUS:CANCELLED overrides rather than EXDATE, one-off sessions on their own, and
  REFRESH-INTERVAL so calendar apps fetch it again.

Times are written as Pacific wall-clock times with TZID=America/Los_Angeles and the calendar
carries the matching VTIMEZONE, so every client converts them with the same rules the bot uses.
User-supplied text (titles, names) is flattened to one line and capped; icalendar then escapes
commas, semicolons and backslashes, so a title can never add properties or components.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from bot.model import OccurrenceRow, SeriesRow
from bot.schedule.rules import LAST_SUPPORTED_DATE, PACIFIC_ZONE_NAME, WeeklyRule, rule_for, utc_to_pacific

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_TITLE_LENGTH",
    "PRODID",
    "UID_DOMAIN",
    "schedule_feed",
    "series_calendar",
    "sessions_calendar",
]

PRODID = "-//Practice Circles//Practice Circles Discord bot//EN"
UID_DOMAIN = "practice-circles"
MAX_TITLE_LENGTH = 120
MAX_NAME_LENGTH = 120

# Bot wording rather than community text, so it lives here beside the only code that uses it.
_DESCRIPTION = (
    "A free drop-in mindful self-compassion practice session. Everyone is welcome, just as you are. "
    "Join the session's voice channel on our Discord server at the start time."
)
_CHANGED_NOTE = " This session was changed on its own; see the announcement on Discord."

# zoneinfo, not pytz: icalendar writes a zoneinfo-aware time as wall clock plus TZID directly.
_PACIFIC = ZoneInfo(PACIFIC_ZONE_NAME)
_ONE_SECOND = timedelta(seconds=1)
# Control characters, and Unicode line/paragraph separators some clients also break lines on.
_LINE_BREAKING = re.compile(r"[\u2028\u2029]")
_WHITESPACE_RUN = re.compile(r"\s+")


# --- Text -------------------------------------------------------------------------------------


def _one_line(text: str, limit: int) -> str:
    """Flatten user text to one trimmed line of at most `limit` characters."""
    cleaned = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    cleaned = _WHITESPACE_RUN.sub(" ", _LINE_BREAKING.sub(" ", cleaned)).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned or "Practice session"


# --- Times ------------------------------------------------------------------------------------


def _pacific_wall(day: date, rule: WeeklyRule) -> datetime:
    """Return the rule's wall-clock time on a Pacific date, with the Pacific zone attached (fold=0).

    This is how RFC 5545 names an instance of DTSTART;TZID + RRULE, even when the wall time falls
    in the spring-forward gap (fold=0 reads it with the offset before the gap, as RFC 5545 does).
    """
    return datetime.combine(day, rule.at, _PACIFIC)


def _instance_wall(recurrence_id: datetime, rule: WeeklyRule) -> datetime:
    """Return the RECURRENCE-ID / EXDATE value for a stored rule-given start."""
    # Take only the Pacific date from the instant: a start in the spring-forward gap is stored as
    # 03:xx PDT, but the calendar app names that instance by the rule's 02:xx wall time.
    return _pacific_wall(utc_to_pacific(recurrence_id).date(), rule)


def _actual_start(instant: datetime) -> datetime:
    """Return a start to write: Pacific wall time with TZID, or UTC if the wall time would be ambiguous."""
    utc_to_pacific(instant)  # refuses instants outside the dates the bot supports
    local = instant.astimezone(_PACIFIC)
    if local.fold:
        # The second 01:xx of the fall-back night: written with a TZID, every reader would take
        # the first one (RFC 5545 3.3.5), an hour early. UTC is unambiguous.
        return instant.astimezone(UTC)
    return local


def _is_rule_instance(rule: WeeklyRule, recurrence_id: datetime) -> bool:
    """Tell whether the rule itself gives this start (a stale recurrence id would not)."""
    return rule.occurrences_between(recurrence_id, recurrence_id + _ONE_SECOND) == [recurrence_id]


@functools.cache
def _pacific_vtimezone_ical(first_year: int) -> bytes:
    """Build (once per start year) the VTIMEZONE for Pacific time from first_year to the supported end."""
    timezone = icalendar.Timezone.from_tzid(
        PACIFIC_ZONE_NAME,
        first_date=date(first_year, 1, 1),
        last_date=LAST_SUPPORTED_DATE + timedelta(days=1),
    )
    return bytes(timezone.to_ical())


def _pacific_vtimezone(first_day: date) -> icalendar.Timezone:
    """Return a fresh VTIMEZONE component covering first_day to the last date the bot schedules."""
    # A year early, so a client looking at the weeks before the first session still has rules.
    component = icalendar.Timezone.from_ical(_pacific_vtimezone_ical(first_day.year - 1))
    if not isinstance(component, icalendar.Timezone):  # from_ical returns a Component
        raise TypeError("icalendar did not parse its own VTIMEZONE")
    return component


# --- Components -------------------------------------------------------------------------------


def _new_calendar(name: str, *, refresh: timedelta | None = None) -> icalendar.Calendar:
    """Return a VCALENDAR with the properties every export carries (and, for a feed, how often to fetch it)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    display_name = _one_line(name, MAX_NAME_LENGTH)
    calendar.add("name", display_name)  # RFC 7986
    calendar.add("x-wr-calname", display_name)  # what most clients actually read
    if refresh is not None:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})  # RFC 7986
        calendar.add("x-published-ttl", refresh)  # what Outlook and older clients read
    return calendar


def _new_event(uid: str, title: str, stamp: datetime, *, changed: bool = False) -> icalendar.Event:
    """Return a VEVENT with UID, DTSTAMP, SUMMARY and DESCRIPTION set."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("summary", _one_line(title, MAX_TITLE_LENGTH))
    event.add("description", _DESCRIPTION + (_CHANGED_NOTE if changed else ""))
    return event


def _stamp(now: datetime | None) -> datetime:
    """Return DTSTAMP: when this export was made (RFC 5545 with METHOD), as an aware UTC instant."""
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TypeError("now must be an aware datetime")
    return moment.astimezone(UTC)


def _finish(calendar: icalendar.Calendar, first_day: date) -> bytes:
    """Add the Pacific VTIMEZONE ahead of the events and serialise."""
    calendar.subcomponents.insert(0, _pacific_vtimezone(first_day))
    return bytes(calendar.to_ical())


def _is_override(series: SeriesRow, occurrence: OccurrenceRow) -> bool:
    """Tell whether a session differs from what the series' master event says about it."""
    return (
        occurrence.is_moved
        or occurrence.change_version > 1  # moved back, restored, re-channelled and back: tell apps
        or occurrence.channel_id != series.channel_id
        or occurrence.duration_minutes != series.duration_minutes
        or occurrence.title != series.title
    )


# --- Public -----------------------------------------------------------------------------------


def _series_events(
    series: SeriesRow, occurrences: list[OccurrenceRow], stamp: datetime, *, mark_cancelled: bool
) -> tuple[list[icalendar.Event], date]:
    """One series as a master VEVENT with its overrides and stand-alone events; also the first day shown.

    mark_cancelled: a cancelled session becomes an override with STATUS:CANCELLED (feeds, so a
    subscribed calendar shows the cancellation); otherwise it is an EXDATE (a one-off file).
    """
    stranger = next((row for row in occurrences if row.series_id != series.id), None)
    if stranger is not None:
        raise ValueError(f"session #{stranger.id} does not belong to series #{series.id}")
    rule = rule_for(series)
    in_rule: list[OccurrenceRow] = []
    outside_rule: list[OccurrenceRow] = []
    for row in occurrences:
        if _is_rule_instance(rule, row.recurrence_id):
            in_rule.append(row)
        elif row.status != "cancelled" or mark_cancelled:
            # The rule does not give this recurrence id (stale data); RFC 5545 leaves a
            # RECURRENCE-ID outside the set undefined, so the session becomes an event of its own.
            outside_rule.append(row)
    loose = [_session_event(row, stamp) for row in outside_rule]

    if not in_rule and series.status != "active":
        # A paused or ended series with no stored sessions has nothing to repeat.
        return loose, rule.starts_on
    if in_rule:
        first_day = utc_to_pacific(min(row.recurrence_id for row in in_rule)).date()
        until = rule.until
        if series.status != "active":
            last_day = utc_to_pacific(max(row.recurrence_id for row in in_rule)).date()
            until = last_day if until is None else min(until, last_day)
        # first_day is a date the rule gives, so weeks of an interval rule stay aligned.
        rule = dataclasses.replace(rule, starts_on=first_day, until=until)
    first_wall = rule.dtstart_local().replace(tzinfo=_PACIFIC)

    master = _new_event(f"series-{series.id}@{UID_DOMAIN}", series.title, stamp)
    master.add("dtstart", first_wall)
    master.add("duration", timedelta(minutes=series.duration_minutes))
    master.add("rrule", icalendar.vRecur.from_ical(rule.to_rrule()))
    if not mark_cancelled:
        cancelled = sorted(_instance_wall(row.recurrence_id, rule) for row in in_rule if row.status == "cancelled")
        if cancelled:
            master.add("exdate", cancelled)
    events = [master]

    for row in sorted(in_rule, key=lambda row: row.recurrence_id):
        is_cancelled = row.status == "cancelled"
        if is_cancelled and not mark_cancelled:
            continue
        if not is_cancelled and not _is_override(series, row):
            continue
        override = _new_event(str(master["UID"]), row.title, stamp, changed=not is_cancelled)
        override.add("recurrence-id", _instance_wall(row.recurrence_id, rule))
        override.add("dtstart", _actual_start(row.start_utc))
        override.add("duration", timedelta(minutes=row.duration_minutes))
        override.add("sequence", row.change_version)
        if is_cancelled:
            override.add("status", "CANCELLED")
        events.append(override)
    return events + loose, first_wall.date()


def series_calendar(series: SeriesRow, occurrences: list[OccurrenceRow], *, now: datetime | None = None) -> bytes:
    """Export a series as one recurring event with its cancelled and changed sessions (RFC 5545 bytes).

    occurrences are the series' stored sessions to reflect. The recurrence starts at the earliest
    of them (or at the rule's first session if none are given), so rule dates before the sessions
    the bot stored are not shown as if they had happened. A series that is not active ends at its
    last stored session instead of repeating forever. now is the DTSTAMP (default: the clock).
    """
    stamp = _stamp(now)
    events, first_day = _series_events(series, occurrences, stamp, mark_cancelled=False)
    calendar = _new_calendar(series.title)
    for event in events:
        calendar.add_component(event)
    return _finish(calendar, first_day)


def _session_event(occurrence: OccurrenceRow, stamp: datetime) -> icalendar.Event:
    """Return a stand-alone VEVENT for one session (STATUS:CANCELLED if it was cancelled)."""
    event = _new_event(f"session-{occurrence.id}@{UID_DOMAIN}", occurrence.title, stamp)
    event.add("dtstart", _actual_start(occurrence.start_utc))
    event.add("duration", timedelta(minutes=occurrence.duration_minutes))
    event.add("sequence", occurrence.change_version)
    if occurrence.status == "cancelled":
        event.add("status", "CANCELLED")
    return event


def sessions_calendar(
    occurrences: Iterable[OccurrenceRow],
    name: str,
    *,
    now: datetime | None = None,
    keep_cancelled: bool = False,
    refresh: timedelta | None = None,
) -> bytes:
    """Export sessions as one event each, as RFC 5545 bytes.

    Cancelled sessions are left out of a one-off file; a feed keeps them (keep_cancelled) as
    STATUS:CANCELLED, so a calendar app that saw the session before shows it cancelled. refresh
    tells apps how often to fetch a feed again.
    """
    stamp = _stamp(now)
    calendar = _new_calendar(name, refresh=refresh)
    kept = sorted(
        (row for row in occurrences if keep_cancelled or row.status != "cancelled"),
        key=lambda row: (row.start_utc, row.id),
    )
    for row in kept:
        calendar.add_component(_session_event(row, stamp))
    # With no sessions the calendar is still valid to import: it holds just the VTIMEZONE.
    first_day = utc_to_pacific(kept[0].start_utc).date() if kept else utc_to_pacific(stamp).date()
    return _finish(calendar, first_day)


def schedule_feed(
    series: Iterable[tuple[SeriesRow, list[OccurrenceRow]]],
    one_offs: Iterable[OccurrenceRow],
    name: str,
    *,
    now: datetime,
    refresh: timedelta,
) -> bytes:
    """The whole schedule as one feed: each series recurring (cancellations as STATUS:CANCELLED), one-offs alone.

    UIDs are stable (series-N, session-N), so a calendar app that fetches the feed again updates
    the events it has: a move arrives as the override's new DTSTART, a cancellation as its STATUS.
    now is the DTSTAMP: the caller passes the time of the last change, so an unchanged schedule
    gives the same bytes (and the same ETag) at every fetch.
    """
    stamp = _stamp(now)
    calendar = _new_calendar(name, refresh=refresh)
    first_days: list[date] = []
    for row, occurrences in series:
        events, first_day = _series_events(row, occurrences, stamp, mark_cancelled=True)
        for event in events:
            calendar.add_component(event)
        first_days.append(first_day)
    for occurrence in sorted(one_offs, key=lambda row: (row.start_utc, row.id)):
        if occurrence.series_id is not None:
            raise ValueError(f"session #{occurrence.id} belongs to series #{occurrence.series_id}, not the one-offs")
        calendar.add_component(_session_event(occurrence, stamp))
        first_days.append(utc_to_pacific(occurrence.start_utc).date())
    return _finish(calendar, min(first_days, default=utc_to_pacific(stamp).date()))
