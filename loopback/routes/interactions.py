"""Interaction callbacks, follow-ups and edits of the original response (token-authorised webhooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopback import payloads
from loopback.rest import ApiRequest, Reply, Router
from loopback.routes.content import apply_edit, new_message_fields
from loopback.world import (
    SETTABLE_MESSAGE_FLAGS,
    InteractionRecord,
    Message,
    MessageFlag,
    WorldError,
    invalid_form,
    unknown,
)

if TYPE_CHECKING:
    from loopback.server import Sandbox

CALLBACK_DEADLINE = 3.0
TOKEN_LIFETIME = 15 * 60.0
REPLY_FLAGS = SETTABLE_MESSAGE_FLAGS | MessageFlag.EPHEMERAL

# Callback types each interaction type accepts (1 PING, 2 command, 3 component, 4 autocomplete, 5 modal).
ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    1: frozenset({1}),
    2: frozenset({4, 5, 9}),
    3: frozenset({4, 5, 6, 7, 9}),
    4: frozenset({8}),
    5: frozenset({4, 5, 6, 7}),
}
MESSAGE_TYPE_FOR = {2: 20, 3: 0, 5: 0}


def _record_for_callback(sandbox: Sandbox, req: ApiRequest) -> InteractionRecord:
    record = sandbox.world.interactions.get(req.snowflake("interaction_id"))
    if record is None or record.token != req.params["interaction_token"]:
        raise unknown("interaction", 10062)
    if sandbox.clock() - record.created_clock > sandbox.interaction_deadline:
        sandbox.late_callbacks.append(record.id)
        raise unknown("interaction", 10062)
    return record


def _record_for_webhook(sandbox: Sandbox, req: ApiRequest) -> InteractionRecord:
    if req.snowflake("webhook_id") != sandbox.world.application.id:
        raise unknown("Webhook", 10015)
    token = req.params["webhook_token"]
    record = next((r for r in sandbox.world.interactions.values() if r.token == token), None)
    if record is None or not record.acknowledged:
        raise unknown("Webhook", 10015)
    if sandbox.clock() - record.created_clock > TOKEN_LIFETIME:
        raise WorldError(401, 50027, "Invalid Webhook Token")
    return record


def _reply_message(sandbox: Sandbox, record: InteractionRecord, fields: dict[str, Any]) -> Message:
    world = sandbox.world
    channel = world.channel(record.channel_id)
    return world.add_message(
        channel,
        world.bot_user.id,
        sandbox.clock(),
        type=MESSAGE_TYPE_FOR.get(record.type, 0),
        webhook_id=world.application.id,
        application_id=world.application.id,
        interaction_id=record.id,
        **fields,
    )


async def create_callback(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /interactions/{id}/{token}/callback: the bot's first answer, within 3 seconds."""
    record = _record_for_callback(sandbox, req)
    body = req.json()
    kind = int(body.get("type") or 0)
    if record.acknowledged:
        raise WorldError(400, 40060, "Interaction has already been acknowledged.")
    if kind not in ALLOWED_CALLBACKS.get(record.type, frozenset()):
        raise invalid_form(
            "type",
            f"Interaction callback type {kind} is not valid for interaction type {record.type}",
            "INTERACTION_RESPONSE_TYPE_INVALID",
        )
    data = dict(body.get("data") or {})
    world = sandbox.world
    message: Message | None = None
    if kind == 4:
        fields = new_message_fields(world, data, req.uploads, settable_flags=REPLY_FLAGS)
        message = _reply_message(sandbox, record, fields)
        record.original_message_id = message.id
    elif kind == 5:
        flags = (int(data.get("flags") or 0) & MessageFlag.EPHEMERAL) | MessageFlag.LOADING
        message = _reply_message(sandbox, record, {"flags": flags})
        record.original_message_id = message.id
    elif kind in (6, 7):
        if record.message_id is None:
            raise invalid_form("type", "This interaction has no message to update", "INTERACTION_RESPONSE_TYPE_INVALID")
        record.original_message_id = record.message_id
        if kind == 7:
            message = world.messages[record.message_id]
            apply_edit(world, message, data, req.uploads, settable_flags=SETTABLE_MESSAGE_FLAGS)
            record.edits += 1
    record.callback_type = kind
    record.callback_data = data
    if message is not None:
        if kind == 7:
            sandbox.events.message_updated(message)
        else:
            sandbox.events.message_created(message)
    if not req.flag("with_response"):
        return Reply(status=204)
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    if message is not None:
        interaction["response_message_id"] = str(message.id)
        interaction["response_message_loading"] = kind == 5
        interaction["response_message_ephemeral"] = message.ephemeral
    answer: dict[str, Any] = {"interaction": interaction}
    if message is not None and kind in (4, 7):
        # The spec's resource is a created or updated message; other callbacks have none.
        answer["resource"] = {"type": kind, "message": payloads.message(world, message, sandbox.base_url)}
    return Reply(body=answer)


