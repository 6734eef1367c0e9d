"""Calendar feeds and the public schedule: what the web server serves, read from the database only.

The public feed is the whole schedule; a member's private feed is the sessions they signed up for,
reached by a secret link that `/calendar subscribe` gives them. Only the SHA-256 of the secret is
stored, so the link cannot be rebuilt from the database, and a new link or a revoke ends the old
one. Feeds carry the time of the last change as DTSTAMP, so an unchanged schedule is served as the
same bytes, which is what lets calendar apps poll cheaply with ETags.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.config import Config, WebSection
from bot.errors import ConflictError
from bot.model import OccurrenceRow, SeriesRow
from bot.schedule.calendar import schedule_feed, sessions_calendar
from bot.storage import Database
from bot.texts import members as member_texts
from bot.texts import web as web_texts

__all__ = [
    "FEED_LOOKBACK",
    "FEED_REFRESH",
    "PAGE_DAYS",
    "PAGE_MAX_SESSIONS",
    "CalendarFeeds",
    "FeedLink",
    "PublicSchedule",
    "secret_hash",
]

# Sessions this far back stay in the feeds, so a calendar keeps the recent past instead of losing
# each session the moment it starts.
FEED_LOOKBACK: Final = dt.timedelta(days=28)
# How often calendar apps are asked to fetch a feed again (most poll on their own schedule anyway).
FEED_REFRESH: Final = dt.timedelta(hours=1)
# The public page lists this many days ahead, at most this many sessions (the page stays under 50 KB).
PAGE_DAYS: Final = 14
PAGE_MAX_SESSIONS: Final = 40
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
_SECRET_BYTES: Final = 32
_SECRET_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
# A schedule with nothing in it yet changes its DTSTAMP once a day, not at every fetch.
_EMPTY_STAMP_PERIOD: Final = dt.timedelta(days=1)
# Far enough ahead to include every stored session, even one moved past the horizon.
_FAR_AHEAD: Final = dt.timedelta(days=366)


def secret_hash(secret: str) -> str:
    """The SHA-256 hex digest a feed secret is stored and found by."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class FeedLink:
    """A member's new private feed: its address, and whether it replaced an older link."""

    url: str
    replaced: bool


@dataclass(frozen=True)
class PublicSchedule:
    """What the public page shows: sessions from now on (cancelled ones too), and whether more were left out."""

    sessions: Sequence[OccurrenceRow]
    more: bool
    days: int
    now: dt.datetime


class CalendarFeeds:
    """Builds the public and private feeds and the public page's list; issues and revokes private links."""

    def __init__(
        self, db: Database, config: Config, *, horizon: dt.timedelta, clock: Callable[[], dt.datetime]
    ) -> None:
        self.db = db
        self.config = config
        self.horizon = horizon
        self.clock = clock

    # --- addresses ------------------------------------------------------------------------------

    def _web(self) -> WebSection:
        web = self.config.web_enabled
        if web is None:
            raise ConflictError(member_texts.CALENDAR_FEEDS_OFF)
        return web

    def public_feed_url(self) -> str:
        """The https address of the whole schedule's feed."""
        return f"{self._web().public_url}/calendar.ics"

    def member_feed_url(self, secret: str) -> str:
        """The https address of a private feed."""
        return f"{self._web().public_url}/calendar/{secret}.ics"

    # --- private links (written from Discord, never from the web) ---------------------------------

    async def subscribe(self, user_id: int) -> FeedLink:
        """Give a member a new private feed link; an older one stops working."""
        self._web()  # refuse before storing anything when the web server is off
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        replaced = await self.db.replace_calendar_feed(user_id, secret_hash(secret))
        return FeedLink(self.member_feed_url(secret), replaced)

    async def revoke(self, user_id: int) -> bool:
        """Stop a member's private link; False if they had none."""
        return await self.db.revoke_calendar_feed(user_id)

    # --- reading (all the web server does) ------------------------------------------------------

    async def public_feed(self) -> bytes:
        """The whole schedule as an iCalendar feed."""
        now = self.clock()
        rows = await self.db.list_occurrences(now - FEED_LOOKBACK, now + self.horizon + _FAR_AHEAD)
        all_series = await self.db.list_series()
        by_series: dict[int, list[OccurrenceRow]] = {series.id: [] for series in all_series}
        one_offs: list[OccurrenceRow] = []
        for row in rows:
            if row.series_id is None:
                one_offs.append(row)
            else:
                by_series.setdefault(row.series_id, []).append(row)
        # Paused and ended series appear only while they still have sessions to show.
        shown: list[tuple[SeriesRow, list[OccurrenceRow]]] = [
            (series, by_series[series.id]) for series in all_series if series.status == "active" or by_series[series.id]
        ]
        stamp = _last_change([series for series, _ in shown], rows, now)
        # Writing a feed is pure CPU work; off the event loop, so the bot's own work never waits on it.
        return await asyncio.to_thread(
            schedule_feed, shown, one_offs, web_texts.FEED_NAME, now=stamp, refresh=FEED_REFRESH
        )

    async def member_feed(self, secret: str) -> bytes | None:
        """A member's sessions as an iCalendar feed; None if the secret is not (or no longer) in use."""
        if not _SECRET_PATTERN.fullmatch(secret):
            return None
        user_id = await self.db.calendar_feed_owner(secret_hash(secret))
        if user_id is None:
            return None
        now = self.clock()
        # Every status: a cancelled session stays, marked cancelled, until it leaves the look-back.
        rows = await self.db.list_user_occurrences(user_id, now - FEED_LOOKBACK)
        return await asyncio.to_thread(
            sessions_calendar,
            rows,
            member_texts.CALENDAR_MINE_NAME,
            now=_last_change([], rows, now),
            keep_cancelled=True,
            refresh=FEED_REFRESH,
        )

    async def public_schedule(self) -> PublicSchedule:
        """The sessions the public page lists: under way or starting in the next PAGE_DAYS days."""
        now = self.clock()
        # A session that began up to four hours ago may still be under way.
        rows = await self.db.list_occurrences(now - dt.timedelta(hours=4), now + dt.timedelta(days=PAGE_DAYS))
        current = [row for row in rows if row.end_utc > now and row.status != "closed"]
        return PublicSchedule(current[:PAGE_MAX_SESSIONS], len(current) > PAGE_MAX_SESSIONS, PAGE_DAYS, now)


def _last_change(series: Iterable[SeriesRow], rows: Iterable[OccurrenceRow], now: dt.datetime) -> dt.datetime:
    """When what a feed shows last changed (its DTSTAMP); for an empty feed, the start of the day."""
    moments = [row.updated_at for row in series] + [row.updated_at for row in rows]
    if moments:
        return max(moments)
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return epoch + ((now - epoch) // _EMPTY_STAMP_PERIOD) * _EMPTY_STAMP_PERIOD
