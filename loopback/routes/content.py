"""Message bodies as Discord reads them: limits, flags, attachments, embeds and component ids.

Shared by channel messages, interaction callbacks, follow-ups and edits.
"""

from __future__ import annotations

import itertools
from typing import Any

from loopback.rest import Upload
from loopback.world import Attachment, Message, MessageFlag, World, WorldError, invalid_form

MAX_CONTENT = 2000
MAX_EMBED_TOTAL = 6000
_EMBED_TEXT_PATHS = (("title",), ("description",), ("footer", "text"), ("author", "name"))


def _embed_characters(embed: dict[str, Any]) -> int:
    total = 0
    for path in _EMBED_TEXT_PATHS:
        value: Any = embed
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        total += len(value) if isinstance(value, str) else 0
    for embed_field in embed.get("fields") or []:
        total += len(str(embed_field.get("name") or "")) + len(str(embed_field.get("value") or ""))
    return total


def normalise_embeds(embeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Embeds as Discord stores them (type 'rich' unless given), checking the 6000-character total."""
    if sum(_embed_characters(e) for e in embeds) > MAX_EMBED_TOTAL:
        raise invalid_form("embeds", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}", "MAX_EMBED_SIZE_EXCEEDED")
    return [{"type": "rich", **e} for e in embeds]


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every component without one a numeric `id`, depth first, as Discord does."""
    used: set[int] = set()

    def collect(items: list[dict[str, Any]]) -> None:
        for item in items:
            if isinstance(item.get("id"), int):
                used.add(item["id"])
            collect(_children(item))

    collect(components)
    counter = (n for n in itertools.count(1) if n not in used)

    def assign(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            copy = dict(item)
            if not isinstance(copy.get("id"), int):
                copy["id"] = next(counter)
            if "components" in copy:
                copy["components"] = assign(list(copy["components"]))
            for key in ("component", "accessory"):
                if isinstance(copy.get(key), dict):
                    copy[key] = assign([copy[key]])[0]
            out.append(copy)
        return out

    return assign(components)


def _children(item: dict[str, Any]) -> list[dict[str, Any]]:
    children = list(item.get("components") or [])
    for key in ("component", "accessory"):
        if isinstance(item.get(key), dict):
            children.append(item[key])
    return children


def attachments_from(
    world: World, body: dict[str, Any], uploads: list[Upload], keep: list[Attachment] | None = None
) -> list[Attachment]:
    """Kept attachments (listed by id in body.attachments, or all when it is absent) plus new `files[n]`."""
    existing = {a.id: a for a in keep or []}
    described = body.get("attachments")
    result: list[Attachment] = list(keep or []) if described is None else []
    descriptions: dict[int, dict[str, Any]] = {}
    for entry in described or []:
        key = str(entry.get("id"))
        if key.isdigit() and int(key) in existing:
            result.append(existing[int(key)])
        elif key.isdigit():
            descriptions[int(key)] = entry
    for position, upload in enumerate(uploads):
        digits = upload.field.removeprefix("files[").removesuffix("]")
        entry = descriptions.get(int(digits) if digits.isdigit() else position, {})
        result.append(
            Attachment(
                world.snowflakes.next(),
                entry.get("filename") or upload.filename,
                upload.data,
                upload.content_type,
                entry.get("description"),
            )
        )
    return result


def new_message_fields(
    world: World, body: dict[str, Any], uploads: list[Upload], *, settable_flags: int
) -> dict[str, Any]:
    """The fields of a message about to be created, checked like Discord checks them."""
    content = body.get("content") or ""
    if len(content) > MAX_CONTENT:
        raise invalid_form("content", f"Must be {MAX_CONTENT} or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    embeds = normalise_embeds(list(body.get("embeds") or []))
    components = number_components(list(body.get("components") or []))
    attachments = attachments_from(world, body, uploads)
    if not (content or embeds or components or attachments or body.get("sticker_ids") or body.get("poll")):
        raise WorldError(400, 50006, "Cannot send an empty message")
    return {
        "content": content,
        "embeds": embeds,
        "components": components,
        "attachments": attachments,
        "flags": int(body.get("flags") or 0) & settable_flags,
        "allowed_mentions": body.get("allowed_mentions"),
        "tts": bool(body.get("tts")),
    }


def apply_edit(
    world: World, message: Message, body: dict[str, Any], uploads: list[Upload], *, settable_flags: int
) -> None:
    """Change a message like PATCH does: given fields replace, null clears; a deferred reply stops loading."""
    content = (body.get("content") or "") if "content" in body else message.content
    if len(content) > MAX_CONTENT:
        raise invalid_form("content", f"Must be {MAX_CONTENT} or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    embeds = normalise_embeds(list(body["embeds"] or [])) if "embeds" in body else message.embeds
    components = number_components(list(body["components"] or [])) if "components" in body else message.components
    attachments = (
        attachments_from(world, body, uploads, keep=message.attachments)
        if "attachments" in body or uploads
        else message.attachments
    )
    if not (content or embeds or components or attachments):
        raise WorldError(400, 50006, "Cannot send an empty message")
    flags = message.flags
    if body.get("flags") is not None:
        flags = (flags & (MessageFlag.EPHEMERAL | MessageFlag.IS_COMPONENTS_V2)) | (int(body["flags"]) & settable_flags)
    message.content, message.embeds, message.components, message.attachments = (
        content,
        embeds,
        components,
        attachments,
    )
    if "allowed_mentions" in body:
        message.allowed_mentions = body["allowed_mentions"]
    message.flags = flags & ~MessageFlag.LOADING
    message.edited_at = world.now()