def _original(sandbox: Sandbox, record: InteractionRecord) -> Message:
    if record.original_message_id is None:
        raise unknown("Message", 10008)
    message = sandbox.world.messages.get(record.original_message_id)
    if message is None or message.deleted:
        raise unknown("Message", 10008)
    return message


def _webhook_message(sandbox: Sandbox, req: ApiRequest, record: InteractionRecord) -> Message:
    if "message_id" not in req.params:
        return _original(sandbox, record)
    message_id = req.snowflake("message_id")
    if message_id not in (record.original_message_id, *record.followup_ids):
        raise unknown("Message", 10008)
    message = sandbox.world.messages.get(message_id)
    if message is None or message.deleted:
        raise unknown("Message", 10008)
    return message


async def get_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """GET /webhooks/{app}/{token}/messages/@original|{message_id}."""
    record = _record_for_webhook(sandbox, req)
    message = _webhook_message(sandbox, req, record)
    return Reply(body=payloads.message(sandbox.world, message, sandbox.base_url))


async def edit_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """PATCH /webhooks/{app}/{token}/messages/@original|{message_id}."""
    record = _record_for_webhook(sandbox, req)
    message = _webhook_message(sandbox, req, record)
    was_loading = bool(message.flags & MessageFlag.LOADING)
    apply_edit(sandbox.world, message, req.json(), req.uploads, settable_flags=SETTABLE_MESSAGE_FLAGS)
    record.edits += 1
    if was_loading:
        message.edited_at = None
    sandbox.events.message_updated(message)
    return Reply(body=payloads.message(sandbox.world, message, sandbox.base_url))


async def delete_message(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """DELETE /webhooks/{app}/{token}/messages/@original|{message_id}."""
    record = _record_for_webhook(sandbox, req)
    message = _webhook_message(sandbox, req, record)
    message.deleted = True
    sandbox.events.message_deleted(message)
    return Reply(status=204)


async def create_followup(sandbox: Sandbox, req: ApiRequest) -> Reply:
    """POST /webhooks/{app}/{token}: a follow-up (the first after a 'thinking' defer replaces it)."""
    record = _record_for_webhook(sandbox, req)
    world = sandbox.world
    body = req.json()
    original = world.messages.get(record.original_message_id or 0)
    if record.callback_type == 5 and original is not None and original.flags & MessageFlag.LOADING:
        apply_edit(world, original, body, req.uploads, settable_flags=SETTABLE_MESSAGE_FLAGS)
        original.edited_at = None
        record.followup_ids.append(original.id)
        sandbox.events.message_updated(original)
        message = original
    else:
        fields = new_message_fields(world, body, req.uploads, settable_flags=REPLY_FLAGS)
        message = _reply_message(sandbox, record, fields)
        record.followup_ids.append(message.id)
        sandbox.events.message_created(message)
    if not req.flag("wait"):
        return Reply(status=204)
    return Reply(body=payloads.message(world, message, sandbox.base_url))


def register(router: Router) -> None:
    """Add this module's routes (none needs a bot token: the interaction token authorises)."""
    router.add("POST", "/interactions/{interaction_id}/{interaction_token}/callback", create_callback, auth=False)
    router.add("POST", "/webhooks/{webhook_id}/{webhook_token}", create_followup, auth=False)
    for suffix in ("@original", "{message_id}"):
        template = "/webhooks/{webhook_id}/{webhook_token}/messages/" + suffix
        router.add("GET", template, get_message, auth=False)
        router.add("PATCH", template, edit_message, auth=False)
        router.add("DELETE", template, delete_message, auth=False)
