"""Wasender webhook events in, typed inbound messages out, and the signature check.

**What is compared.** Wasender does not sign the body: it sends the webhook secret itself in
the ``X-Webhook-Signature`` header (its docs' own check is ``signature === webhookSecret``).
:func:`signature_ok` compares the header's UTF-8 bytes with ``WEBHOOK_SECRET``'s UTF-8 bytes
using :func:`hmac.compare_digest`, so the time taken does not reveal how many leading bytes
matched. A missing header, an empty secret or any difference is a refusal. Because the secret
travels with every request, the webhook URL must be HTTPS in production.

**What is ignored** (answered 200 so Wasender does not retry, never stored): events other
than ``messages.upsert`` / ``messages.received``, our own messages (``key.fromMe``), groups
(``@g.us``), status updates and broadcasts (``status@broadcast``, ``@broadcast``,
``@newsletter``), and messages without text (media without a caption).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MESSAGE_EVENTS",
    "SIGNATURE_HEADER",
    "InboundText",
    "country_code",
    "parse_event",
    "signature_ok",
]

SIGNATURE_HEADER = "X-Webhook-Signature"
MESSAGE_EVENTS = frozenset({"messages.upsert", "messages.received"})
_IGNORED_SUFFIXES = ("@g.us", "@broadcast", "@newsletter")

# E.164 country codes: 1 and 7 are one digit, these are two, every other code is three.
_TWO_DIGIT_CODES = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)


@dataclass(frozen=True)
class InboundText:
    """One customer text message worth answering."""

    event_id: str
    remote_jid: str
    phone: str
    name: str | None
    text: str
    timestamp: int


def signature_ok(header: str | None, secret: str | None) -> bool:
    """Constant-time check that the header carries exactly the configured secret."""
    if not header or not secret:
        return False
    return hmac.compare_digest(header.encode("utf-8"), secret.encode("utf-8"))


def country_code(phone: str) -> str | None:
    """The E.164 calling code of ``+<digits>`` (``+256703722777`` → ``256``)."""
    digits = phone.lstrip("+")
    if not digits.isdigit() or len(digits) < 8:
        return None
    if digits[0] in "17":
        return digits[0]
    return digits[:2] if digits[:2] in _TWO_DIGIT_CODES else digits[:3]


def parse_event(payload: Any) -> tuple[list[InboundText], list[str]]:
    """Split an event into the messages to handle and the reasons the others were skipped."""
    if not isinstance(payload, dict) or payload.get("event") not in MESSAGE_EVENTS:
        kind = payload.get("event") if isinstance(payload, dict) else type(payload).__name__
        return [], [f"event {kind!r} is not a message event"]
    data = payload.get("data")
    raw = data.get("messages") if isinstance(data, dict) else None
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    accepted: list[InboundText] = []
    skipped: list[str] = []
    for item in items:
        parsed = _parse_message(item, payload.get("timestamp"))
        if isinstance(parsed, str):
            skipped.append(parsed)
        else:
            accepted.append(parsed)
    if not items:
        skipped.append("no data.messages")
    return accepted, skipped


def _parse_message(item: Any, event_ts: Any) -> InboundText | str:
    if not isinstance(item, dict) or not isinstance(item.get("key"), dict):
        return "message without a key"
    key = item["key"]
    event_id, remote_jid = key.get("id"), key.get("remoteJid")
    if not isinstance(event_id, str) or not event_id or not isinstance(remote_jid, str) or not remote_jid:
        return "message without key.id or key.remoteJid"
    if key.get("fromMe") is True:
        return "own message"
    if remote_jid.endswith(_IGNORED_SUFFIXES):
        return "group, status or broadcast message"
    digits = str(key.get("cleanedSenderPn") or remote_jid.partition("@")[0]).lstrip("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        return "no usable sender phone number"
    body = item.get("messageBody")
    if not isinstance(body, str) or not body.strip():
        message = item.get("message")
        body = message.get("conversation") if isinstance(message, dict) else None
    if not isinstance(body, str) or not body.strip():
        return "message without text"
    name = item.get("pushName")
    stamp = item.get("messageTimestamp") or event_ts
    timestamp = int(stamp) if isinstance(stamp, int | float) and stamp > 0 else int(time.time())
    if timestamp > 100_000_000_000:  # milliseconds
        timestamp //= 1000
    return InboundText(
        event_id=event_id,
        remote_jid=remote_jid,
        phone=f"+{digits}",
        name=name.strip()[:256] or None if isinstance(name, str) else None,
        text=body.strip()[:4096],
        timestamp=timestamp,
    )
