"""The one publisher: every reply, retry and dead letter leaves the cluster through it.

Each publish is persistent, mandatory and waits for the broker's confirm; it returns only
when RabbitMQ has taken responsibility for the message, and raises
:class:`~contracts.errors.PublishError` when the broker nacks it, returns it as unroutable
(e.g. ``wb_queue`` was deleted), does not confirm in time, or cannot be reached. The ingress
acks a request only after one of these calls returned, which is what makes the pipeline
at-least-once in, exactly-once effect out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from cluster.broker import connect
from cluster.settings import Settings
from contracts.errors import PublishError

__all__ = ["HEADER_ENQUEUED_AT", "HEADER_ERROR_CODE", "HEADER_REASON", "ReplyPublisher"]

log = logging.getLogger(__name__)

#: When a retried request (re-)enters ag_queue, in ms since the epoch.
HEADER_ENQUEUED_AT = "x-agentcluster-enqueued-at"
#: Why a request was dead-lettered (one line) and the error code behind it.
HEADER_REASON = "x-agentcluster-reason"
HEADER_ERROR_CODE = "x-agentcluster-error-code"


class ReplyPublisher:
    """Publishes with confirms on its own connection; ``start()`` before use."""

    def __init__(self, settings: Settings, *, confirm_timeout: float = 10.0, fail_first: int = 0) -> None:
        self._settings = settings
        self._topology = settings.topology()
        self._confirm_timeout = confirm_timeout
        #: Fault injection for tests and drills: fail this many publishes before any reaches the broker.
        self._fail_first = fail_first
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._default: AbstractExchange | None = None
        self._lock = asyncio.Lock()
        self.published = 0
        self.failed = 0

    async def start(self) -> None:
        """Connect and open a confirming channel whose returns raise."""
        self._connection = await connect(self._settings, name=f"agentcluster-publisher {self._topology.agent_queue}")
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._default = self._channel.default_exchange

    async def stop(self) -> None:
        """Close the connection; idempotent."""
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
        self._connection = self._channel = self._default = None

    def health(self) -> dict[str, object]:
        """Whether the channel is open, and the publish counters."""
        open_ = self._channel is not None and not self._channel.is_closed
        return {"channel_open": open_, "published": self.published, "failed": self.failed}

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """Publish a reply to ``wb_queue`` (its ``messageId`` and the request's id as correlation)."""
        message = _json_message(body, reply_id, correlation_id=correlation_id)
        await self._publish("", self._topology.webhook_queue, message)

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """Park a request in the wait queue of its retry level; returns the wait queue's name."""
        queue = self._topology.agent_retry_queue(retry_count)
        delay_ms = next(q.arguments["x-message-ttl"] for q in self._topology.retry_queues if q.name == queue)
        enqueued_at = int(time.time() * 1000) + int(delay_ms)
        await self._publish("", queue, _json_message(body, message_id, headers={HEADER_ENQUEUED_AT: enqueued_at}))
        return queue

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """Dead-letter a request to ``dlx_agent`` with the reason in headers (``agentcluster dlq list``)."""
        headers = {HEADER_REASON: reason[:1000], HEADER_ERROR_CODE: code}
        message = _json_message(body, message_id, headers=headers)
        await self._publish(self._topology.dlx_agent, self._topology.agent_queue, message)

    async def _publish(self, exchange_name: str, routing_key: str, message: aio_pika.Message) -> None:
        if self._channel is None:
            raise RuntimeError("ReplyPublisher.start() was not called")
        if self._fail_first > 0:
            self._fail_first -= 1
            self.failed += 1
            raise PublishError(f"injected publish failure ({self._fail_first} more to come)")
        try:
            exchange = self._default
            if exchange_name:
                exchange = await self._channel.get_exchange(exchange_name, ensure=False)
            assert exchange is not None
            await exchange.publish(message, routing_key, mandatory=True, timeout=self._confirm_timeout)
        except aiormq.exceptions.PublishError as exc:
            self.failed += 1
            raise PublishError(f"message to '{routing_key}' was returned unroutable: {exc}") from None
        except aiormq.exceptions.DeliveryError as exc:
            self.failed += 1
            raise PublishError(f"broker refused the message to '{routing_key}': {exc}") from None
        except TimeoutError:
            self.failed += 1
            raise PublishError(f"no confirm from the broker within {self._confirm_timeout}s") from None
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            self.failed += 1
            raise PublishError(f"cannot publish to '{routing_key}': {type(exc).__name__}: {exc}") from None
        self.published += 1


def _json_message(body: bytes, message_id: str | None, **properties: Any) -> aio_pika.Message:
    """A persistent JSON message stamped now."""
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        timestamp=time.time(),
        **properties,
    )
