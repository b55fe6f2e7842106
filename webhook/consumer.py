"""The ``wb_queue`` consumer: decode, send once, ack (the spec's Node.js ``consumer.js``).

Prefetch 10, as the spec says, so ten replies are in flight at once; replies to one contact
still leave in the order they arrived, because each waits for that contact's lock before
its first ``await`` (asyncio locks are fair, and aio-pika starts the tasks in delivery order).

Outcomes: an invalid body is rejected without requeue and logged (it dead-letters to
``dlx_webhook``, where the re-driver drops it as poison); a send that failed for a reason
that may pass is nacked without requeue, so it dead-letters to ``dlx_webhook`` and the
re-driver schedules the retry; everything else is acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from cluster.logs import mask_phone
from cluster.metrics import WebhookMetrics
from contracts.codec import decode_reply
from contracts.errors import PoisonMessageError
from contracts.models import AgentReply
from webhook.replies import Delivery, ReplySender
from webhook.worker import QueueWorker

__all__ = ["ReplyConsumer"]

log = logging.getLogger("webhook.consumer")


class ReplyConsumer(QueueWorker):
    """Consumes agent replies from ``wb_queue`` and delivers them through :class:`ReplySender`."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        queue: str,
        sender: ReplySender,
        metrics: WebhookMetrics,
        *,
        prefetch: int = 10,
    ) -> None:
        super().__init__(connection, queue, prefetch=prefetch)
        self.sender = sender
        self.metrics = metrics
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._users: defaultdict[str, int] = defaultdict(int)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        """Deliver one reply and settle its message by the outcome."""
        try:
            reply = decode_reply(message.body)
        except PoisonMessageError as exc:
            self.metrics.replies_consumed.labels(status="invalid").inc()
            log.error("invalid reply rejected", extra={"message_id": message.message_id, "error": str(exc)})
            await message.reject(requeue=False)
            return
        phone = reply.contact.phone_number
        self._users[phone] += 1
        try:
            async with self._locks[phone]:
                await self._deliver(message, reply)
        finally:
            self._users[phone] -= 1
            if not self._users[phone]:
                del self._users[phone], self._locks[phone]

    async def _deliver(self, message: AbstractIncomingMessage, reply: AgentReply) -> None:
        if self.stopping:  # queued behind this contact's lock at shutdown: hand it back untouched
            await message.reject(requeue=True)
            return
        phone = reply.contact.phone_number
        self.metrics.replies_consumed.labels(status=reply.status.value).inc()
        log.info(
            "📥 Consumed from wb_queue",
            extra={
                "message_id": reply.message_id,
                "contact": mask_phone(phone),
                "processing_time": f"{reply.agent_metadata.processing_time:g}s",
                "status": reply.status.value,
                "tools_used": list(reply.agent_metadata.tools_used),
            },
        )
        outcome = await self.sender.deliver(reply)
        if outcome is Delivery.RETRY:
            await message.nack(requeue=False)
        else:
            await message.ack()
