"""Faults on the real pipeline: killed replicas, dropped connections, stops, breaker, watchdog."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from tests.runtime.conftest import Broker, make_request

pytestmark = [pytest.mark.rabbitmq, pytest.mark.ray]

T = TypeVar("T")


async def _pool_pids() -> set[int]:
    from ray import serve

    handle = serve.get_deployment_handle("AgentPool", app_name="agentcluster")
    pids = set()
    for _ in range(20):
        health = await handle.health.remote()
        pids.add(int(health["pid"]))
    return pids


def _close_connections(fragment: str) -> int:
    """Close the broker connections whose name contains ``fragment``; returns how many."""
    out = subprocess.run(
        ["rabbitmqctl", "list_connections", "pid", "client_properties", "-q"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    closed = 0
    for line in out.splitlines():
        if fragment in line:
            pid = line.split("\t", 1)[0].strip()
            subprocess.run(
                ["rabbitmqctl", "close_connection", pid, "test"], check=True, timeout=60, capture_output=True
            )
            closed += 1
    return closed


def _answered(replies: list[dict[str, Any]]) -> dict[str, set[str]]:
    by_original: dict[str, set[str]] = {}
    for reply in replies:
        by_original.setdefault(reply["originalMessageId"], set()).add(reply["messageId"])
    return by_original


async def _stream_with_fault(
    broker: Broker, requests: list[dict[str, Any]], pause: float, fault: Callable[[], Awaitable[T]]
) -> T:
    """Publish half the requests, let them get going, inject ``fault``, publish the rest."""
    half = len(requests) // 2
    for request in requests[:half]:
        await broker.publish(request)
    await asyncio.sleep(pause)
    outcome = await fault()
    for request in requests[half:]:
        await broker.publish(request)
    return outcome


async def _drain_replies(broker: Broker, expected: int, timeout: float) -> list[dict[str, Any]]:
    replies = await broker.replies(expected, timeout=timeout)
    replies += await broker.replies(expected, timeout=1.0)  # any duplicates that trail behind
    return replies


async def test_given_a_pool_replica_killed_mid_stream_then_nothing_is_lost(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    requests = [make_request(f"msg {i} #sleep=0.1", i % 10) for i in range(60)]
    pids = await _pool_pids()
    victim = sorted(pids)[0]
    await _stream_with_fault(broker, requests, 0.5, lambda: asyncio.to_thread(os.kill, victim, signal.SIGKILL))

    replies = await _drain_replies(broker, 60, timeout=180)

    answered = _answered(replies)
    assert set(answered) == {r["messageId"] for r in requests}, "a request was lost"
    assert all(len(ids) == 1 for ids in answered.values()), "replies of one request carry one id"
    assert all(r["status"] == "success" for r in replies)
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_the_ingress_replica_killed_mid_stream_then_workers_reattach_and_nothing_is_lost(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    from cluster import runtime

    await deploy(runtime_settings)
    requests = [make_request(f"msg {i} #sleep=0.1", i % 10) for i in range(40)]
    before = await asyncio.to_thread(runtime.ingress_status)
    # Serve restarts the replica; the broker redelivers its unacked work.
    pid = int(before["pid"])
    await _stream_with_fault(broker, requests, 0.5, lambda: asyncio.to_thread(os.kill, pid, signal.SIGKILL))

    replies = await _drain_replies(broker, 40, timeout=240)
    after = await asyncio.to_thread(runtime.ingress_status)

    answered = _answered(replies)
    assert set(answered) == {r["messageId"] for r in requests}, "a request was lost"
    assert all(len(ids) == 1 for ids in answered.values()), "a redelivered request keeps its reply id"
    assert after["pid"] != before["pid"]
    assert len(after["dispatch"]["replicas"]) == 2 and after["dispatch"]["publisher_attached"], after["dispatch"]
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_broker_connections_closed_mid_stream_then_nothing_lost_and_consumption_resumes(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    requests = [make_request(f"msg {i} #sleep=0.05", i % 10) for i in range(60)]
    queue = runtime_settings.agent_queue
    closed = await _stream_with_fault(broker, requests, 0.3, lambda: asyncio.to_thread(_close_connections, queue))

    replies = await _drain_replies(broker, 60, timeout=180)

    assert closed == 2, "the ingress and the publisher connections"
    answered = _answered(replies)
    assert set(answered) == {r["messageId"] for r in requests}
    assert all(len(ids) == 1 for ids in answered.values())
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_work_in_flight_when_drained_then_nothing_lost_nor_dead_lettered(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    from cluster import runtime

    await deploy(runtime_settings)
    requests = [make_request(f"slow {i} #sleep=0.5", i) for i in range(40)]
    for request in requests:
        await broker.publish(request)
    await asyncio.sleep(1.0)

    counts = await asyncio.to_thread(runtime.drain, 0.2)

    replies = await broker.replies(40, timeout=3)
    left = await broker.depth(runtime_settings.agent_queue)
    assert counts["dead_lettered"] == 0
    assert len(replies) + left == 40, f"replies={len(replies)} left={left}: something was lost"
    assert left > 0, "the drain stopped before everything was answered"
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_the_provider_down_then_the_breaker_stops_consumption_without_burning_retries(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    from cluster import runtime

    settings = runtime_settings.model_copy(update={"breaker_threshold": 3, "breaker_cooldown": 60.0})
    await deploy(settings)
    for i in range(12):
        await broker.publish(make_request(f"down #transient-until=99 {i}", i, max_retries=10))

    status: dict[str, object] = {}
    for _ in range(100):
        status = await asyncio.to_thread(runtime.ingress_status)
        if status["breaker"] == "open":
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    status = await asyncio.to_thread(runtime.ingress_status)

    assert status["breaker"] == "open" and status["consuming"] is False
    assert await broker.depth(settings.agent_queue) > 0, "requests wait safely in ag_queue"
    assert int(status["retried"]) < 12, "requests waiting behind the open breaker burned no retry"


async def test_given_the_consumer_cancelled_server_side_then_the_watchdog_restores_it(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    channel = await broker.connection.channel()
    await channel.queue_delete(runtime_settings.agent_queue)  # cancels the consumer server-side
    await channel.close()

    for _ in range(100):
        await asyncio.sleep(0.2)
        try:
            state = await broker.depth(runtime_settings.agent_queue)
        except Exception:
            continue
        if state is not None:
            break
    request = make_request("are you back?", 1)
    await broker.publish(request)
    [reply] = await broker.replies(1, timeout=60)
    assert reply["originalMessageId"] == request["messageId"]
