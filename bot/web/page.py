"""The public schedule page: the language it is shown in, and the HTML (Jinja2, autoescaped).

The HTML alone is complete: every session shows its time in US Pacific Time and in UTC, written
in the page's language (Babel). A small script then adds each time in the visitor's own zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_time
from markupsafe import Markup, escape

from bot.config import Config, WebSection
from bot.model import OccurrenceRow
from bot.schedule.rules import PACIFIC_ZONE_NAME
from bot.services.calendars import PublicSchedule
from bot.texts import GUIDELINES
from bot.texts import web as texts

__all__ = ["STATIC_FILES", "PageLinks", "choose_language", "render_page", "static_file"]

ChannelNames = Callable[[int], str | None]

_PACIFIC = ZoneInfo(PACIFIC_ZONE_NAME)
_UTC = ZoneInfo("UTC")
_UNDER_WAY_STATUSES = frozenset({"open", "teacher_led", "no_teacher"})
# A language tag in Accept-Language: "es", "pt-BR", "*"; then an optional ";q=0.8".
_ACCEPT_ITEM = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?))?\s*")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
STATIC_FILES = ("schedule.css", "schedule.js")


@dataclass(frozen=True)
class PageLinks:
    """Where the page's links go: the feeds, the Discord server, and the community's own links."""

    feed_https: str
    feed_webcal: str
    join: str
    community: str
    coordinators: str
    donate: str
    share: str
    guild_id: int

    @classmethod
    def of(cls, config: Config, web: WebSection) -> PageLinks:
        """The links as configured."""
        feed = f"{web.public_url}/calendar.ics"
        return cls(
            feed_https=feed,
            feed_webcal="webcal://" + feed.removeprefix("https://"),
            join=web.join_url,
            community=config.links.community,
            coordinators=config.links.coordinators,
            donate=config.links.donate,
            share=config.links.share,
            guild_id=config.guild.id,
        )


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """The page's language: ?lang= if it is one we have, else the browser's best match, else English."""
    if asked in texts.TRANSLATIONS:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate((accept_language or "").split(",")[:20]):
        match = _ACCEPT_ITEM.fullmatch(item)
        if match is None:
            continue
        quality = float(match.group(2)) if match.group(2) else 1.0
        ranked.append((-quality, index, match.group(1).split("-")[0].lower()))
    for negative_quality, _, language in sorted(ranked):
        if negative_quality < 0 and language in texts.TRANSLATIONS:
            return language
    return texts.DEFAULT_LANGUAGE


def _translator(language: str) -> Callable[..., str]:
    """gettext for one language: the message's translation (English if none), with placeholders filled."""
    table = texts.TRANSLATIONS.get(language, {})

    def translate(message: str, **values: object) -> str:
        text = table.get(message, message)
        return text.format(**values) if values else text

    return translate


def _guideline_html(text: str) -> Markup:
    """A guideline paragraph with its **bold** opening as <strong>, everything else escaped."""
    escaped = str(escape(text))
    return Markup(_BOLD.sub(r"<strong>\1</strong>", escaped))  # noqa: S704 (the text was escaped above)


def _spoken_time(instant: dt.datetime, zone: ZoneInfo, language: str) -> str:
    """A start as the page writes it without script: 'Monday, March 9, 2026, 18:30' in the language."""
    local = instant.astimezone(zone)
    return f"{format_date(local.date(), 'full', locale=language)}, {format_time(local, 'HH:mm', locale=language)}"


@dataclass(frozen=True)
class _SessionView:
    """One session as the template shows it."""

    title: str
    start_iso: str
    pacific: str
    pacific_zone: str
    utc: str
    minutes: int
    where: str
    channel_url: str
    cancelled: bool
    under_way: bool


def _session_view(
    row: OccurrenceRow, now: dt.datetime, language: str, links: PageLinks, channel_names: ChannelNames
) -> _SessionView:
    translate = _translator(language)
    name = channel_names(row.channel_id)
    return _SessionView(
        title=row.title,
        start_iso=row.start_utc.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        pacific=_spoken_time(row.start_utc, _PACIFIC, language),
        pacific_zone=row.start_utc.astimezone(_PACIFIC).tzname() or "",
        utc=_spoken_time(row.start_utc, _UTC, language),
        minutes=row.duration_minutes,
        where=translate(texts.SESSION_WHERE, channel=name) if name else translate(texts.SESSION_WHERE_UNNAMED),
        channel_url=f"https://discord.com/channels/{links.guild_id}/{row.channel_id}",
        cancelled=row.status == "cancelled",
        under_way=row.status != "cancelled" and (row.status in _UNDER_WAY_STATUSES or row.start_utc <= now),
    )


@functools.cache
def _environment() -> jinja2.Environment:
    """The template environment: autoescaped, templates from the package."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def static_file(name: str) -> tuple[bytes, str]:
    """A static file's bytes and a short hash of them (for cache-busting links and ETags)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    body = files("bot.web").joinpath("static", name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:16]


def render_page(
    schedule: PublicSchedule,
    language: str,
    links: PageLinks,
    channel_names: ChannelNames,
    page_url: Callable[[str], str],
) -> bytes:
    """The page's HTML in a language; page_url(language) is the page's own address in another language."""
    translate = _translator(language)
    sessions = [_session_view(row, schedule.now, language, links, channel_names) for row in schedule.sessions]
    assets: Mapping[str, str] = {name: static_file(name)[1] for name in STATIC_FILES}
    html = (
        _environment()
        .get_template("schedule.html")
        .render(
            t=translate,
            texts=texts,
            language=language,
            languages=texts.LANGUAGES,
            page_url=page_url,
            sessions=sessions,
            schedule=schedule,
            guidelines=[_guideline_html(translate(text)) for text in GUIDELINES],
            links=links,
            assets=assets,
        )
    )
    return html.encode("utf-8")
