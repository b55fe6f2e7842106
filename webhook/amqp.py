"""One confirmed publisher for everything the webhook side puts on a queue.

Every publish goes through the default exchange straight to a queue, persistent, JSON,
with ``message_id`` set, ``mandatory`` and a publisher confirm: the call returns only once
the broker has the message, and raises :class:`~contracts.errors.PublishError` when it was
nacked, returned as unroutable (the queue does not exist) or not confirmed in time.
"""

from __future__ import annotations

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractRobustConnection, HeadersType

from contracts.errors import PublishError

__all__ = ["ConfirmedPublisher"]


class ConfirmedPublisher:
    """Publishes to a queue by name with confirms; ``start()`` opens its channel."""

    def __init__(self, connection: AbstractRobustConnection, *, timeout: float = 10.0) -> None:
        self.connection = connection
        self.timeout = timeout
        self._channel: AbstractChannel | None = None

    async def start(self) -> None:
        """Open a channel with publisher confirms and returns raised as errors."""
        self._channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)

    async def stop(self) -> None:
        """Close the channel."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = None

    async def publish(
        self,
        queue: str,
        body: bytes,
        *,
        message_id: str,
        correlation_id: str | None = None,
        headers: HeadersType | None = None,
    ) -> None:
        """Publish one message to ``queue`` and wait for the broker's confirm."""
        if self._channel is None:
            raise RuntimeError("ConfirmedPublisher.start() has not been awaited")
        message = aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            correlation_id=correlation_id,
            headers=headers or {},
        )
        try:
            await self._channel.default_exchange.publish(
                message, routing_key=queue, mandatory=True, timeout=self.timeout
            )
        except aio_pika.exceptions.PublishError as exc:
            raise PublishError(f"message {message_id} to '{queue}' was returned as unroutable ({exc})") from None
        except aio_pika.exceptions.DeliveryError as exc:
            raise PublishError(f"message {message_id} to '{queue}' was nacked by the broker ({exc})") from None
        except TimeoutError:
            raise PublishError(f"message {message_id} to '{queue}' was not confirmed in {self.timeout}s") from None
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as exc:
            raise PublishError(f"message {message_id} to '{queue}' failed: {type(exc).__name__}: {exc}") from None
