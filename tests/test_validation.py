"""Typed text as the bot shows it: inert wherever Discord renders it, and cut without splitting an escape."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.validation import display_safe, plain_cut, safe_cut
from loopback.markdown import render

ZWSP = "\u200b"

# Pieces people type, alone or inside words: every kind of Discord syntax, and ordinary words.
PIECES = [
    "# ", "## ", "### ", "-# ", "> ", ">>> ", "- ", "* ", "+ ", "1. ", "12. ", "  - ",
    "**", "__", "~~", "||", "*", "_", "`", "```", "\\", "[", "]", "(", ")", "<", ">", ":", "/", "#", "-", ".",
    "@everyone", "@here", "<@123>", "<@!123>", "<@&9>", "<#5>", "<t:1700000000:R>", "</help:123>", "<:wave:99>",
    "https://evil.example/x", "HTTP://a.b", "<https://x.example>", "[free gift](https://evil.example)",
    "word", "snake_case", "a.b", "çà", "日本", " ", "\n",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_typed_text_shows_as_typed_with_no_formatting(typed: str) -> None:
    rendered = render(display_safe(typed))
    assert rendered.formatting == [], f"{typed!r} rendered with formatting"
    assert rendered.text.replace(ZWSP, "") == typed


def test_a_feedback_line_shows_literally_instead_of_as_a_heading_with_a_live_link() -> None:
    typed = "# URGENT call me now https://evil.example/claim\n-# small print\n> quote\n1. step"
    rendered = render(display_safe(typed))
    assert rendered.headings == rendered.subtext == rendered.quotes == rendered.list_items == []
    assert rendered.links == []
    assert rendered.text == typed


def test_plain_text_within_the_limit_is_kept_and_longer_text_ends_in_an_ellipsis() -> None:
    assert plain_cut("Morning calm", 12) == "Morning calm"
    assert plain_cut("Morning calm", 8) == "Morning…"


def test_inert_text_is_cut_before_an_escape_rather_than_through_it() -> None:
    # "a*b" shows as "a\*b": cut to 3, the escape and its star go together or not at all.
    assert safe_cut("a*bc", 3) == "a…"
    assert safe_cut("@everyone here", 40) == display_safe("@everyone here")


@given(st.text(alphabet="ab*_~`|[]\\<@#&!> ", max_size=60), st.integers(min_value=1, max_value=40))
def test_an_inert_cut_fits_and_is_the_start_of_the_inert_text(raw: str, limit: int) -> None:
    cut = safe_cut(raw, limit)
    assert len(cut) <= limit
    if cut == display_safe(raw):
        return
    assert cut.endswith("…")
    # What is shown before the ellipsis is the inert form of the start of what was typed, not half an escape.
    assert any(display_safe(raw[:keep]) == cut[:-1] for keep in range(len(raw) + 1))
