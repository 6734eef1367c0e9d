"""The public schedule page in real headless Chromium (Debian's), served by the real bot on the loopback Discord.

Three time zones (one with a half-hour offset) and two languages, chosen by the browser itself
(its zone and its Accept-Language), then the page without JavaScript. Each view is saved as a
screenshot under test-artifacts/schedule-page/ (the test prints the folder).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.async_api import Browser, Page, async_playwright

from bot.adapters.bot import PracticeCirclesBot
from bot.model import Actor
from bot.schedule.rules import utc_to_pacific
from bot.texts import web as texts
from loopback import Sandbox
from loopback.harness import config_for_world, practice_bot
from tests.web.support import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "schedule-page"
CHROMIUM = Path("/usr/bin/chromium")
# As the brief for the page asks: a quiet, isolated browser that fetches nothing on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PUBLIC_URL = "https://calendar.community.test/practice"
VIEWS = [
    ("Asia/Kolkata", "en-IN", "en"),  # UTC+05:30
    ("Europe/Berlin", "de-DE,de;q=0.9,es;q=0.8", "es"),  # German first, which the page lacks, then Spanish
    ("America/Sao_Paulo", "pt-BR,en;q=0.5", "en"),
    ("Asia/Kolkata", "es-MX", "es"),
    ("Europe/Berlin", "en-GB", "en"),
    ("America/Sao_Paulo", "es-419", "es"),
]
PAGE_BUDGET = 50_000

# WCAG 2 contrast of every element that shows text, against the colour behind it.
CONTRAST_PROBLEMS = """
() => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const behind = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgb(getComputedStyle(e).backgroundColor);
      if (colour.length < 4 || colour[3] > 0) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const problems = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || element.closest("[hidden]") || !element.getClientRects().length) continue;
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(behind(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const what = element.textContent.trim().slice(0, 30);
    if (ratio < 4.5) problems.push(`${element.tagName} "${what}": ${ratio.toFixed(2)}`);
  }
  return problems;
}
"""
# The browser's zone, by its everyday name in a language and its id, asked of the browser itself.
BROWSER_ZONE = """
(language) => {
  const id = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const parts = new Intl.DateTimeFormat(language, { timeZoneName: "longGeneric" }).formatToParts(new Date());
  return `${parts.find((part) => part.type === "timeZoneName").value} (${id.replace(/_/g, " ")})`;
}
"""
# Headings in order, and form controls without a label.
STRUCTURE = """
() => ({
  lang: document.documentElement.lang,
  headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => Number(h.tagName[1])),
  unlabelled: [...document.querySelectorAll("input, select, textarea")]
    .filter((control) => !control.labels.length).map((control) => control.id),
  landmarks: ["header", "main", "footer"].filter((name) => document.querySelector(name)),
})
"""


def coordinator(sandbox: Sandbox) -> Actor:
    world = sandbox.world
    return Actor.of(world.find_member("laila").id, [world.find_role("Coordinator").id])


def pacific_text(instant: dt.datetime) -> str:
    return utc_to_pacific(instant).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; Playwright gives each launch a fresh, temporary --user-data-dir."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed: run `bash scripts/setup dev` (it installs Debian's chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    print(f"\nschedule page screenshots: {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture
async def site(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[tuple[PracticeCirclesBot, str]]:
    """The real bot with [web] on, a series, a one-off and a cancelled one-off; and the page's address."""
    port = free_port()
    web = {"host": "127.0.0.1", "port": port, "public_url": PUBLIC_URL, "join_url": "https://discord.gg/practice"}
    config = config_for_world(sandbox.world, tmp_path / "practice", sections={"web": web})
    async with practice_bot(sandbox, config) as bot:
        sessions = bot.core.sessions
        now = dt.datetime.now(dt.UTC)
        await sessions.create_series(
            coordinator(sandbox),
            title="Evening practice",
            weekly="MON,THU@18:30",
            starts_on=utc_to_pacific(now).date(),
            duration_minutes=45,
        )
        start = (now + dt.timedelta(days=2)).replace(minute=15, second=0, microsecond=0)
        await sessions.add_session(
            coordinator(sandbox), start=pacific_text(start), duration_minutes=30, title="Saturday <b>sit</b> & tea"
        )
        gone = await sessions.add_session(
            coordinator(sandbox), start=pacific_text(start + dt.timedelta(days=1)), duration_minutes=30, title="Gone"
        )
        await sessions.cancel_session(coordinator(sandbox), gone.id, "The teacher is unwell")
        yield bot, f"http://127.0.0.1:{port}/"


async def first_sessions(bot: PracticeCirclesBot) -> list[Any]:
    return list((await bot.core.calendars.public_schedule()).sessions)


