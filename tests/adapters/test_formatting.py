"""Lines fitted to a Discord limit: as many whole lines as fit, then how many more there are."""

from __future__ import annotations

from bot.adapters.formatting import fit_lines, matches

MORE = "…and {count} more."


def test_lines_that_fit_are_all_shown() -> None:
    assert fit_lines(["one", "two"], MORE, limit=100) == ("one\ntwo", 2)


def test_lines_past_the_limit_become_a_count_that_fits_too() -> None:
    lines = [f"line {n:02d}" for n in range(10)]
    text, shown = fit_lines(lines, MORE, limit=40)
    assert len(text) <= 40
    assert text.splitlines() == [*lines[:shown], MORE.format(count=10 - shown)]


def test_items_beyond_those_given_are_counted() -> None:
    # /teach open shows at most 25 sessions (one Claim button each) of however many there are.
    assert fit_lines(["#1", "#2"], MORE, limit=100, total=30) == ("#1\n#2\n…and 28 more.", 2)


def test_a_hash_means_the_number_only() -> None:
    assert matches("#12", 12, "Lunch at 12:00")
    assert not matches("#12", 7, "Lunch at 12:00")
    assert matches("12", 7, "Lunch at 12:00")
    assert matches("", 7, "anything")
