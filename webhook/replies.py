"""Deliver one reply to the customer: ledger claim → send → ledger ``sent``.

The text sent is ``response.text`` for ``success``/``partial`` replies and the spec's
fallback text for ``error`` replies (and for an empty answer). Only text is sent; the
spec's ``image``/``document`` types are delivered as their text.
"""

from __future__ import annotations

import asyncio
import enum
import logging

from cluster.logs import mask_phone
from cluster.metrics import WebhookMetrics
from contracts.codec import FALLBACK_TEXT
from contracts.models import AgentReply, ReplyStatus
from webhook.alerts import AdminAlerter
from webhook.ledger import Claim, Ledger, delivery_key
from webhook.wasender import (
    DeliveryUnknownError,
    WasenderClient,
    WasenderRejectedError,
    WasenderUnavailableError,
)

__all__ = ["Delivery", "ReplySender", "text_for"]

log = logging.getLogger("webhook.replies")


class Delivery(enum.StrEnum):
    """What became of one reply copy, and so what the consumer does with its message."""

    SENT = "sent"  # ack
    DROPPED = "dropped"  # ack: duplicate, superseded, or already final
    RETRY = "retry"  # nack without requeue: dead-letters to dlx_webhook for the re-driver
    FAILED = "failed"  # ack: final failure, logged and the admin alerted


def text_for(reply: AgentReply) -> str:
    """The WhatsApp text for a reply."""
    if reply.status is ReplyStatus.ERROR or not reply.response.text.strip():
        return FALLBACK_TEXT
    return reply.response.text


class ReplySender:
    """Sends replies at most once each, through the ledger."""

    def __init__(self, ledger: Ledger, client: WasenderClient, alerter: AdminAlerter, metrics: WebhookMetrics) -> None:
        self.ledger = ledger
        self.client = client
        self.alerter = alerter
        self.metrics = metrics

    async def deliver(self, reply: AgentReply) -> Delivery:
        """Send ``reply`` unless the ledger says it was (or is being) handled."""
        key = delivery_key(reply.original_message_id)
        claim = await self.ledger.claim(key, reply)
        if claim is Claim.BUSY:
            return Delivery.RETRY
        if claim is Claim.UNKNOWN:
            await self._alert("delivery_unknown", reply, "a send was interrupted; not resent to avoid a duplicate")
            return Delivery.FAILED
        if claim is not Claim.SEND:
            log.info("duplicate reply dropped", extra={"message_id": reply.message_id, "claim": claim.value})
            return Delivery.DROPPED
        try:
            return await self._send(key, reply)
        finally:
            self.ledger.release(key)

    async def _send(self, key: str, reply: AgentReply) -> Delivery:
        # Waiting for a rate-limit slot may be cancelled (shutdown): the row stays ``pending``
        # and is released for the next process. Once the HTTP call starts it is shielded and
        # finishes even if we are cancelled, so a graceful stop never leaves a ``sending`` row.
        await self.client.limiter.acquire()
        attempt = asyncio.ensure_future(self._attempt(key, reply))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            await asyncio.wait([attempt])
            raise

    async def _attempt(self, key: str, reply: AgentReply) -> Delivery:
        phone = reply.contact.phone_number
        text = text_for(reply)
        try:
            await self.ledger.mark_sending(key)
            await self.client.send_text(phone, text, slot_taken=True)
        except WasenderUnavailableError as exc:
            self.metrics.send_failures.labels(reason=exc.kind).inc()
            await self.ledger.mark_failed(key, str(exc))
            log.warning(
                "send failed; will retry",
                extra={"message_id": reply.message_id, "contact": mask_phone(phone), "error": str(exc)},
            )
            return Delivery.RETRY
        except (WasenderRejectedError, DeliveryUnknownError) as exc:
            self.metrics.send_failures.labels(reason=exc.kind).inc()
            state = "rejected" if isinstance(exc, WasenderRejectedError) else "unknown"
            await self.ledger.mark_failed(key, str(exc), final_state=state)
            await self._alert(f"delivery_{state}", reply, str(exc))
            return Delivery.FAILED
        sent = await self.ledger.mark_sent(key, reply, text)
        if sent.latency is not None:
            self.metrics.queue_latency.observe(sent.latency)
        log.info(
            "reply sent",
            extra={"message_id": reply.message_id, "contact": mask_phone(phone), "status": reply.status.value},
        )
        return Delivery.SENT

    async def _alert(self, kind: str, reply: AgentReply, reason: str) -> None:
        await self.alerter.alert(kind, reply_id=reply.message_id, phone=reply.contact.phone_number, reason=reason)
