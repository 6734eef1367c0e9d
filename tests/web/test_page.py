"""The page's words and languages: every message translated with the same placeholders; the choice of language."""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import texts as bot_texts
from bot.texts import web as texts
from bot.web.page import choose_language
from tests.web.support import Clock, Site, running_site

# Plain answers to calendar apps and the feed's name: English only, on purpose.
UNTRANSLATED = {"FEED_NAME", "FEED_NOT_FOUND", "NOT_FOUND", "SERVER_ERROR", "HEALTHY", "DEFAULT_LANGUAGE"}


def page_messages() -> list[str]:
    """Every message the page shows: the module's text constants and the guidelines."""
    constants = [
        value
        for name, value in vars(texts).items()
        if name.isupper() and isinstance(value, str) and name not in UNTRANSLATED
    ]
    return constants + list(bot_texts.GUIDELINES)


def fields(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


@pytest.mark.parametrize("language", [code for code in texts.LANGUAGES if code != texts.DEFAULT_LANGUAGE])
def test_every_page_message_is_translated_with_the_same_placeholders(language: str) -> None:
    table = texts.TRANSLATIONS[language]
    missing = [message for message in page_messages() if message not in table]
    assert missing == []
    for message, translation in table.items():
        assert fields(translation) == fields(message), message
        # A guideline keeps its bold opening, which the page turns into <strong>.
        assert translation.startswith("**") == message.startswith("**"), message
    assert set(table) <= set(page_messages()), "a translation of a message the page no longer has"


def test_every_language_offered_has_a_table() -> None:
    assert set(texts.LANGUAGES) == set(texts.TRANSLATIONS)


@pytest.mark.parametrize(
    ("asked", "accept", "expected"),
    [
        (None, None, "en"),
        (None, "es-ES,es;q=0.9", "es"),
        (None, "de-DE,de;q=0.9,es;q=0.8,en;q=0.7", "es"),
        (None, "en;q=0.2, es;q=0.9", "es"),
        (None, "es;q=0", "en"),  # q=0 means "not this one"
        (None, "fr-FR", "en"),
        (None, "*", "en"),
        (None, "garbage;;;,,", "en"),
        ("es", "en-US", "es"),
        ("xx", "es", "es"),  # an unknown ?lang= is ignored
    ],
)
def test_the_language_is_asked_for_then_the_browsers_then_english(
    asked: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(asked, accept) == expected


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    async with running_site(tmp_path / "site", Clock(dt.datetime(2026, 1, 20, tzinfo=dt.UTC))) as running:
        yield running


async def test_the_page_answers_in_the_browsers_language_and_says_so(site: Site) -> None:
    status, headers, body = await site.get("/", **{"Accept-Language": "es-ES,es;q=0.9"})
    assert status == 200 and headers["Content-Language"] == "es"
    assert "Accept-Language" in headers["Vary"]
    html = body.decode()
    assert '<html lang="es">' in html and texts.SPANISH[texts.HEADING] in html
    assert texts.SPANISH[texts.SCHEDULE_EMPTY].format(days=14) in html
    # The page's own script and style only.
    assert "script-src 'self'" in headers["Content-Security-Policy"]


async def test_an_unchanged_page_is_a_304(site: Site) -> None:
    _, headers, _ = await site.get("/?lang=en")
    status, _, body = await site.get("/?lang=en", **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    _, spanish, _ = await site.get("/?lang=es")
    assert spanish["ETag"] != headers["ETag"]


async def test_the_script_and_style_are_served_and_nothing_else_is(site: Site) -> None:
    for name, kind in (("schedule.js", "text/javascript"), ("schedule.css", "text/css")):
        status, headers, _ = await site.get(f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind)
    for path in ("/static/../server.py", "/static/page.py", "/static/%2e%2e%2fserver.py"):
        assert (await site.get(path))[0] == 404, path
