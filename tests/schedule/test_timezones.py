"""Members' time zones: which names are accepted, autocomplete, and notes when only one side changes DST.

2026 clock changes used below: US 8 Mar and 1 Nov; UK 29 Mar and 25 Oct; Sydney ends daylight
saving 5 Apr and starts it 4 Oct; Tokyo and Phoenix never change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.errors import ScheduleError
from bot.schedule.rules import WeeklyRule, pacific_wall_to_utc, utc_to_pacific
from bot.schedule.timezones import (
    MAX_SUGGESTIONS,
    dst_weeks_ahead,
    local_shift_note,
    suggest_timezones,
    validate_timezone,
)

# Every Wednesday at 09:00 Pacific through 2026.
WEDNESDAY_MORNINGS = WeeklyRule(frozenset({2}), time(9, 0), date(2026, 1, 7), until=date(2026, 12, 30))
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """The UTC instant of a Pacific wall-clock time."""
    return pacific_wall_to_utc(datetime(year, month, day, hour, minute))  # noqa: DTZ001 (Pacific wall clock)


def shifted_weeks(zone: str) -> list[date]:
    """The Pacific dates of 2026's Wednesday sessions that the zone sees at a new local time."""
    return [
        utc_to_pacific(instant).date() for instant in dst_weeks_ahead(WEDNESDAY_MORNINGS, zone, YEAR_START, YEAR_END)
    ]


# --- validate_timezone ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Europe/London", "Europe/London"),
        ("  asia/TOKYO ", "Asia/Tokyo"),
        ("America/Sao Paulo", "America/Sao_Paulo"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/GMT-3", "Etc/GMT-3"),
        ("etc/utc", "Etc/UTC"),
        ("UTC", "UTC"),
        ("US/Pacific", "US/Pacific"),
    ],
)
def test_iana_place_names_are_accepted_in_their_canonical_spelling(typed: str, canonical: str) -> None:
    assert validate_timezone(typed) == canonical