async def open_page(browser: Browser, url: str, *, zone: str, accept: str, script: bool = True) -> tuple[Page, int]:
    """The page in a new browser context; the bytes it took to show (HTML, style, script)."""
    # Playwright's locale would replace a list of languages by its one tag, so a list goes as the header alone.
    language: dict[str, Any] = {"locale": accept}
    if "," in accept:
        language = {"extra_http_headers": {"Accept-Language": accept}}
    context = await browser.new_context(
        timezone_id=zone,
        **language,
        java_script_enabled=script,
        viewport={"width": 900, "height": 1200},
    )
    page = await context.new_page()
    sizes: list[int] = []

    async def count(response: Any) -> None:
        if response.url.startswith(url):
            sizes.append(len(await response.body()))

    page.on("response", count)
    await page.goto(url, wait_until="load")
    if script:
        await page.wait_for_selector("#zone-note:not([hidden])")
    await page.wait_for_load_state("networkidle")
    return page, sum(sizes)


async def test_the_page_in_three_time_zones_and_two_languages(
    browser: Browser, site: tuple[PracticeCirclesBot, str], artifacts: Path
) -> None:
    bot, url = site
    sessions = await first_sessions(bot)
    channel_name = bot.get_channel(sessions[0].channel_id).name  # type: ignore[union-attr]
    for zone, accept, language in VIEWS:
        page, size = await open_page(browser, url, zone=zone, accept=accept)
        translate = texts.TRANSLATIONS[language]
        await page.screenshot(path=str(artifacts / f"{language}-{zone.replace('/', '-')}.png"), full_page=True)
        structure = await page.evaluate(STRUCTURE)

        assert structure["lang"] == language, (zone, accept)
        assert structure["headings"][0] == 1 and structure["headings"].count(1) == 1
        assert all(b - a <= 1 for a, b in zip(structure["headings"], structure["headings"][1:], strict=False))
        assert structure["unlabelled"] == []
        assert structure["landmarks"] == ["header", "main", "footer"]
        assert await page.evaluate(CONTRAST_PROBLEMS) == []
        assert size < PAGE_BUDGET, f"the page took {size} bytes"

        # The note names the browser's own zone (as its ICU spells it: Asia/Kolkata is Asia/Calcutta there).
        browser_zone = await page.evaluate(BROWSER_ZONE, language)
        note = await page.text_content("#zone-note")
        assert note == translate.get(texts.SCHEDULE_YOUR_ZONE, texts.SCHEDULE_YOUR_ZONE).format(zone=browser_zone)
        articles = page.locator("ol.sessions article")
        assert await articles.count() == len(sessions)
        for index, session in enumerate(sessions):
            article = articles.nth(index)
            local = session.start_utc.astimezone(ZoneInfo(zone))
            shown = await article.locator("time[data-local]").text_content() or ""
            assert f"{local:%H:%M}" in shown, (zone, shown)
            assert format_date(local.date(), "EEEE", locale=language) in shown, (language, shown)
            assert str(local.year) in shown
            text = await article.inner_text()
            assert session.title in text  # typed text shows as text, never as markup
            if session.status == "cancelled":
                assert translate.get(texts.SESSION_CANCELLED, texts.SESSION_CANCELLED) in text
            else:
                assert channel_name in text
        assert await page.locator("ol.sessions b").count() == 0

        # The visitor picks another zone: every "Your time" follows.
        await page.select_option("#zone", "Pacific/Auckland")
        auckland = sessions[0].start_utc.astimezone(ZoneInfo("Pacific/Auckland"))
        shown = await articles.nth(0).locator("time[data-local]").text_content() or ""
        assert f"{auckland:%H:%M}" in shown
        # The keyboard reaches the skip link first.
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip"
        await page.context.close()


async def test_the_page_without_javascript_shows_pacific_and_utc(
    browser: Browser, site: tuple[PracticeCirclesBot, str], artifacts: Path
) -> None:
    bot, url = site
    sessions = await first_sessions(bot)
    page, size = await open_page(browser, url, zone="Asia/Tokyo", accept="es-ES", script=False)
    await page.screenshot(path=str(artifacts / "es-no-javascript.png"), full_page=True)
    assert size < PAGE_BUDGET
    assert await page.locator("li.local").first.is_hidden()
    assert await page.locator("#zone-choice").is_hidden()
    first = page.locator("ol.sessions article").first
    text = await first.inner_text()
    pacific = utc_to_pacific(sessions[0].start_utc)
    in_utc = sessions[0].start_utc.astimezone(dt.UTC)
    assert f"{format_date(pacific.date(), 'full', locale='es')}, {pacific:%H:%M}" in text
    assert f"{format_date(in_utc.date(), 'full', locale='es')}, {in_utc:%H:%M}" in text
    assert texts.SPANISH[texts.SESSION_PACIFIC] in text
    # The language switch works without script too.
    await page.select_option("#lang", "en")
    await page.click("form.language button")
    await page.wait_for_load_state("load")
    assert await page.evaluate("document.documentElement.lang") == "en"
    assert texts.SESSION_PACIFIC in await page.locator("ol.sessions article").first.inner_text()
    await page.screenshot(path=str(artifacts / "en-no-javascript.png"), full_page=True)
    await page.context.close()
