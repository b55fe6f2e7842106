"""What ``POST /webhook`` does with each accepted message, apart from HTTP.

store → AI enabled? → build context → publish to ``ag_queue`` (confirmed) → done. The HTTP
handler answers as soon as the broker has confirmed the request; it never waits for an agent.

A repeated event is not published again, unless its first publish failed: the stored row
says ``published=False`` and Wasender's retry of the event then publishes it with the same
request id, so a failed publish is never a lost message.
"""

from __future__ import annotations

import enum
import logging
import time

from cluster.logs import mask_phone
from cluster.metrics import WebhookMetrics
from contracts.codec import encode
from contracts.errors import PublishError
from webhook.amqp import ConfirmedPublisher
from webhook.events import InboundText
from webhook.inbox import Inbox

__all__ = ["Intake", "Outcome"]

log = logging.getLogger("webhook.intake")


class Outcome(enum.StrEnum):
    """What happened to one inbound message."""

    PUBLISHED = "published"
    AI_OFF = "ai_off"
    DUPLICATE = "duplicate"


class Intake:
    """Records a message and, when AI is on for the contact, publishes its request."""

    def __init__(self, inbox: Inbox, publisher: ConfirmedPublisher, agent_queue: str, metrics: WebhookMetrics) -> None:
        self.inbox = inbox
        self.publisher = publisher
        self.agent_queue = agent_queue
        self.metrics = metrics

    async def handle(self, msg: InboundText) -> Outcome:
        """Process one message; raises :class:`PublishError` when ``ag_queue`` did not confirm."""
        rec = await self.inbox.record(msg)
        if rec.duplicate and (rec.published or not rec.ai_enabled):
            log.info("duplicate event ignored", extra={"event_id": msg.event_id, "contact": mask_phone(msg.phone)})
            return Outcome.DUPLICATE
        if not rec.ai_enabled:
            log.info("AI is off for contact; stored only", extra={"contact": mask_phone(msg.phone)})
            return Outcome.AI_OFF
        request = self.inbox.build_request(rec, msg)
        try:
            await self.publisher.publish(self.agent_queue, encode(request), message_id=request.message_id)
        except PublishError:
            self.metrics.publish_failures.inc()
            raise
        self.metrics.published.inc()
        await self.inbox.mark_published(rec.row_id)
        log.info(
            "📤 Published to ag_queue",
            extra={
                "message_id": request.message_id,
                "contact": mask_phone(msg.phone),
                "task_type": request.task_type.value,
                "priority": request.metadata.priority.value,
                "timestamp": int(time.time() * 1000),
            },
        )
        log.debug("request text", extra={"message_id": request.message_id, "text": msg.text})
        return Outcome.PUBLISHED