@pytest.mark.parametrize(
    ("typed", "expected_first"),
    [
        ("PST", "America/Los_Angeles"),
        ("pdt", "America/Los_Angeles"),
        ("EST5EDT", "America/New_York"),
        ("PST8PDT", "America/Los_Angeles"),
        ("CET", "Europe/Paris"),
        ("Japan", "Asia/Tokyo"),
        ("GMT", "Europe/London"),
        ("IST", "Asia/Kolkata"),
    ],
)
def test_abbreviations_and_old_names_are_refused_with_the_places_they_usually_mean(
    typed: str, expected_first: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate_timezone(typed)
    message = caught.value.message
    assert "abbreviation" in message
    suggestions = message.split("Did you mean: ", 1)[1].rstrip("?").split(", ")
    assert suggestions[0] == expected_first
    assert len(suggestions) <= MAX_SUGGESTIONS
    for suggestion in suggestions:
        assert validate_timezone(suggestion) == suggestion


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Europe/Londn", "Europe/London"), ("Londn", "Europe/London"), ("tokio", "Asia/Tokyo"), ("tokyo", "Asia/Tokyo")],
)
def test_misspellings_and_bare_city_names_get_close_suggestions(typed: str, expected: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate_timezone(typed)
    message = caught.value.message
    assert message.startswith("Sorry,")
    suggestions = message.split("Did you mean: ", 1)[1].rstrip("?").split(", ")
    assert suggestions[0] == expected
    assert 1 <= len(suggestions) <= MAX_SUGGESTIONS
    assert len(set(suggestions)) == len(suggestions)


@pytest.mark.parametrize(("typed", "etc_name"), [("UTC+3", "Etc/GMT-3"), ("GMT-5", "Etc/GMT+5"), ("utc +0", "Etc/GMT")])
def test_whole_hour_offsets_explain_the_reversed_etc_name(typed: str, etc_name: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate_timezone(typed)
    assert f"use {etc_name} " in caught.value.message
    assert "nearest city" in caught.value.message


def test_a_half_hour_offset_asks_for_a_city() -> None:
    with pytest.raises(ScheduleError, match="nearest city"):
        validate_timezone("UTC+5:30")


@pytest.mark.parametrize("typed", ["localtime", "Factory", "", "   ", "Mars/Olympus_Mons", "x" * 5000, "../etc/passwd"])
def test_names_that_are_not_places_are_refused(typed: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate_timezone(typed)
    assert len(caught.value.message) < 600  # a huge input is not echoed back in full


# --- suggest_timezones ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("tokyo", "Asia/Tokyo"),
        ("TOKYO", "Asia/Tokyo"),
        ("new york", "America/New_York"),
        ("newyork", "America/New_York"),
        ("london", "Europe/London"),
        ("pst", "America/Los_Angeles"),
        ("kolk", "Asia/Kolkata"),
        ("buenos", "America/Buenos_Aires"),
        ("Asia/Tok", "Asia/Tokyo"),
        ("port au prince", "America/Port-au-Prince"),
    ],
)
def test_autocomplete_puts_the_best_match_first(typed: str, first: str) -> None:
    assert suggest_timezones(typed)[0] == first


def test_autocomplete_prefers_real_places_to_old_region_aliases() -> None:
    assert suggest_timezones("pacific")[0] == "America/Los_Angeles"  # the word people use for the bot's zone
    found = suggest_timezones("samoa")
    assert found.index("Pacific/Samoa") < found.index("US/Samoa")


def test_autocomplete_respects_the_limit_and_only_offers_accepted_names() -> None:
    for typed in ("", "a", "america", "europe/", "sydney"):
        found = suggest_timezones(typed)
        assert 1 <= len(found) <= 25
        assert len(set(found)) == len(found)
        for name in found:
            assert validate_timezone(name) == name
    assert len(suggest_timezones("")) == 25
    assert len(suggest_timezones("a", limit=3)) == 3
    assert suggest_timezones("a", limit=0) == []
    assert suggest_timezones("zzzz") == []
    assert "localtime" not in suggest_timezones("local")


# --- local_shift_note ---------------------------------------------------------------------------


def test_london_between_the_us_and_uk_spring_changes() -> None:
    # 09:00 Pacific is 17:00 in London until 8 Mar, 16:00 until the UK catches up on 29 Mar.
    assert local_shift_note(pacific(2026, 3, 4, 9), pacific(2026, 2, 25, 9), "Europe/London") is None
    assert local_shift_note(pacific(2026, 3, 11, 9), pacific(2026, 3, 4, 9), "Europe/London") == (
        "Note: this week the session is at 16:00 your time (it was 17:00), because clocks changed in the "
        "US Pacific region but not where you are."
    )
    assert local_shift_note(pacific(2026, 3, 18, 9), pacific(2026, 3, 11, 9), "Europe/London") is None
    assert local_shift_note(pacific(2026, 3, 25, 9), pacific(2026, 3, 18, 9), "Europe/London") is None
    assert local_shift_note(pacific(2026, 4, 1, 9), pacific(2026, 3, 25, 9), "Europe/London") == (
        "Note: this week the session is at 17:00 your time (it was 16:00), because clocks changed where "
        "you are but not in the US Pacific region."
    )
    assert shifted_weeks("Europe/London") == [
        date(2026, 3, 11),
        date(2026, 4, 1),
        date(2026, 10, 28),
        date(2026, 11, 4),
    ]


def test_a_shift_across_midnight_names_the_days() -> None:
    # 16:30 PST is 00:30 on Thursday in London; 16:30 PDT is 23:30 on Wednesday.
    note = local_shift_note(pacific(2026, 3, 11, 16, 30), pacific(2026, 3, 4, 16, 30), "Europe/London")
    assert note is not None
    assert "at 23:30 on Wednesday your time (it was 00:30 on Thursday)" in note


def test_sydney_changes_in_the_other_direction_in_april_and_october() -> None:
    spring_us = local_shift_note(pacific(2026, 3, 11, 9), pacific(2026, 3, 4, 9), "Australia/Sydney")
    autumn_sydney = local_shift_note(pacific(2026, 4, 8, 9), pacific(2026, 4, 1, 9), "Australia/Sydney")
    spring_sydney = local_shift_note(pacific(2026, 10, 7, 9), pacific(2026, 9, 30, 9), "Australia/Sydney")
    assert spring_us is not None and "at 03:00 your time (it was 04:00)" in spring_us
    assert "US Pacific region but not where you are" in spring_us
    assert autumn_sydney is not None and "at 02:00 your time (it was 03:00)" in autumn_sydney
    assert "where you are but not in the US Pacific region" in autumn_sydney
    assert spring_sydney is not None and "at 03:00 your time (it was 02:00)" in spring_sydney
    assert shifted_weeks("Australia/Sydney") == [
        date(2026, 3, 11),
        date(2026, 4, 8),
        date(2026, 10, 7),
        date(2026, 11, 4),
    ]


def test_both_sides_changing_by_different_amounts_is_said_so() -> None:
    # January to July: Pacific went forward an hour and Sydney back an hour, two hours in all.
    note = local_shift_note(pacific(2026, 7, 1, 9), pacific(2026, 1, 7, 9), "Australia/Sydney")
    assert note == (
        "Note: this time the session is at 02:00 your time (it was 04:00), because clocks changed both in "
        "the US Pacific region and where you are, by different amounts."
    )


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Phoenix"])
def test_zones_without_daylight_saving_get_a_note_only_when_pacific_changes(zone: str) -> None:
    assert shifted_weeks(zone) == [date(2026, 3, 11), date(2026, 11, 4)]
    note = local_shift_note(pacific(2026, 11, 4, 9), pacific(2026, 10, 28, 9), zone)
    assert note is not None and note.endswith("because clocks changed in the US Pacific region but not where you are.")


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "America/Tijuana", "America/New_York"])
def test_zones_that_change_with_pacific_never_get_a_note(zone: str) -> None:
    assert shifted_weeks(zone) == []
    assert local_shift_note(pacific(2026, 3, 11, 9), pacific(2026, 3, 4, 9), zone) is None


