"""The calendar feeds over real HTTP, expanded by an independent calendar library as an app would.

A weekly 18:30 Pacific series is fetched and expanded across the March and November changes of
both US Pacific and European time; moves and cancellations show at the next fetch with the same
UIDs; ETags make an unchanged feed a 304; private links work, are replaced and revoked, and are
never stored or logged; no request writes to the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from bot.errors import ConfigError
from bot.schedule.rules import pacific_wall_to_utc
from bot.services.calendars import secret_hash
from bot.services.horizon import Horizon
from bot.texts import web as texts
from bot.web import WebServer
from tests.web.support import Clock, Site, free_port, running_site, write_config

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
PACIFIC = ZoneInfo("America/Los_Angeles")
# The bot's clock: January 2026, with a horizon long enough to store every Monday of the year.
NOW = dt.datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
HORIZON = dt.timedelta(days=340)


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """The UTC instant of a Pacific wall-clock time."""
    return pacific_wall_to_utc(dt.datetime(year, month, day, hour, minute))  # noqa: DTZ001 (Pacific wall clock)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running_site(tmp_path / "site", Clock(NOW), horizon=HORIZON) as running:
        yield running


async def weekly_series(site: Site, *, weekdays: tuple[str, ...] = ("MO",), title: str = "Monday evening") -> int:
    """A weekly 18:30 Pacific series from 2 Feb 2026, its sessions stored for the horizon as the bot does."""
    series = await site.db.create_series(
        title=title,
        weekdays=list(weekdays),
        local_time=dt.time(18, 30),
        starts_on=dt.date(2026, 2, 2),
        duration_minutes=45,
        channel_id=100000000000000005,
    )
    await Horizon(site.db, HORIZON, site.clock).expand(series)
    return series.id


def parse(body: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(body)
    assert isinstance(calendar, icalendar.Calendar)
    return calendar


def expand(body: bytes, start: dt.datetime, end: dt.datetime) -> list[icalendar.Event]:
    """The events a calendar app shows in [start, end), by start."""
    events = recurring_ical_events.of(parse(body)).between(start, end)
    return sorted(events, key=lambda event: event["DTSTART"].dt)


def starts(body: bytes, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    return [event["DTSTART"].dt.astimezone(UTC) for event in expand(body, start, end)]


# --- daylight saving ------------------------------------------------------------------------------


async def test_weekly_1830_pacific_across_both_zones_march_and_november_changes(site: Site) -> None:
    await weekly_series(site)
    status, headers, body = await site.get("/calendar.ics")
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    # Renamed, the zone is known to the reader only by the feed's own VTIMEZONE: its rules must be right.
    own_zone_only = body.replace(b"America/Los_Angeles", b"Practice-Circles-Pacific")

    for feed in (body, own_zone_only):
        events = expand(feed, dt.datetime(2026, 2, 1, tzinfo=UTC), dt.datetime(2026, 12, 1, tzinfo=UTC))
        assert len(events) == 43  # every Monday from 2 Feb to 30 Nov
        seen: dict[dt.date, tuple[dt.datetime, dt.datetime]] = {}
        for event in events:
            start = event["DTSTART"].dt
            wall = start.astimezone(PACIFIC)
            assert (wall.weekday(), wall.hour, wall.minute) == (0, 18, 30), start
            seen[wall.date()] = (start.astimezone(UTC), start.astimezone(BERLIN))

        def at(day: dt.date, seen: dict[dt.date, tuple[dt.datetime, dt.datetime]] = seen) -> tuple[str, str]:
            in_utc, in_berlin = seen[day]
            return f"{in_utc:%a %H:%M}", f"{in_berlin:%a %H:%M %Z}"

        # Before any change: PST (UTC-8) and CET (UTC+1).
        assert at(dt.date(2026, 3, 2)) == ("Tue 02:30", "Tue 03:30 CET")
        # The US springs forward on 8 March, Europe only on 29 March: three weeks an hour earlier in Berlin.
        assert at(dt.date(2026, 3, 9)) == ("Tue 01:30", "Tue 02:30 CET")
        assert at(dt.date(2026, 3, 23)) == ("Tue 01:30", "Tue 02:30 CET")
        assert at(dt.date(2026, 3, 30)) == ("Tue 01:30", "Tue 03:30 CEST")
        assert at(dt.date(2026, 10, 19)) == ("Tue 01:30", "Tue 03:30 CEST")
        # Europe falls back on 25 October, the US only on 1 November: one week an hour earlier again.
        assert at(dt.date(2026, 10, 26)) == ("Tue 01:30", "Tue 02:30 CET")
        assert at(dt.date(2026, 11, 2)) == ("Tue 02:30", "Tue 03:30 CET")
        # And every week in between follows the same two rules.
        for day, (in_utc, in_berlin) in seen.items():
            us_summer = dt.date(2026, 3, 8) <= day < dt.date(2026, 11, 1)
            eu_summer = dt.date(2026, 3, 29) <= day < dt.date(2026, 10, 25)
            assert in_utc.hour == (1 if us_summer else 2), day
            assert in_berlin.hour == (3 if us_summer == eu_summer else 2), day


async def test_the_feed_carries_one_pacific_vtimezone_and_asks_to_be_fetched_again(site: Site) -> None:
    await weekly_series(site)
    _, _, body = await site.get("/calendar.ics")
    calendar = parse(body)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/Los_Angeles"
    assert {"STANDARD", "DAYLIGHT"} <= {component.name for component in zone.subcomponents}
    assert calendar["REFRESH-INTERVAL"].dt == dt.timedelta(hours=1)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-WR-CALNAME"]) == texts.FEED_NAME
    [master] = calendar.walk("VEVENT")
    assert master["DTSTART"].params["TZID"] == "America/Los_Angeles"


# --- changes arrive at the next fetch -------------------------------------------------------------


async def test_moves_and_cancellations_arrive_at_the_next_fetch_under_the_same_uids(site: Site) -> None:
    series_id = await weekly_series(site)
    one_off = await site.db.add_one_off(
        start=pacific(2026, 2, 14, 9, 0), duration_minutes=30, channel_id=100000000000000006, title="Saturday sit"
    )
    _, first_headers, first = await site.get("/calendar.ics")
    first_uids = {str(event["UID"]) for event in parse(first).walk("VEVENT")}
    assert first_uids == {f"series-{series_id}@practice-circles", f"session-{one_off.id}@practice-circles"}
    window = (dt.datetime(2026, 2, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))
    assert pacific(2026, 3, 9, 18, 30) in starts(first, *window)

    # A calendar app asks again with the tag it has: nothing changed, so nothing is sent.
    status, headers, body = await site.get("/calendar.ics", **{"If-None-Match": first_headers["ETag"]})
    assert (status, body) == (304, b"")
    assert headers["ETag"] == first_headers["ETag"]

    rows = await site.db.list_occurrences(*window, series_id=series_id)
    moved = next(row for row in rows if row.recurrence_id == pacific(2026, 3, 9, 18, 30))
    cancelled = next(row for row in rows if row.recurrence_id == pacific(2026, 3, 16, 18, 30))
    site.clock.now += dt.timedelta(minutes=5)
    await site.db.move_occurrence(moved.id, pacific(2026, 3, 10, 7, 0))
    await site.db.cancel_occurrence(cancelled.id)
    await site.db.cancel_occurrence(one_off.id)

    status, headers, second = await site.get("/calendar.ics", **{"If-None-Match": first_headers["ETag"]})
    assert status == 200 and headers["ETag"] != first_headers["ETag"]
    shown = starts(second, *window)
    assert pacific(2026, 3, 9, 18, 30) not in shown and pacific(2026, 3, 10, 7, 0) in shown
    events = parse(second).walk("VEVENT")
    assert {str(event["UID"]) for event in events} == first_uids
    by_instance = {
        (str(event["UID"]), event["RECURRENCE-ID"].dt if "RECURRENCE-ID" in event else None): event for event in events
    }
    uid = f"series-{series_id}@practice-circles"
    move = by_instance[(uid, dt.datetime(2026, 3, 9, 18, 30, tzinfo=PACIFIC))]
    assert move["DTSTART"].dt == dt.datetime(2026, 3, 10, 7, 0, tzinfo=PACIFIC)
    assert "STATUS" not in move
    cancel = by_instance[(uid, dt.datetime(2026, 3, 16, 18, 30, tzinfo=PACIFIC))]
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert "EXDATE" not in by_instance[(uid, None)], "a feed marks cancellations instead of hiding them"
    assert str(by_instance[(f"session-{one_off.id}@practice-circles", None)]["STATUS"]) == "CANCELLED"
    assert cancel["SEQUENCE"] == 2 and move["SEQUENCE"] == 2

    # The new version is stable in turn.
    status, _, _ = await site.get("/calendar.ics", **{"If-None-Match": headers["ETag"]})
    assert status == 304


async def test_an_unchanged_schedule_is_the_same_bytes_at_every_fetch(site: Site) -> None:
    await weekly_series(site)
    _, first_headers, first = await site.get("/calendar.ics")
    site.clock.now += dt.timedelta(hours=3)  # time passes; nothing changes
    _, headers, again = await site.get("/calendar.ics")
    assert again == first and headers["ETag"] == first_headers["ETag"]
    # A tag list, a weak tag and '*' all count as "I have it" (RFC 9110 weak comparison).
    for offered in (f'"other", {first_headers["ETag"]}', "W/" + first_headers["ETag"], "*"):
        status, _, _ = await site.get("/calendar.ics", **{"If-None-Match": offered})
        assert status == 304, offered
    status, _, _ = await site.get("/calendar.ics", **{"If-None-Match": '"something-else"'})
    assert status == 200


async def test_a_paused_series_shows_its_remaining_sessions_cancelled(site: Site) -> None:
    series_id = await weekly_series(site, title="Paused one")
    rows = await site.db.list_occurrences(NOW, NOW + HORIZON, series_id=series_id)
    site.clock.now += dt.timedelta(minutes=1)
    await site.db.update_series(series_id, status="paused")
    for row in rows[3:]:
        await site.db.cancel_occurrence(row.id, by="series")
    _, _, body = await site.get("/calendar.ics")
    cancelled = [event for event in parse(body).walk("VEVENT") if str(event.get("STATUS")) == "CANCELLED"]
    assert len(cancelled) == len(rows) - 3
    # Nothing repeats past the last stored session of a series that is no longer active.
    assert starts(body, NOW + HORIZON, NOW + HORIZON + dt.timedelta(days=60)) == []


# --- a member's private feed ----------------------------------------------------------------------


async def test_a_private_feed_holds_the_members_sessions_cancelled_ones_marked(site: Site) -> None:
    series_id = await weekly_series(site)
    rows = await site.db.list_occurrences(NOW, NOW + dt.timedelta(days=60), series_id=series_id)
    mine, cancelled, other = rows[0], rows[1], rows[2]
    await site.db.sign_up(mine.id, 42)
    await site.db.sign_up(cancelled.id, 42)
    await site.db.sign_up(other.id, 43)  # someone else's
    await site.db.cancel_occurrence(cancelled.id)

    link = await site.feeds.subscribe(42)
    assert link.url.startswith("https://calendar.community.test/practice/calendar/") and not link.replaced
    status, headers, body = await site.get(site.local(link.url))
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    assert headers["Cache-Control"].startswith("private")
    events = {str(event["UID"]): event for event in parse(body).walk("VEVENT")}
    assert set(events) == {f"session-{mine.id}@practice-circles", f"session-{cancelled.id}@practice-circles"}
    assert str(events[f"session-{cancelled.id}@practice-circles"]["STATUS"]) == "CANCELLED"
    assert "STATUS" not in events[f"session-{mine.id}@practice-circles"]
    assert b"43" not in body  # nobody else's id, nor anyone's, is in a feed

    # Signing out of a session takes it off the member's calendar at the next fetch.
    status, _, _ = await site.get(site.local(link.url), **{"If-None-Match": headers["ETag"]})
    assert status == 304
    await site.db.sign_out(mine.id, 42)
    status, _, again = await site.get(site.local(link.url), **{"If-None-Match": headers["ETag"]})
    assert status == 200
    assert {str(event["UID"]) for event in parse(again).walk("VEVENT")} == {f"session-{cancelled.id}@practice-circles"}


async def test_a_new_link_replaces_the_old_one_and_revoking_ends_it(site: Site) -> None:
    first = await site.feeds.subscribe(42)
    second = await site.feeds.subscribe(42)
    assert second.replaced and second.url != first.url
    status, _, body = await site.get(site.local(first.url))
    assert status == 404 and body.decode().strip() == texts.FEED_NOT_FOUND
    assert (await site.get(site.local(second.url)))[0] == 200

    assert await site.feeds.revoke(42) is True
    assert (await site.get(site.local(second.url)))[0] == 404
    assert await site.feeds.revoke(42) is False


async def test_guessed_or_malformed_links_find_nothing(site: Site) -> None:
    await site.feeds.subscribe(42)
    for path in ("/calendar/x.ics", "/calendar/" + "A" * 43 + ".ics", "/calendar/%2e%2e.ics", "/calendar/.ics"):
        status, _, body = await site.get(path)
        assert status == 404, path
        assert b"BEGIN:VCALENDAR" not in body


async def test_the_secret_is_neither_stored_nor_logged(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    link = await site.feeds.subscribe(42)
    secret = link.url.rsplit("/", 1)[1].removesuffix(".ics")
    await site.get(site.local(link.url))
    await site.get("/calendar/" + secret[::-1] + ".ics")
    assert secret not in caplog.text and secret[::-1] not in caplog.text
    assert "/calendar/….ics" in caplog.text  # the request is logged, redacted
    dump = "\n".join([line async for line in dump_database(site)])
    assert secret not in dump
    assert secret_hash(secret) in dump


async def dump_database(site: Site) -> AsyncIterator[str]:
    """Every row of every table, as SQL text, read through a connection of its own."""
    import sqlite3

    with sqlite3.connect(site.config.storage.database) as connection:
        for line in connection.iterdump():
            yield line


async def test_no_request_writes_to_the_database(site: Site) -> None:
    series_id = await weekly_series(site)
    rows = await site.db.list_occurrences(NOW, NOW + dt.timedelta(days=30), series_id=series_id)
    await site.db.sign_up(rows[0].id, 42)
    link = await site.feeds.subscribe(42)
    before = [line async for line in dump_database(site)]
    for path in ("/", "/?lang=es", "/calendar.ics", site.local(link.url), "/calendar/nope.ics", "/healthz", "/nope"):
        await site.get(path)
    assert [line async for line in dump_database(site)] == before


# --- the server itself ----------------------------------------------------------------------------


async def test_a_failing_request_is_a_500_with_a_reference_and_the_server_carries_on(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> bytes:
        raise RuntimeError("the feed could not be built")

    monkeypatch.setattr(site.feeds, "public_feed", broken)
    status, _, body = await site.get("/calendar.ics")
    assert status == 500
    text = body.decode()
    assert "Something went wrong on our side (reference " in text and "RuntimeError" not in text
    reference = text.split("reference ")[1].split(")")[0]
    assert reference in caplog.text and "the feed could not be built" in caplog.text
    assert (await site.get("/healthz"))[0] == 200
    monkeypatch.undo()
    assert (await site.get("/calendar.ics"))[0] == 200


async def test_every_answer_is_marked_and_keeps_referrers_private(site: Site) -> None:
    for path in ("/", "/calendar.ics", "/healthz", "/nope"):
        _, headers, _ = await site.get(path)
        assert headers["X-Practice-Circles"] == "1"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"


async def test_a_port_in_use_is_a_clear_error_naming_the_key(tmp_path: Path, site: Site) -> None:
    taken = write_config(tmp_path / "second", port=site.server.port or 0)
    second = WebServer(taken, site.feeds, lambda _: None)
    with pytest.raises(ConfigError) as caught:
        await second.start()
    assert caught.value.key == "web.port"
    assert f"port {site.server.port} on 127.0.0.1 is already in use" in str(caught.value)
    await second.stop()  # nothing to stop; harmless
    assert (await site.get("/healthz"))[0] == 200  # the first server is untouched


async def test_a_host_that_is_not_this_machine_is_a_clear_error(tmp_path: Path, site: Site) -> None:
    elsewhere = write_config(tmp_path / "elsewhere", port=free_port(), web={"host": '"192.0.2.1"'})
    with pytest.raises(ConfigError) as caught:
        await WebServer(elsewhere, site.feeds, lambda _: None).start()
    assert caught.value.key == "web.host" and "not an address of this machine" in str(caught.value)
