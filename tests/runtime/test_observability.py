"""Metrics and logs of the ingress, driven in-process over the real broker and a real engine.

The Ingress, the AgentPoolReplica (a real ADK engine) and the ReplyPublisher are the same
classes the Serve deployments wrap; here they run in the test's process so the test can
read the fresh metrics registry over HTTP and capture every log record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from actors.pool import AgentPoolReplica
from actors.publisher import ReplyPublisher
from cluster.broker import delete_topology
from cluster.broker_metrics import BrokerMetricsCollector
from cluster.metrics import BrokerMetrics, ClusterMetrics, serve_metrics
from cluster.settings import Settings
from ingress.service import Ingress
from tests.conftest import unique_settings
from tests.runtime.conftest import Broker, make_request

pytestmark = [pytest.mark.rabbitmq]


class Stack:
    """An in-process ingress with its metrics endpoint."""

    def __init__(self, settings: Settings, ingress: Ingress, url: str, collector: BrokerMetricsCollector) -> None:
        self.settings, self.ingress, self.url, self.collector = settings, ingress, url, collector

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with httpx.AsyncClient() as client:
            text = (await client.get(self.url)).text
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples


@pytest_asyncio.fixture
async def stack(rabbitmq: None, tmp_path: Path) -> AsyncIterator[Stack]:
    settings = unique_settings(
        tmp_path, model="chaos:offline", concurrent_tasks=4, pool_max_replicas=1, broker_metrics_interval=0.2
    )
    registry = CollectorRegistry()
    port = serve_metrics(0, registry, addr="127.0.0.1")
    pool = AgentPoolReplica(settings)
    await pool.start()
    publisher = ReplyPublisher(settings)
    await publisher.start()
    ingress = Ingress(settings, pool, publisher, ClusterMetrics(registry), watchdog_interval=0.5)
    await ingress.start()
    collector = BrokerMetricsCollector.from_settings(settings, BrokerMetrics(registry), interval=0.2)
    await collector.start()
    yield Stack(settings, ingress, f"http://127.0.0.1:{port}/metrics", collector)
    await collector.stop()
    await ingress.drain(2.0)
    await publisher.stop()
    await pool.stop()
    connection = await aio_pika.connect_robust(settings.amqp_url())
    await delete_topology(connection, settings.topology())
    await connection.close()


@pytest_asyncio.fixture
async def client(stack: Stack) -> AsyncIterator[Broker]:
    connection = await aio_pika.connect_robust(stack.settings.amqp_url())
    yield Broker(stack.settings, connection)
    await connection.close()


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_given_known_traffic_when_scraped_over_http_then_every_counter_matches(
    stack: Stack, client: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    q_ag, q_wb = stack.settings.agent_queue, stack.settings.webhook_queue
    ok = [
        make_request(text, 100 + i)
        for i, text in enumerate(["What are your opening hours?", "Where are you located?", "Hello there!"])
    ]
    retried = make_request("Where are you located? #transient-until=1", 200)
    dead = make_request("Hi #permanent", 201)
    for request in [*ok, retried, dead]:
        await client.publish(request)
    await client.publish(b"\xff\xfe not utf-8")

    replies = await client.replies(5, timeout=60)
    dead_letters = await client.collect(stack.settings.dlx_agent, 2, timeout=30)
    await asyncio.sleep(0.3)
    samples = await stack.scrape()

    statuses = sorted(r["status"] for r in replies)
    assert statuses == ["error", "success", "success", "success", "success"]
    assert len(dead_letters) == 2
    consumed = sum(v for (name, _), v in samples.items() if name == "agentcluster_messages_consumed_total")
    assert consumed == 7, "5 valid deliveries + 1 redelivered retry + 1 poison"
    assert _value(samples, "agentcluster_messages_consumed_total", queue=q_ag, task_type="invalid") == 1
    assert _value(samples, "agentcluster_messages_published_total", queue=q_wb, status="success") == 4
    assert _value(samples, "agentcluster_messages_published_total", queue=q_wb, status="error") == 1
    assert _value(samples, "agentcluster_retries_total") == 1
    assert _value(samples, "agentcluster_dead_letters_total", reason="AGENT_FAILED") == 1
    assert _value(samples, "agentcluster_dead_letters_total", reason="invalid") == 1
    assert _value(samples, "agentcluster_failures_total", type="MODEL_UNAVAILABLE") == 1
    assert _value(samples, "agentcluster_processing_seconds_count", task_type="conversation") == 4
    tools = {
        dict(labels)["tool"]: v for (name, labels), v in samples.items() if name == "agentcluster_tools_used_total"
    }
    from_replies: dict[str, float] = {}
    for reply in replies:
        for tool in reply["agentMetadata"]["toolsUsed"]:
            from_replies[tool] = from_replies.get(tool, 0) + 1
    assert tools == from_replies and tools, "tool counter matches the tools the replies report"
    assert _value(samples, "agentcluster_tokens_total", task_type="conversation") > 0
    assert _value(samples, "agentcluster_in_flight") == 0
    assert _value(samples, "agentcluster_breaker_open") == 0

    # Logs: the spec's events, masked phone numbers, no message bodies at INFO.
    messages = [r.getMessage() for r in caplog.records]
    assert any("Consumed from ag_queue" in m for m in messages)
    assert any("Published to wb_queue" in m for m in messages)
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    rendered = " ".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in info)
    for request in [*ok, retried, dead]:
        assert request["contact"]["phoneNumber"] not in rendered, "a full phone number was logged"
        assert request["message"]["text"] not in rendered, "a message body was logged at INFO"
    assert re.search(r"\+256\*+\d{3}", rendered), "phone numbers appear masked"


async def test_given_a_queue_filled_and_drained_then_depth_and_consumers_follow(stack: Stack, client: Broker) -> None:
    name = stack.settings.dlx_webhook  # a queue no one consumes

    async def depth_and_consumers() -> tuple[float, float]:
        await asyncio.sleep(0.5)
        samples = await stack.scrape()
        return (
            _value(samples, "agentcluster_queue_depth", queue=name),
            _value(samples, "agentcluster_queue_consumers", queue=stack.settings.agent_queue),
        )

    channel = await client.connection.channel()
    for i in range(5):
        await channel.default_exchange.publish(aio_pika.Message(f"{i}".encode()), name)
    filled, consumers = await depth_and_consumers()
    await (await channel.get_queue(name)).purge()
    drained, _ = await depth_and_consumers()

    assert (filled, drained) == (5, 0)
    assert consumers == 1, "the ingress is ag_queue's one consumer"
