"""The ``dlx_agent`` monitor: a request the agents could not answer still gets an answer.

For each dead-lettered request (agent failure, invalid body, or five minutes in ``ag_queue``)
it publishes an ``error`` reply for that request to ``wb_queue``, built with
:func:`contracts.codec.error_reply` (whose text is the spec's fallback text). The reply then
takes the normal delivery path (ledger, rate limit, retries, admin alert), keyed by the same
``reply_id(request messageId)`` as the agent side's own error reply, so the customer gets one
fallback whichever of the two arrives first, and none when a real answer was already sent.
A body with no readable contact cannot be answered: it is logged and dropped.

The monitor reads its own queue, ``<dlx_agent>.monitor``, bound to the ``dlx_agent`` fanout
exchange beside the ``dlx_agent`` queue. Each dead letter is therefore copied: the monitor
consumes its copy, and the one in ``dlx_agent`` stays for operators (``agentcluster dlq list``
shows the reason, ``dlq replay`` sends it back once the cause is fixed).
"""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from cluster.logs import mask_phone
from contracts.codec import decode_request, encode, error_reply
from contracts.errors import AgentFailedError, PoisonMessageError
from contracts.models import Contact
from contracts.topology import Topology
from webhook.amqp import ConfirmedPublisher
from webhook.ledger import FINAL_STATES, Ledger, delivery_key
from webhook.worker import QueueWorker

__all__ = ["DeadLetterMonitor", "monitor_queue"]

log = logging.getLogger("webhook.dlx_monitor")


def monitor_queue(topology: Topology) -> str:
    """The monitor's copy of the dead letters: ``dlx_agent.monitor``."""
    return topology.monitor_queue


class DeadLetterMonitor(QueueWorker):
    """Turns each ``dlx_agent`` message into one fallback reply on ``wb_queue``."""

    requeue_on_error = True

    def __init__(
        self, connection: AbstractRobustConnection, topology: Topology, publisher: ConfirmedPublisher, ledger: Ledger
    ) -> None:
        super().__init__(connection, monitor_queue(topology), prefetch=10)
        self.topology = topology
        self.publisher = publisher
        self.ledger = ledger

    async def start(self) -> None:
        """Declare and bind the monitor's own queue, then consume it."""
        channel = await self.connection.channel()
        try:
            queue = await channel.declare_queue(monitor_queue(self.topology), durable=True)
            await queue.bind(self.topology.dlx_agent)
        finally:
            await channel.close()
        await super().start()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        """Publish the fallback reply for one dead-lettered request, then ack."""
        contact: Contact | dict[str, object] | None
        request_id: str | None
        try:
            request = decode_request(message.body)
            request_id, contact = request.message_id, request.contact
        except PoisonMessageError as exc:
            request_id, contact = exc.message_id or message.message_id, exc.contact
        if not request_id or not contact:
            log.error("dead-lettered request without a contact dropped", extra={"message_id": message.message_id})
            await message.ack()
            return
        reason = _reason(message)
        state = await self.ledger.state(delivery_key(request_id))
        if state in FINAL_STATES:
            log.info("dead-lettered request already answered", extra={"message_id": request_id, "state": state})
            await message.ack()
            return
        reply = error_reply(
            request_id, contact, AgentFailedError(f"request dead-lettered on the agent side ({reason})")
        )
        await self.publisher.publish(
            self.topology.webhook_queue, encode(reply), message_id=reply.message_id, correlation_id=request_id
        )
        log.warning(
            "fallback queued for a dead-lettered request",
            extra={"message_id": request_id, "contact": mask_phone(reply.contact.phone_number), "reason": reason},
        )
        await message.ack()


def _reason(message: AbstractIncomingMessage) -> str:
    deaths = (message.headers or {}).get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason")
        if reason:
            return reason.decode() if isinstance(reason, bytes) else str(reason)
    return "unknown reason"
