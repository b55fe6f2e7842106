"""The pipeline on real RabbitMQ and real Ray: ag_queue → Ingress → AgentPool → Publisher → wb_queue."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from collections import defaultdict
from typing import Any

import pytest
import ray

from actors.probe import InFlightProbe
from cluster.commands import status
from contracts.codec import reply_id
from tests.runtime.conftest import SPEC_EXAMPLE, Broker, make_request

pytestmark = [pytest.mark.rabbitmq, pytest.mark.ray]


@pytest.mark.parametrize("dispatch", ["direct", "serve"])
async def test_given_the_spec_example_when_consumed_then_a_full_reply_with_deterministic_ids(
    deploy: Any, runtime_settings: Any, broker: Broker, dispatch: str
) -> None:
    settings = runtime_settings.model_copy(update={"model": "offline", "dispatch": dispatch})
    await deploy(settings)
    body = json.loads(json.dumps(SPEC_EXAMPLE))
    body["messageId"] = str(uuid.uuid4())
    body["timestamp"] = body["message"]["timestamp"] = int(__import__("time").time())
    body["message"]["text"] = "Hi! What are your opening hours?"
    await broker.publish(body)

    [reply] = await broker.replies(1)

    assert reply["messageId"] == reply_id(body["messageId"])
    assert reply["originalMessageId"] == body["messageId"]
    assert reply["status"] == "success"
    assert reply["contact"] == {k: body["contact"][k] for k in ("remoteJid", "phoneNumber", "name")}
    assert reply["response"]["type"] == "text" and reply["response"]["text"]
    assert reply["response"]["attachments"] == []
    meta = reply["agentMetadata"]
    assert set(meta) == {"toolsUsed", "reasoningSteps", "processingTime", "tokensUsed"}
    assert meta["toolsUsed"], "the offline model answers opening hours with a tool"
    assert meta["tokensUsed"] > 0 and meta["processingTime"] > 0
    assert reply["error"] is None
    amqp = reply["_amqp"]
    assert amqp == {
        "message_id": reply["messageId"],
        "correlation_id": body["messageId"],
        "content_type": "application/json",
        "delivery_mode": 2,
    }

    report = await asyncio.to_thread(status.collect, settings, "auto")
    text = "\n".join(status.render(report))
    assert report["healthy"] and report["ingress"]["dispatch"]["mode"] == dispatch, text
    if dispatch == "direct":
        assert "publisher attached" in text and text.count("pool replica") == 2, text
        port = report["ingress"]["metrics_port"]
        scraped = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read())
        assert b'agentcluster_workers_attached{role="pool"} 2.0' in scraped
        assert b'agentcluster_workers_attached{role="publisher"} 1.0' in scraped


@pytest.mark.parametrize("dispatch", ["direct", "serve"])
async def test_given_200_requests_from_20_contacts_then_single_flight_and_ordered_replies(
    deploy: Any, runtime_settings: Any, broker: Broker, dispatch: str
) -> None:
    probe_name = f"probe-{uuid.uuid4().hex[:8]}"
    probe = ray.remote(InFlightProbe).options(name=probe_name, num_cpus=0).remote()
    await deploy(runtime_settings.model_copy(update={"dispatch": dispatch}), probe=probe_name)
    sent: dict[str, list[str]] = defaultdict(list)
    for i in range(200):
        contact = i % 20
        request = make_request(f"message {i} #sleep=0.02", contact)
        sent[request["contact"]["remoteJid"]].append(request["messageId"])
        await broker.publish(request)

    replies = await broker.replies(200, timeout=120)

    assert len(replies) == 200
    received: dict[str, list[str]] = defaultdict(list)
    for reply in replies:
        assert reply["status"] == "success", reply
        received[reply["contact"]["remoteJid"]].append(reply["originalMessageId"])
    assert received == sent, "each contact's replies leave in arrival order"
    report = await probe.report.remote()
    assert report["violations"] == [], "two requests of one contact were in flight at once"
    assert report["max_parallel"] > 1, "different contacts must run in parallel"
    assert report["begins"] == 200
    if dispatch == "direct":
        from cluster import runtime

        status = (await asyncio.to_thread(runtime.ingress_status))["dispatch"]
        replicas = status["replicas"]
        assert len(replicas) == 2 and status["publisher_attached"], status
        assert sum(replica["done"] for replica in replicas) >= 200, "every run went over the dispatch streams"
        assert all(replica["done"] > 0 for replica in replicas), "both replicas took work"


async def test_given_a_transient_failure_when_retried_on_the_scaled_schedule_then_it_succeeds(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    request = make_request("please answer #transient-until=2", 1)
    await broker.publish(request)

    [reply] = await broker.replies(1, timeout=60)

    assert reply["status"] == "success"
    assert reply["originalMessageId"] == request["messageId"]
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_retries_exhausted_then_one_error_reply_and_one_dead_letter_with_reason(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    request = make_request("never works #transient-until=99", 2, max_retries=2)
    await broker.publish(request)

    [reply] = await broker.replies(1, timeout=60)
    dead = await broker.collect(runtime_settings.dlx_agent, 1, timeout=30)

    assert reply["status"] == "error" and reply["error"]["code"] == "MODEL_UNAVAILABLE"
    assert reply["messageId"] == reply_id(request["messageId"])
    assert len(dead) == 1
    assert "gave up after 2 retries" in dead[0].headers["x-agentcluster-reason"]
    assert json.loads(dead[0].body)["metadata"]["retryCount"] == 2
    await asyncio.sleep(0.5)
    assert await broker.replies(1, timeout=0.5) == [], "exactly one reply"


async def test_given_a_permanent_failure_then_one_error_reply_and_a_dead_letter(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    request = make_request("broken #permanent", 3)
    await broker.publish(request)

    [reply] = await broker.replies(1, timeout=60)
    dead = await broker.collect(runtime_settings.dlx_agent, 1, timeout=30)

    assert reply["status"] == "error" and reply["error"]["code"] == "AGENT_FAILED"
    assert len(dead) == 1 and dead[0].headers["x-agentcluster-error-code"] == "AGENT_FAILED"


async def test_given_a_poison_message_then_it_is_dead_lettered_and_the_service_keeps_serving(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings)
    bad = make_request("x", 4)
    bad["taskType"] = "astrology"
    await broker.publish(bad)
    await broker.publish(b"{not json")
    good = make_request("hello after poison", 5)
    await broker.publish(good)

    replies = await broker.replies(2, timeout=60)
    dead = await broker.collect(runtime_settings.dlx_agent, 2, timeout=30)

    by_original = {r["originalMessageId"]: r for r in replies}
    assert by_original[bad["messageId"]]["status"] == "error"
    assert "taskType" in by_original[bad["messageId"]]["error"]["message"]
    assert by_original[good["messageId"]]["status"] == "success"
    reasons = sorted(m.headers["x-agentcluster-reason"] for m in dead)
    assert any("invalid JSON" in r for r in reasons) and any("taskType" in r for r in reasons)


async def test_given_a_publisher_that_fails_first_then_nothing_acked_early_and_one_reply_each(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    await deploy(runtime_settings, publisher_fail_first=5)
    requests = [make_request(f"hello {i}", 10 + i) for i in range(10)]
    for request in requests:
        await broker.publish(request)

    replies = await broker.replies(10, timeout=60)
    await asyncio.sleep(1.0)
    extra = await broker.replies(5, timeout=0.5)

    assert sorted(r["originalMessageId"] for r in replies) == sorted(r["messageId"] for r in requests)
    assert extra == [], "a request was answered twice"
    assert await broker.depth(runtime_settings.agent_queue) == 0
    assert await broker.depth(runtime_settings.dlx_agent) == 0


async def test_given_priorities_when_one_worker_then_urgent_runs_first(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    settings = runtime_settings.model_copy(
        update={"pool_min_replicas": 1, "pool_max_replicas": 1, "concurrent_tasks": 1, "prefetch": 20}
    )
    await deploy(settings)
    blocker = make_request("slow #sleep=1.0", 20)
    await broker.publish(blocker)
    await asyncio.sleep(0.5)
    normal = [make_request(f"n{i}", 21 + i) for i in range(3)]
    urgent = make_request("urgent!", 30, priority="urgent")
    for request in [*normal, urgent]:
        await broker.publish(request)

    replies = await broker.replies(5, timeout=60)

    order = [r["originalMessageId"] for r in replies]
    assert order[0] == blocker["messageId"]
    assert order[1] == urgent["messageId"], "the urgent request overtakes waiting normal ones"


async def test_given_load_when_the_pool_autoscales_then_it_grows_from_min_towards_max(
    deploy: Any, runtime_settings: Any, broker: Broker
) -> None:
    from ray import serve

    settings = runtime_settings.model_copy(
        update={"pool_min_replicas": 1, "pool_max_replicas": 2, "concurrent_tasks": 2, "prefetch": 40}
    )
    await deploy(settings)

    def replicas() -> int:
        app = serve.status().applications["agentcluster"]
        return int(app.deployments["AgentPool"].replica_states.get("RUNNING", 0))

    assert await asyncio.to_thread(replicas) == 1
    requests = [make_request(f"busy {i} #sleep=1.0", i) for i in range(40)]
    for request in requests:
        await broker.publish(request)
    seen = 1
    for _ in range(120):
        seen = max(seen, await asyncio.to_thread(replicas))
        if seen == 2:
            break
        await asyncio.sleep(0.5)
    replies = await broker.replies(40, timeout=120)

    assert seen == 2, "the pool did not scale up under load"
    assert len(replies) == 40
