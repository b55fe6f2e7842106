"""RabbitMQ plumbing shared by every process: connect, declare and verify the topology.

Verification never lets a raw 406 escape. Each check runs on its own throwaway channel
(a failed declare closes the channel it ran on) and RabbitMQ's PRECONDITION_FAILED text,
``inequivalent arg 'x-message-ttl' for queue 'ag_queue' in vhost '/': received '300000' but
current is '60000'``, is turned into a
:class:`~contracts.errors.TopologyDriftError` naming the queue, the argument, the live value
and the expected value.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractRobustConnection

from cluster.settings import Settings
from contracts.errors import BrokerUnavailableError, TopologyDriftError
from contracts.topology import QueueSpec, Topology

__all__ = ["connect", "declare_topology", "delete_topology", "queue_state", "queue_states", "verify_topology"]

log = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 5.0

_INEQUIVALENT = re.compile(
    r"inequivalent arg '(?P<arg>[^']+)' for (?P<kind>queue|exchange) '(?P<name>[^']*)'.*?"
    r"received (?P<received>.+?) but current is (?P<current>.+?)['\"]?\)?$"
)


async def connect(settings: Settings, *, name: str = "agentcluster", timeout: float = 10.0) -> AbstractRobustConnection:
    """Open a robust connection (it reconnects and restores channels and consumers).

    The first connection must succeed; a refused or unreachable broker raises
    :class:`BrokerUnavailableError` saying where it looked and how to start one locally.
    """
    try:
        return await aio_pika.connect_robust(
            settings.amqp_url(),
            ssl_context=settings.ssl_context(),
            client_properties={"connection_name": name},
            timeout=timeout,
        )
    except (OSError, TimeoutError, aiormq.exceptions.AMQPConnectionError) as exc:
        raise BrokerUnavailableError(
            f"cannot reach RabbitMQ at {settings.amqp_url_safe()} ({type(exc).__name__}: {exc}). "
            "Start one locally with `rabbitmq-server -detached`, or set RABBITMQ_URL / RABBITMQ_HOST."
        ) from None


async def declare_topology(connection: aio_pika.abc.AbstractConnection, topology: Topology) -> None:
    """Declare every exchange, queue and binding; idempotent, and drift raises clearly."""
    for exchange in topology.exchanges:
        channel = await connection.channel()
        try:
            await channel.declare_exchange(exchange.name, exchange.type, durable=exchange.durable)
        except aiormq.exceptions.ChannelPreconditionFailed as exc:
            expected = {"type": exchange.type, "durable": exchange.durable}
            raise _drift(exc, exchange.name, "exchange", expected) from None
        finally:
            await _close(channel)
    for queue in topology.queues:
        await _declare_checked(connection, queue)
    channel = await connection.channel()
    try:
        for binding in topology.bindings:
            bound = await channel.get_queue(binding.queue, ensure=False)
            await bound.bind(binding.exchange, routing_key=binding.routing_key)
    finally:
        await _close(channel)


async def delete_topology(connection: aio_pika.abc.AbstractConnection, topology: Topology) -> None:
    """Delete every queue (the webhook's monitor queue too) and exchange; for tests and teardown."""
    channel = await connection.channel()
    try:
        for name in (*(queue.name for queue in topology.queues), topology.monitor_queue):
            await channel.queue_delete(name)
        for exchange in topology.exchanges:
            await channel.exchange_delete(exchange.name)
    finally:
        await _close(channel)


async def verify_topology(connection: aio_pika.abc.AbstractConnection, topology: Topology) -> None:
    """Check that every queue exists with exactly the contract's arguments; create nothing.

    Raises :class:`TopologyDriftError` naming the queue and the argument on the first
    difference, or naming the queue when it is missing.
    """
    for queue in topology.queues:
        if await queue_state(connection, queue.name) is None:
            raise TopologyDriftError(f"queue '{queue.name}' does not exist; run `agentcluster topology declare`")
        # Re-declaring with identical arguments is a no-op; any difference is a 406.
        await _declare_checked(connection, queue)


async def _declare_checked(connection: aio_pika.abc.AbstractConnection, queue: QueueSpec) -> None:
    channel = await connection.channel()
    try:
        await channel.declare_queue(queue.name, durable=queue.durable, arguments=queue.arguments)
    except aiormq.exceptions.ChannelPreconditionFailed as exc:
        raise _drift(exc, queue.name, "queue", {"durable": queue.durable, **queue.arguments}) from None
    finally:
        await _close(channel)


async def _close(channel: AbstractChannel) -> None:
    """Close a channel, giving up after 5 s: a close that never completes must not hang a caller."""
    if channel.is_closed:
        return
    try:
        await asyncio.wait_for(channel.close(), _CLOSE_TIMEOUT)
    except (TimeoutError, aiormq.exceptions.AMQPError, RuntimeError) as exc:
        log.debug("channel close did not complete: %r", exc)


def _drift(exc: BaseException, name: str, kind: str, expected: dict[str, Any]) -> TopologyDriftError:
    text = " ".join(str(arg) for arg in exc.args)
    match = _INEQUIVALENT.search(text)
    if match is None:
        return TopologyDriftError(f"{kind} '{name}' was declared differently on the broker: {text}")
    arg = match["arg"]
    want = expected.get(arg, "absent")
    if isinstance(want, bool):  # RabbitMQ spells the live value 'true'/'false'
        want = str(want).lower()
    return TopologyDriftError(
        f"{kind} '{name}': argument '{arg}' is {_value(match['current'])} on the broker but the "
        f"contract expects {want}. "
        f"Fix the other declarer, or delete the {kind} and run `agentcluster topology declare`."
    )


def _value(text: str) -> str:
    """``'60000'`` or ``the value '60000' of type 'long'`` → ``60000``; ``none`` → ``absent``."""
    found = re.search(r"'([^']*)'", text)
    if found:
        return found.group(1)
    text = text.strip().strip("'\")")
    return "absent" if text == "none" else text


async def queue_state(connection: aio_pika.abc.AbstractConnection, name: str) -> tuple[int, int] | None:
    """``(messages, consumers)`` of a queue by passive declare, or ``None`` when missing."""
    return (await queue_states(connection, (name,)))[name]


async def queue_states(
    connection: aio_pika.abc.AbstractConnection, names: Iterable[str]
) -> dict[str, tuple[int, int] | None]:
    """``(messages, consumers)`` of each queue, ``None`` for a missing one.

    One channel serves every passive declare (a new one only after a missing queue made the
    broker close it): opening and closing a channel per queue on every poll is wasteful and
    has been seen to stall a channel close under load.
    """
    states: dict[str, tuple[int, int] | None] = {}
    channel: AbstractChannel | None = None
    try:
        for name in names:
            if channel is None or channel.is_closed:
                channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                states[name] = None
                await _close(channel)
                channel = None
                continue
            result = queue.declaration_result
            states[name] = (result.message_count or 0, result.consumer_count or 0)
    finally:
        if channel is not None:
            await _close(channel)
    return states
