"""Bytes in, models out: the one place where wire data becomes a request, and replies are built.

:func:`decode_request` turns *every* way an ``ag_queue`` body can be wrong into one
:class:`~contracts.errors.PoisonMessageError` whose reason names the field, so the consumer
has exactly one thing to catch and dead-letter.
"""

from __future__ import annotations

import json
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.errors import AgentClusterError, PoisonMessageError
from contracts.models import (
    AgentMetadata,
    AgentReply,
    AgentRequest,
    Contact,
    ReplyContact,
    ReplyError,
    ReplyResponse,
    ReplyStatus,
)

__all__ = [
    "REPLY_ID_NAMESPACE",
    "DecodeLimits",
    "decode_reply",
    "decode_request",
    "encode",
    "error_reply",
    "reply_id",
    "success_reply",
]

#: Fixed namespace of reply ids. Changing it changes every reply id: never change it.
REPLY_ID_NAMESPACE = uuid.UUID("6f1c1f0e-8a43-5b7e-9d1a-3c5e2b7a9f10")

#: Fallback text of the spec for a request that could not be processed.
FALLBACK_TEXT = "I'm having trouble processing your request. Please try again."


@dataclass(frozen=True)
class DecodeLimits:
    """Limits that protect the service from hostile or broken producers."""

    max_body_bytes: int = 256 * 1024
    max_history: int = 50
    max_depth: int = 32


def reply_id(request_message_id: str) -> str:
    """Return the reply ``messageId`` for a request: the same request always gets the same id.

    A redelivered or retried request therefore yields a reply the webhook side can drop as
    a duplicate.
    """
    return str(uuid.uuid5(REPLY_ID_NAMESPACE, request_message_id))


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, stopping early past ``limit``."""
    depth, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            depth = max(depth, level)
            if depth > limit:
                return depth
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return depth


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unencodable(value: Any) -> str | None:
    """Path of the first string holding an unpaired surrogate (``"\\ud800"`` in the JSON), or ``None``.

    ``json.loads`` accepts such escapes, but the string can never be encoded again: a request
    carrying one in ``sessionData`` would decode and then crash every later ``encode``.
    """
    stack: list[tuple[Any, str]] = [(value, "body")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not _utf8(node):
                return path
        elif isinstance(node, dict):
            for key, child in node.items():
                if not _utf8(key):
                    return path
                stack.append((child, key if path == "body" else f"{path}.{key}"))
        elif isinstance(node, list):
            stack.extend((child, f"{path}.{index}") for index, child in enumerate(node))
    return None


def _field_reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"]) or "body"
    more = exc.error_count() - 1
    suffix = f" (+{more} more)" if more else ""
    return f"{loc}: {first['msg']}{suffix}"


def _salvage(obj: object) -> tuple[dict[str, object] | None, str | None]:
    """Read the contact and the messageId of an invalid request, if they are usable."""
    if not isinstance(obj, dict):
        return None, None
    message_id = obj.get("messageId")
    contact = obj.get("contact")
    try:
        valid = Contact.model_validate(contact)
    except ValidationError:
        valid_contact = None
    else:
        valid_contact = valid.model_dump(by_alias=True)
    usable = isinstance(message_id, str) and 0 < len(message_id) <= 256 and _utf8(message_id)
    return valid_contact, message_id if usable else None


def decode_request(body: bytes, limits: DecodeLimits | None = None) -> AgentRequest:
    """Decode an ``ag_queue`` body into a request or raise :class:`PoisonMessageError`.

    The size is checked before anything is parsed; the history is capped to its most recent
    ``max_history`` turns (a long conversation is not a malformed message).
    """
    limits = limits or DecodeLimits()
    if len(body) > limits.max_body_bytes:
        raise PoisonMessageError(f"body: {len(body)} bytes exceeds the {limits.max_body_bytes} byte limit")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoisonMessageError(f"body: invalid UTF-8 at byte {exc.start}") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise PoisonMessageError(f"body: JSON nested deeper than {limits.max_depth} levels") from None
    except ValueError as exc:
        raise PoisonMessageError(f"body: invalid JSON ({exc})") from None
    if _depth(obj, limits.max_depth) > limits.max_depth:
        contact, message_id = _salvage(obj)
        raise PoisonMessageError(f"body: JSON nested deeper than {limits.max_depth} levels", contact, message_id)
    if not isinstance(obj, dict):
        raise PoisonMessageError(f"body: expected a JSON object, got {type(obj).__name__}")
    if "\\u" in text and (where := _unencodable(obj)) is not None:
        raise PoisonMessageError(f"{where}: unpaired UTF-16 surrogate escape", *_salvage(obj))
    try:
        request = AgentRequest.model_validate(obj)
    except ValidationError as exc:
        contact, message_id = _salvage(obj)
        raise PoisonMessageError(_field_reason(exc), contact, message_id) from None
    history = request.context.conversation_history
    if len(history) > limits.max_history:
        # Not history[-n:]: with MAX_HISTORY=0 that slice would keep everything.
        recent = history[len(history) - limits.max_history :]
        context = request.context.model_copy(update={"conversation_history": recent})
        request = request.model_copy(update={"context": context})
    return request


def decode_reply(body: bytes) -> AgentReply:
    """Decode a ``wb_queue`` body; raises :class:`PoisonMessageError` naming the field."""
    try:
        return AgentReply.model_validate_json(body)
    except ValidationError as exc:
        raise PoisonMessageError(_field_reason(exc)) from None


def encode(model: AgentRequest | AgentReply) -> bytes:
    """Serialise a wire model with the spec's camelCase keys."""
    return model.model_dump_json(by_alias=True).encode()


def _reply_contact(contact: Contact | dict[str, object]) -> ReplyContact:
    if isinstance(contact, Contact):
        return ReplyContact(remote_jid=contact.remote_jid, phone_number=contact.phone_number, name=contact.name)
    return ReplyContact.model_validate(contact)


def success_reply(
    request: AgentRequest,
    text: str,
    metadata: AgentMetadata,
    *,
    partial: bool = False,
    now: float | None = None,
) -> AgentReply:
    """Build the reply for an answered request (``partial`` when a limit cut the run short)."""
    return AgentReply(
        message_id=reply_id(request.message_id),
        original_message_id=request.message_id,
        timestamp=int(now if now is not None else time.time()),
        status=ReplyStatus.PARTIAL if partial else ReplyStatus.SUCCESS,
        contact=_reply_contact(request.contact),
        response=ReplyResponse(text=text),
        agent_metadata=metadata,
    )


def error_reply(
    original_message_id: str,
    contact: Contact | dict[str, object],
    error: BaseException,
    *,
    metadata: AgentMetadata | None = None,
    include_stack: bool = False,
    now: float | None = None,
) -> AgentReply:
    """Build the error reply for a request that will not be answered by an agent.

    ``response.text`` is the spec's fallback text, so a consumer that only forwards
    ``response.text`` still tells the customer something sensible.
    """
    code = error.code if isinstance(error, AgentClusterError) else type(error).__name__
    stack = "".join(traceback.format_exception(error))[-4000:] if include_stack else None
    return AgentReply(
        message_id=reply_id(original_message_id),
        original_message_id=original_message_id,
        timestamp=int(now if now is not None else time.time()),
        status=ReplyStatus.ERROR,
        contact=_reply_contact(contact),
        response=ReplyResponse(text=FALLBACK_TEXT),
        agent_metadata=metadata or AgentMetadata(),
        error=ReplyError(code=code, message=str(error)[:1000], stack=stack),
    )
