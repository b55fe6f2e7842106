"""The broker gauges follow real queues: depth and consumers by passive declare, unacked by the management API.

The collector is driven against the RabbitMQ on 127.0.0.1:5672 with the test's own queue
names; the management API (not enabled on the development broker) is exercised through
httpx's ``MockTransport``, the fake that lives beside the real client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import aio_pika
import httpx
import pytest
from prometheus_client import CollectorRegistry

from cluster.broker import declare_topology
from cluster.broker_metrics import BrokerMetricsCollector, ManagementApi
from cluster.metrics import BrokerMetrics
from cluster.settings import Settings
from contracts.errors import ConfigError

pytestmark = pytest.mark.rabbitmq


def _value(registry: CollectorRegistry, metric: str, queue: str) -> float | None:
    return registry.get_sample_value(metric, {"queue": queue})


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``check`` because the broker delivers to a consumer asynchronously."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def _publish(channel: aio_pika.abc.AbstractChannel, queue: str, count: int) -> None:
    for index in range(count):
        await channel.default_exchange.publish(
            aio_pika.Message(b"{}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=str(index)),
            routing_key=queue,
        )


async def test_given_declared_topology_when_collected_then_every_queue_has_depth_and_consumers(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    await declare_topology(amqp, settings.topology())
    registry = CollectorRegistry()
    collector = BrokerMetricsCollector(amqp, settings.topology(), BrokerMetrics(registry), interval=60)

    stats = await collector.collect_once()

    topology = settings.topology()
    expected = {q.name for q in topology.queues}
    assert {topology.agent_queue, topology.webhook_queue, topology.dlx_agent, topology.dlx_webhook} <= expected
    assert any(".retry." in name for name in expected)
    assert set(stats) == expected
    for name in expected:
        assert _value(registry, "agentcluster_queue_depth", name) == 0
        assert _value(registry, "agentcluster_queue_consumers", name) == 0
        # No management API configured: no unacked series at all, rather than a misleading 0.
        assert _value(registry, "agentcluster_queue_unacked", name) is None


async def test_given_a_queue_filled_and_drained_then_depth_and_consumers_follow(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    topology = settings.topology()
    await declare_topology(amqp, topology)
    registry = CollectorRegistry()
    collector = BrokerMetricsCollector(amqp, topology, BrokerMetrics(registry), interval=60)
    queue_name = topology.agent_queue
    channel = await amqp.channel()

    # Fill: five ready messages, nobody consuming.
    await _publish(channel, queue_name, 5)
    await collector.collect_once()
    assert _value(registry, "agentcluster_queue_depth", queue_name) == 5
    assert _value(registry, "agentcluster_queue_consumers", queue_name) == 0

    # A consumer with prefetch 2 that does not ack: two leave "ready", one consumer appears.
    await channel.set_qos(prefetch_count=2)
    queue = await channel.get_queue(queue_name, ensure=False)
    held: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def hold(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        held.append(message)

    tag = await queue.consume(hold)

    async def two_held() -> bool:
        await collector.collect_once()
        return len(held) == 2 and _value(registry, "agentcluster_queue_depth", queue_name) == 3

    await _eventually(two_held)
    assert _value(registry, "agentcluster_queue_consumers", queue_name) == 1

    # Drain: ack as they come until the queue is empty.
    async def drained() -> bool:
        while held:
            await held.pop().ack()
        await collector.collect_once()
        return _value(registry, "agentcluster_queue_depth", queue_name) == 0 and not held

    await _eventually(drained)
    assert _value(registry, "agentcluster_queue_consumers", queue_name) == 1

    # The consumer goes away: the count drops back to zero.
    await queue.cancel(tag)
    await collector.collect_once()
    assert _value(registry, "agentcluster_queue_consumers", queue_name) == 0
    await channel.close()


async def test_given_started_collector_when_queue_fills_then_loop_updates_gauge(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    topology = settings.topology()
    await declare_topology(amqp, topology)
    registry = CollectorRegistry()
    opened: list[aio_pika.abc.AbstractConnection] = []

    async def factory() -> aio_pika.abc.AbstractConnection:
        from cluster.broker import connect

        connection = await connect(settings, name="pytest-broker-metrics")
        opened.append(connection)
        return connection

    collector = BrokerMetricsCollector(factory, topology, BrokerMetrics(registry), interval=0.05)
    with pytest.raises(RuntimeError, match="start"):
        await collector.collect_once()

    await collector.start()
    try:
        assert _value(registry, "agentcluster_queue_depth", topology.webhook_queue) == 0
        channel = await amqp.channel()
        await _publish(channel, topology.webhook_queue, 3)
        await channel.close()

        async def three() -> bool:
            return _value(registry, "agentcluster_queue_depth", topology.webhook_queue) == 3

        await _eventually(three)
    finally:
        await collector.stop()
    assert opened and opened[0].is_closed


async def test_given_missing_queue_when_collected_then_its_series_is_removed(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    topology = settings.topology()
    await declare_topology(amqp, topology)
    registry = CollectorRegistry()
    collector = BrokerMetricsCollector(amqp, topology, BrokerMetrics(registry), interval=60)
    await collector.collect_once()
    assert _value(registry, "agentcluster_queue_depth", topology.dlx_webhook) == 0

    channel = await amqp.channel()
    await channel.queue_delete(topology.dlx_webhook)
    await channel.close()
    stats = await collector.collect_once()

    assert topology.dlx_webhook not in stats
    assert _value(registry, "agentcluster_queue_depth", topology.dlx_webhook) is None
    assert _value(registry, "agentcluster_queue_consumers", topology.dlx_webhook) is None
    assert _value(registry, "agentcluster_queue_depth", topology.agent_queue) == 0


def _management_transport(seen: list[httpx.Request], unacked: dict[str, int]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        rows = [{"name": name, "messages_unacknowledged": count} for name, count in unacked.items()]
        rows.append({"name": "someone.elses.queue", "messages_unacknowledged": 99})
        return httpx.Response(200, content=json.dumps(rows), headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


async def test_given_management_api_when_collected_then_unacked_is_filled(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    topology = settings.topology()
    await declare_topology(amqp, topology)
    seen: list[httpx.Request] = []
    api = ManagementApi(
        "http://monitor:secret@rabbit.internal:15672/",
        "/",
        transport=_management_transport(seen, {topology.agent_queue: 7}),
    )
    registry = CollectorRegistry()
    collector = BrokerMetricsCollector(amqp, topology, BrokerMetrics(registry), interval=60, management=api)

    stats = await collector.collect_once()
    await api.aclose()

    assert stats[topology.agent_queue].unacked == 7
    assert _value(registry, "agentcluster_queue_unacked", topology.agent_queue) == 7
    assert _value(registry, "agentcluster_queue_unacked", topology.webhook_queue) is None
    assert _value(registry, "agentcluster_queue_unacked", "someone.elses.queue") is None
    assert str(seen[0].url).startswith("http://rabbit.internal:15672/api/queues/%2F")
    assert seen[0].headers["authorization"].startswith("Basic ")
    assert "secret" not in api.safe_url


async def test_given_management_api_down_when_collected_then_depth_still_works(
    amqp: aio_pika.abc.AbstractConnection, settings: Settings
) -> None:
    topology = settings.topology()
    await declare_topology(amqp, topology)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api = ManagementApi("http://rabbit.internal:15672", transport=httpx.MockTransport(refuse))
    registry = CollectorRegistry()
    collector = BrokerMetricsCollector(amqp, topology, BrokerMetrics(registry), interval=60, management=api)

    await collector.collect_once()
    await api.aclose()

    assert _value(registry, "agentcluster_queue_depth", topology.agent_queue) == 0
    assert _value(registry, "agentcluster_queue_unacked", topology.agent_queue) is None


def test_given_non_http_management_url_then_config_error() -> None:
    with pytest.raises(ConfigError, match="RABBITMQ_MANAGEMENT_URL"):
        ManagementApi("amqp://rabbit.internal:5672")
