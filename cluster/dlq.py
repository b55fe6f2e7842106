"""Dead letters: read them with their reasons, and replay chosen ones (the spec's "message replay").

Browsing takes messages with ``basic.get`` and puts back, unacknowledged, the ones that
are only being looked at: nothing leaves the dead-letter queue unless it was replayed with
a confirmed publish first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from actors.publisher import HEADER_ERROR_CODE, HEADER_REASON
from contracts.codec import decode_request, encode
from contracts.errors import PoisonMessageError
from contracts.topology import Topology

__all__ = ["DeadLetter", "list_dead_letters", "replay_dead_letters"]


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered request and why it is there."""

    message_id: str | None
    reason: str
    code: str | None
    contact: str | None
    body: bytes

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (body as text)."""
        return {
            "messageId": self.message_id,
            "reason": self.reason,
            "code": self.code,
            "contact": self.contact,
            "body": self.body.decode("utf-8", "replace"),
        }


def _describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    reason = headers.get(HEADER_REASON)
    if reason is None:  # dead-lettered by the broker: x-death says why
        deaths = headers.get("x-death") or []
        first: Any = deaths[0] if isinstance(deaths, list) and deaths else {}
        reason = f"broker: {first.get('reason', 'unknown')} from {first.get('queue', '?')}" if first else "unknown"
    contact = None
    message_id = None  # the request's own messageId; the AMQP message_id may be anything
    try:
        data = json.loads(message.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw_contact = data.get("contact")
        if isinstance(raw_contact, dict) and raw_contact.get("phoneNumber"):
            contact = str(raw_contact["phoneNumber"])
        if isinstance(data.get("messageId"), str):
            message_id = data["messageId"]
    code = headers.get(HEADER_ERROR_CODE)
    return DeadLetter(message_id, str(reason), str(code) if code else None, contact, message.body)


async def _take_all(channel: aio_pika.abc.AbstractChannel, queue: str, limit: int) -> list[AbstractIncomingMessage]:
    q = await channel.get_queue(queue, ensure=True)
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < limit:
        message = await q.get(fail=False, no_ack=False)
        if message is None:
            break
        taken.append(message)
    return taken


async def list_dead_letters(
    connection: aio_pika.abc.AbstractConnection, topology: Topology, *, webhook: bool = False, limit: int = 100
) -> list[DeadLetter]:
    """Up to ``limit`` dead letters, left in their queue."""
    channel = await connection.channel()
    try:
        taken = await _take_all(channel, topology.dlx_webhook if webhook else topology.dlx_agent, limit)
        return [_describe(m) for m in taken]
    finally:
        await channel.close()  # unacked messages return to the queue in their order


async def replay_dead_letters(
    connection: aio_pika.abc.AbstractConnection,
    topology: Topology,
    *,
    message_ids: set[str] | None = None,
    limit: int = 1000,
) -> tuple[list[str], list[str]]:
    """Republish chosen dead letters to ag_queue with ``retryCount`` reset to 0.

    ``message_ids=None`` replays every one. Returns ``(replayed, skipped)`` message ids;
    a dead letter whose body is not a valid request is skipped (it would only die again).
    """
    channel = await connection.channel(publisher_confirms=True)
    replayed: list[str] = []
    skipped: list[str] = []
    try:
        for message in await _take_all(channel, topology.dlx_agent, limit):
            letter = _describe(message)
            if message_ids is not None and letter.message_id not in message_ids:
                continue  # left unacked: back to the queue on close
            try:
                request = decode_request(message.body)
            except PoisonMessageError as exc:
                skipped.append(f"{letter.message_id}: {exc.reason}")
                continue
            fresh = request.model_copy(update={"metadata": request.metadata.model_copy(update={"retry_count": 0})})
            await channel.default_exchange.publish(
                aio_pika.Message(
                    encode(fresh),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=request.message_id,
                ),
                topology.agent_queue,
                mandatory=True,
            )
            await message.ack()
            replayed.append(request.message_id)
    finally:
        await channel.close()
    return replayed, skipped
