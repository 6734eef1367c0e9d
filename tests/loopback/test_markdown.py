"""The loopback's reader shows message text as a Discord client does: what is formatting, what is plain."""

from __future__ import annotations

import pytest

from loopback.markdown import render


@pytest.mark.parametrize(
    ("content", "kind", "found", "shown"),
    [
        ("# URGENT", "headings", ["URGENT"], "URGENT"),
        ("### small heading", "headings", ["small heading"], "small heading"),
        ("-# fine print", "subtext", ["fine print"], "fine print"),
        ("> quoted", "quotes", ["quoted"], "quoted"),
        (">>> all\nof it", "quotes", ["all", "of it"], "all\nof it"),
        ("- one", "list_items", ["one"], "• one"),
        ("  * two", "list_items", ["two"], "• two"),
        ("1. first", "list_items", ["first"], "• first"),
        ("see https://evil.example/x now", "links", ["https://evil.example/x"], "see https://evil.example/x now"),
        ("<https://evil.example>", "links", ["https://evil.example"], "https://evil.example"),
        ("[free gift](https://evil.example)", "links", ["https://evil.example"], "free gift"),
        ("at <t:1700000000:F>", "timestamps", ["t:1700000000:F"], "at <t:1700000000:F>"),
        ("try </help:123>", "command_mentions", ["/help:123"], "try </help:123>"),
        ("hi <@123> <@&4> <#5>", "mentions", ["@123", "@&4", "#5"], "hi <@123> <@&4> <#5>"),
        ("@everyone look", "mentions", ["@everyone"], "@everyone look"),
        ("<:wave:99>", "emoji", [":wave:99"], "<:wave:99>"),
        ("**loud** and _soft_", "styles", ["bold", "italic"], "loud and soft"),
        ("||hidden|| `code`", "styles", ["spoiler", "code"], "hidden code"),
    ],
)
def test_discord_markdown_is_read_as_a_client_shows_it(content: str, kind: str, found: list[str], shown: str) -> None:
    rendered = render(content)
    assert getattr(rendered, kind) == found
    assert rendered.text == shown


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        ("\\# URGENT", "# URGENT"),
        ("\\-# fine print", "-# fine print"),
        ("\\> quoted", "> quoted"),
        ("1\\. first", "1. first"),
        ("https\\://evil.example/x", "https://evil.example/x"),
        ("\\[free gift\\](https\\://evil.example)", "[free gift](https://evil.example)"),
        ("\\<t:1700000000:F>", "<t:1700000000:F>"),
        ("\\</help:123>", "</help:123>"),
        ("<\u200b@123> @\u200beveryone", "<\u200b@123> @\u200beveryone"),
        ("\\*\\*loud\\*\\*", "**loud**"),
        ("snake_case_name", "snake_case_name"),
        ("a \\\\ b", "a \\ b"),
    ],
)
def test_escaped_or_broken_syntax_shows_as_plain_text(content: str, shown: str) -> None:
    rendered = render(content)
    assert rendered.formatting == []
    assert rendered.text == shown
