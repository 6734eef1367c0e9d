"""How a Discord client shows message text: what a reader sees, and what of it is formatting.

The loopback Discord stores messages as the bot sent them; a person reads them rendered. This
follows the rules of Discord's markdown (as its help pages and clients apply them) far enough to
tell what someone would notice: headings, subtext, quotes and list items at the start of a line;
masked, bracketed and bare links; mentions, timestamps, command mentions and custom emoji;
emphasis, spoilers and code. A backslash before any ASCII punctuation shows that character itself
and stops it from starting anything, exactly as in the clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# Line-start syntax, read after any quote marker: headings (up to three #), subtext, list items.
_HEADING = re.compile(r"(#{1,3}) +(\S.*)")
_SUBTEXT = re.compile(r"-# +(\S.*)")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|[0-9]+\.) +(\S.*)")
# Inline syntax that starts at a given position.
_ANGLE = re.compile(
    r"<(?:(?P<timestamp>t:-?[0-9]+(?::[tTdDfFsSR])?)|(?P<command>/[\w-]+(?: [\w-]+){0,2}:[0-9]+)"
    r"|(?P<mention>@!?[0-9]+|@&[0-9]+|#[0-9]+)|(?P<emoji>a?:\w+:[0-9]+)|(?P<link>https?://[^\s>]+))>"
)
_BARE_LINK = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
_MASKED_LINK = re.compile(r"\[(?P<text>[^\[\]]+)\]\(<?(?P<url>https?://[^\s)>]+)>?\)")
_EVERYONE = re.compile(r"@(everyone|here)\b")
# Paired emphasis markers, longest first so ** is not read as two *.
_PAIRS = (("**", "bold"), ("__", "underline"), ("~~", "strikethrough"), ("||", "spoiler"), ("*", "italic"))


@dataclass
class Rendered:
    """A message as a reader sees it."""

    text: str = ""
    headings: list[str] = field(default_factory=list)
    subtext: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    list_items: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    timestamps: list[str] = field(default_factory=list)
    command_mentions: list[str] = field(default_factory=list)
    emoji: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)

    @property
    def formatting(self) -> list[str]:
        """Every piece of formatting found, by kind (empty when the text shows as plain words)."""
        found = {
            "heading": self.headings,
            "subtext": self.subtext,
            "quote": self.quotes,
            "list item": self.list_items,
            "link": self.links,
            "mention": self.mentions,
            "timestamp": self.timestamps,
            "command mention": self.command_mentions,
            "custom emoji": self.emoji,
        }
        return [f"{kind}: {item}" for kind, items in found.items() for item in items] + self.styles


def render(content: str) -> Rendered:
    """What a Discord client shows for message content."""
    rendered = Rendered()
    lines: list[str] = []
    in_block_quote = False
    for raw in _code_blocks(content, rendered):
        if isinstance(raw, _Literal):
            lines.append(raw.text)
            continue
        for line in raw.split("\n"):
            lines.append(_render_line(line, rendered, quoted_already=in_block_quote))
            if line.startswith(">>> "):
                in_block_quote = True
    rendered.text = "\n".join(lines)
    return rendered


@dataclass(frozen=True)
class _Literal:
    text: str


def _code_blocks(content: str, rendered: Rendered) -> list[str | _Literal]:
    """Split out fenced code blocks (``` … ```), which show their content as it is."""
    parts: list[str | _Literal] = []
    rest = content
    while True:
        start = _unescaped(rest, "```")
        end = -1 if start < 0 else rest.find("```", start + 3)
        if start < 0 or end < 0:
            parts.append(rest)
            return parts
        parts.append(rest[:start])
        parts.append(_Literal(rest[start + 3 : end]))
        rendered.styles.append("code block")
        rest = rest[end + 3 :]


def _unescaped(text: str, marker: str) -> int:
    """The first position of `marker` in `text` not preceded by an escaping backslash, or -1."""
    index = 0
    while True:
        found = text.find(marker, index)
        if found < 0:
            return -1
        backslashes = len(text[:found]) - len(text[:found].rstrip("\\"))
        if backslashes % 2 == 0:
            return found
        index = found + 1


def _render_line(line: str, rendered: Rendered, *, quoted_already: bool) -> str:
    body = line
    if quoted_already:
        rendered.quotes.append(line)
    elif line.startswith(">>> "):
        body = line[4:]
        rendered.quotes.append(body)
    elif line.startswith("> "):
        body = line[2:]
        rendered.quotes.append(body)
    if (match := _HEADING.fullmatch(body)) is not None:
        text = _inline(match.group(2), rendered)
        rendered.headings.append(text)
        return text
    if (match := _SUBTEXT.fullmatch(body)) is not None:
        text = _inline(match.group(1), rendered)
        rendered.subtext.append(text)
        return text
    if (match := _LIST_ITEM.fullmatch(body)) is not None:
        text = _inline(match.group(1), rendered)
        rendered.list_items.append(text)
        return "• " + text
    return _inline(body, rendered)


def _inline(text: str, rendered: Rendered) -> str:
    """Render one line's inline syntax; returns what the reader sees."""
    shown: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _PUNCTUATION:
            shown.append(text[index + 1])
            index += 2
            continue
        if char == "`":
            end = text.find("`", index + 1)
            if end > index + 1:
                rendered.styles.append("code")
                shown.append(text[index + 1 : end])
                index = end + 1
                continue
        if char == "<" and (match := _ANGLE.match(text, index)) is not None:
            kind = match.lastgroup or ""
            value = match.group(kind)
            {
                "timestamp": rendered.timestamps,
                "command": rendered.command_mentions,
                "mention": rendered.mentions,
                "emoji": rendered.emoji,
                "link": rendered.links,
            }[kind].append(value)
            shown.append(value if kind == "link" else match.group(0))
            index = match.end()
            continue
        if char == "[" and (match := _MASKED_LINK.match(text, index)) is not None:
            rendered.links.append(match.group("url"))
            shown.append(_inline(match.group("text"), rendered))
            index = match.end()
            continue
        if char in "hH" and (match := _BARE_LINK.match(text, index)) is not None:
            rendered.links.append(match.group(0))
            shown.append(match.group(0))
            index = match.end()
            continue
        if char == "@" and (match := _EVERYONE.match(text, index)) is not None:
            rendered.mentions.append(match.group(0))
            shown.append(match.group(0))
            index = match.end()
            continue
        pair = _emphasis(text, index)
        if pair is not None:
            marker, style, end = pair
            rendered.styles.append(style)
            shown.append(_inline(text[index + len(marker) : end], rendered))
            index = end + len(marker)
            continue
        shown.append(char)
        index += 1
    return "".join(shown)


def _emphasis(text: str, index: int) -> tuple[str, str, int] | None:
    """An emphasis span opening at `index`: its marker, style and where its closing marker starts."""
    for marker, style in (*_PAIRS, ("_", "italic")):
        if not text.startswith(marker, index):
            continue
        inner_start = index + len(marker)
        if inner_start >= len(text) or text[inner_start].isspace():
            continue
        if marker == "_" and index > 0 and text[index - 1].isalnum():
            continue  # snake_case words stay as they are
        end = _unescaped(text[inner_start:], marker)
        if end <= 0:
            continue
        close = inner_start + end
        if marker == "_" and close + 1 < len(text) and text[close + 1].isalnum():
            continue
        return marker, style, close
    return None
