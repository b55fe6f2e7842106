"""Test doubles of the webhook tests: a fake agent side and a polling helper.

The agent side is not the webhook's: :class:`FakeAgent` stands in for it with a tiny
``ag_queue`` consumer that answers with a proper :class:`~contracts.models.AgentReply`
built by :mod:`contracts`, or rejects the request so it dead-letters to ``dlx_agent``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from cluster.settings import Settings
from contracts.codec import decode_request, encode, error_reply, success_reply
from contracts.errors import AgentFailedError
from contracts.models import AgentMetadata, AgentReply, AgentRequest

__all__ = ["FakeAgent", "eventually", "publish_reply"]


async def eventually(check: Callable[[], Awaitable[Any] | Any], *, within: float = 30.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value) or isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)


async def publish_reply(connection: AbstractRobustConnection, queue: str, reply: AgentReply) -> None:
    """Publish a reply to ``wb_queue`` as the agent side's publisher does (confirmed, persistent)."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    try:
        await channel.default_exchange.publish(
            aio_pika.Message(
                encode(reply),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=reply.message_id,
                correlation_id=reply.original_message_id,
            ),
            routing_key=queue,
        )
    finally:
        await channel.close()


class FakeAgent:
    """Answers ``ag_queue`` requests: ``reply`` (default), ``twice``, ``error``, ``reject``, or
    ``error+reject`` (an error reply, then the request dead-lettered, as DESIGN.md's agent side
    does after its last retry)."""

    def __init__(
        self,
        connection: AbstractRobustConnection,
        settings: Settings,
        *,
        mode: str = "reply",
        gate: asyncio.Event | None = None,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.mode = mode
        self.gate = gate
        self.requests: list[AgentRequest] = []
        self.finished: list[str] = []
        self._channel: aio_pika.abc.AbstractChannel | None = None

    @staticmethod
    def answer(request: AgentRequest) -> str:
        """The text the fake agent answers ``request`` with."""
        return f"Echo for {request.contact.name or 'you'}: {request.message.text}"

    async def start(self) -> None:
        """Consume the agent queue (declared by the webhook service)."""
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=20)
        queue = await self._channel.get_queue(self.settings.agent_queue)
        await queue.consume(self._on_request)

    async def stop(self) -> None:
        """Close the channel (unacked requests go back to the queue)."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        request = decode_request(message.body)
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.mode == "reject":
            await message.reject(requeue=False)
            self.finished.append(request.message_id)
            return
        if self.mode.startswith("error"):
            reply = error_reply(request.message_id, request.contact, AgentFailedError("model failed"))
        else:
            metadata = AgentMetadata(tools_used=("knowledge_search",), processing_time=0.01, tokens_used=42)
            reply = success_reply(request, self.answer(request), metadata)
        for _ in range(2 if self.mode == "twice" else 1):
            await publish_reply(self.connection, self.settings.webhook_queue, reply)
        self.finished.append(request.message_id)
        if self.mode == "error+reject":
            await message.reject(requeue=False)
        else:
            await message.ack()
