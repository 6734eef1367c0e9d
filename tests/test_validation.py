"""The one plain and the one inert truncation: within the limit, an ellipsis when cut, escapes never split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.validation import display_safe, plain_cut, safe_cut


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
