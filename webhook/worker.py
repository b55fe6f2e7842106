"""A queue consumer with an explicit lifecycle and a drain on stop.

aio-pika runs each delivery's callback as its own task (``Queue.consume``), so ``prefetch``
is also the concurrency. This base tracks those tasks so :meth:`QueueWorker.stop` can stop
consuming, wait for in-flight messages up to ``drain_timeout``, and only then close the
channel: whatever is still unacked at that point is requeued by the broker, never lost.

The channel is a robust one: after a broker restart aio-pika re-opens it and re-consumes.
A handler that raises unexpectedly gets the message rejected without requeue (it
dead-letters, where there is a dead-letter exchange) or, for ``requeue_on_error`` workers,
requeued after a pause so a broken dependency does not spin the CPU.
"""

from __future__ import annotations

import abc
import asyncio
import logging

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

__all__ = ["QueueWorker"]

log = logging.getLogger("webhook.worker")


class QueueWorker(abc.ABC):
    """Consumes one queue; subclasses implement :meth:`handle` and settle every message."""

    requeue_on_error = False
    error_pause = 1.0

    def __init__(self, connection: AbstractRobustConnection, queue: str, *, prefetch: int) -> None:
        self.connection = connection
        self.queue_name = queue
        self.prefetch = prefetch
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Set by ``stop()``: handlers that have not started real work should requeue instead.
        self.stopping = False

    @property
    def consuming(self) -> bool:
        """True between ``start()`` and ``stop()`` while the channel is open."""
        return self._tag is not None and self._channel is not None and not self._channel.is_closed

    async def start(self) -> None:
        """Open a channel, set the prefetch and start consuming (the queue must exist)."""
        self.stopping = False
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await self._channel.get_queue(self.queue_name, ensure=True)
        self._tag = await self._queue.consume(self._on_message)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop consuming, let in-flight messages finish, then close the channel."""
        self.stopping = True
        if self._queue is not None and self._tag is not None and self._channel is not None:
            if not self._channel.is_closed:
                await self._queue.cancel(self._tag)
        self._tag = None
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self.handle(message)
        except asyncio.CancelledError:
            if not message.processed:
                await _settle(message, requeue=True)
            raise
        except Exception:
            log.exception("unexpected error handling a message", extra={"queue": self.queue_name})
            if self.requeue_on_error:
                await asyncio.sleep(self.error_pause)
            if not message.processed:
                await _settle(message, requeue=self.requeue_on_error)
        finally:
            if task is not None:
                self._tasks.discard(task)  # type: ignore[arg-type]

    @abc.abstractmethod
    async def handle(self, message: AbstractIncomingMessage) -> None:
        """Process one message and ack, nack or reject it."""


async def _settle(message: AbstractIncomingMessage, *, requeue: bool) -> None:
    try:
        await message.reject(requeue=requeue)
    except Exception:  # the channel is gone: the broker requeues it anyway
        log.warning("could not settle a message; the broker will redeliver it")