def test_a_coordinator_move_is_not_explained_as_daylight_saving() -> None:
    # The Pacific wall time itself changed (09:00 -> 10:00), so the move notice covers it.
    assert local_shift_note(pacific(2026, 3, 11, 10), pacific(2026, 3, 4, 9), "Europe/London") is None


def test_every_other_week_compares_with_the_previous_session_of_the_rule() -> None:
    fortnightly = WeeklyRule(frozenset({2}), time(9, 0), date(2026, 3, 4), interval_weeks=2, until=date(2026, 4, 29))
    found = dst_weeks_ahead(fortnightly, "Europe/London", YEAR_START, YEAR_END)
    # Sessions 4, 18 Mar and 1 Apr: 17:00, 16:00 (US changed), 17:00 (UK changed).
    assert found == [pacific(2026, 3, 18, 9), pacific(2026, 4, 1, 9)]
    note = local_shift_note(found[0], pacific(2026, 3, 4, 9), "Europe/London")
    assert note is not None and note.startswith("Note: this time the session")


def test_the_range_start_still_compares_with_the_session_before_it() -> None:
    found = dst_weeks_ahead(WEDNESDAY_MORNINGS, "Asia/Tokyo", pacific(2026, 3, 11, 0), pacific(2026, 3, 12, 0))
    assert found == [pacific(2026, 3, 11, 9)]


def test_naive_times_and_unknown_stored_zones_are_refused() -> None:
    naive = datetime(2026, 3, 11, 9)  # noqa: DTZ001 (the point of the test)
    with pytest.raises(TypeError):
        local_shift_note(naive, pacific(2026, 3, 4, 9), "Europe/London")
    with pytest.raises(ScheduleError):
        local_shift_note(pacific(2026, 3, 11, 9), pacific(2026, 3, 4, 9), "Mars/Olympus_Mons")
