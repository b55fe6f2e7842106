"""The ``dlx_webhook`` re-driver: retry failed sends later, then give up loudly.

A reply reaches ``dlx_webhook`` when the consumer nacked it (the send failed for a reason
that may pass) or when it sat in ``wb_queue`` past the queue's TTL. The re-driver puts it on
the wait queue of its next retry level (``wb_queue.retry.30s``, ``.60s``, ``.120s``: queue-wide
TTLs that dead-letter back to ``wb_queue``), counting attempts in its own header
:data:`RETRY_HEADER` rather than in ``x-death``, whose shape the broker owns.

After ``max_retries`` retries it marks the ledger row ``abandoned``, logs the error and alerts
the admin; the ledger transition succeeds for one caller only, so one reply makes one alert
even if this message is redelivered. A poison body (the consumer rejected it) is logged and
dropped, and a reply that was meanwhile sent (a duplicate copy that expired) is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection, HeadersType

from cluster.logs import mask_phone
from contracts.codec import decode_reply
from contracts.errors import PoisonMessageError
from contracts.topology import Topology
from webhook.alerts import AdminAlerter
from webhook.amqp import ConfirmedPublisher
from webhook.ledger import FINAL_STATES, Ledger, delivery_key
from webhook.worker import QueueWorker

__all__ = ["RETRY_HEADER", "ReDriver"]

log = logging.getLogger("webhook.redriver")

#: Retries already scheduled for this reply by the re-driver.
RETRY_HEADER = "x-webhook-retry-count"
_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-")


class ReDriver(QueueWorker):
    """Consumes ``dlx_webhook`` and schedules retries on the webhook retry ladder."""

    requeue_on_error = True

    def __init__(
        self,
        connection: AbstractRobustConnection,
        topology: Topology,
        publisher: ConfirmedPublisher,
        ledger: Ledger,
        alerter: AdminAlerter,
        *,
        max_retries: int,
    ) -> None:
        super().__init__(connection, topology.dlx_webhook, prefetch=10)
        self.topology = topology
        self.publisher = publisher
        self.ledger = ledger
        self.alerter = alerter
        self.max_retries = max_retries

    async def handle(self, message: AbstractIncomingMessage) -> None:
        """Schedule the next retry, or abandon and alert after the last one."""
        try:
            reply = decode_reply(message.body)
        except PoisonMessageError as exc:
            log.error(
                "poison reply dropped from dlx_webhook", extra={"message_id": message.message_id, "error": str(exc)}
            )
            await message.ack()
            return
        key = delivery_key(reply.original_message_id)
        state = await self.ledger.state(key)
        if state in FINAL_STATES:
            log.info("dead-lettered reply already settled", extra={"message_id": reply.message_id, "state": state})
            await message.ack()
            return
        headers = dict(message.headers or {})
        retries = _int(headers.get(RETRY_HEADER))
        if retries < self.max_retries:
            clean: HeadersType = {k: v for k, v in headers.items() if not k.startswith(_BROKER_HEADERS)}
            clean[RETRY_HEADER] = retries + 1
            target = self.topology.webhook_retry_queue(retries + 1)
            await self.publisher.publish(
                target,
                message.body,
                message_id=message.message_id or reply.message_id,
                correlation_id=message.correlation_id or reply.original_message_id,
                headers=clean,
            )
            log.info(
                "reply scheduled for retry",
                extra={"message_id": reply.message_id, "retry": retries + 1, "queue": target},
            )
            await message.ack()
            return
        reason = _death_reason(headers) or "send failed"
        error = f"not delivered after {retries} retries ({reason})"
        if await self.ledger.abandon(key, reply, error):
            log.error(
                "reply abandoned after all retries",
                extra={"message_id": reply.message_id, "contact": mask_phone(reply.contact.phone_number)},
            )
            await self.alerter.alert(
                "delivery_failed",
                reply_id=reply.message_id,
                phone=reply.contact.phone_number,
                reason=error,
                attempts=retries + 1,
            )
        await message.ack()


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _death_reason(headers: Mapping[str, object]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason")
        return reason.decode() if isinstance(reason, bytes) else str(reason) if reason else None
    return None
