"""The whole webhook loop over real RabbitMQ and HTTP, with a fake agent side and the sandbox.

Names say Given/When/Then. Waits are bounded polls (``eventually``), never timing assertions.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from cluster.broker import queue_state
from cluster.settings import Settings
from contracts.codec import FALLBACK_TEXT
from webhook.events import SIGNATURE_HEADER
from webhook.sandbox import Sandbox, inbound_event

from .conftest import SECRET, ServiceFactory, webhook_settings
from .helpers import FakeAgent, eventually

pytestmark = pytest.mark.rabbitmq

PHONE = "+256703722777"


async def _post(url: str, event: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    headers = {SIGNATURE_HEADER: secret} if secret is not None else {}
    async with httpx.AsyncClient(timeout=30.0) as http:
        return await http.post(f"{url}/webhook", json=event, headers=headers)


def _sample(service: Any, name: str, **labels: str) -> float:
    return service.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_given_a_signed_event_when_posted_then_the_sandbox_records_the_reply_and_the_webhook_did_not_wait(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory, backend: tuple[str, str | None]
) -> None:
    url, schema = backend
    cfg = webhook_settings(settings, sandbox.url, webhook_database_url=url)
    service = await start_service(cfg, db_schema=schema)
    gate = asyncio.Event()
    agent = FakeAgent(amqp, cfg, gate=gate)
    await agent.start()
    try:
        response = await _post(service.url or "", inbound_event(PHONE, "Are you open on Sunday?", name="John Doe"))
        assert response.status_code == 200
        assert response.json()["status"] == "received" and response.json()["processed"] is True
        await eventually(lambda: agent.requests)
        assert agent.finished == []  # the HTTP 200 came while the agent was still working
        gate.set()
        sent = await eventually(lambda: sandbox.sent)
    finally:
        await agent.stop()
    request = agent.requests[0]
    assert sent == [
        {"msgId": 1, "to": PHONE, "text": "Echo for John Doe: Are you open on Sunday?", "at": sent[0]["at"]}
    ]
    assert request.contact.phone_number == PHONE and request.task_type.value == "conversation"
    assert _sample(service, "webhook_published_total") == 1
    assert _sample(service, "webhook_replies_consumed_total", status="success") == 1
    await eventually(lambda: _sample(service, "webhook_queue_latency_seconds_count") == 1)  # sent is recorded
    outgoing = [m for m in await service.store.messages(PHONE) if m.direction == "out"]
    assert outgoing[0].agent_metadata is not None and outgoing[0].agent_metadata["toolsUsed"] == ["knowledge_search"]


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
async def test_given_a_missing_or_wrong_signature_when_posted_then_401_and_nothing_stored_or_published(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory, secret: str | None
) -> None:
    service = await start_service(webhook_settings(settings, sandbox.url))
    response = await _post(service.url or "", inbound_event(PHONE, "hello"), secret=secret)
    assert response.status_code == 401
    assert await service.store.contact(PHONE) is None
    assert await queue_state(amqp, settings.agent_queue) == (0, 0)


async def test_given_the_same_event_twice_when_posted_then_one_request_and_one_reply(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory, backend: tuple[str, str | None]
) -> None:
    url, schema = backend
    cfg = webhook_settings(settings, sandbox.url, webhook_database_url=url)
    service = await start_service(cfg, db_schema=schema)
    event = inbound_event(PHONE, "Where is my order?", event_id="DUPLICATE-1")
    first = await _post(service.url or "", event)
    second = await _post(service.url or "", event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["outcomes"] == ["duplicate"]
    assert await queue_state(amqp, settings.agent_queue) == (1, 0)  # confirmed publishes: only one is there
    agent = FakeAgent(amqp, cfg)
    await agent.start()
    try:
        await eventually(lambda: sandbox.sent)
    finally:
        await agent.stop()
    assert len(agent.requests) == 1 and len(sandbox.sent) == 1


async def test_given_the_agent_publishes_a_reply_twice_when_consumed_then_the_customer_gets_it_once(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url)
    service = await start_service(cfg)
    agent = FakeAgent(amqp, cfg, mode="twice")
    await agent.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "hello"))
        await eventually(lambda: _sample(service, "webhook_replies_consumed_total", status="success") == 2)
        await eventually(lambda: queue_state(amqp, settings.webhook_queue), every=0.1)
    finally:
        await agent.stop()
    assert len(sandbox.sent) == 1


async def test_given_ai_off_for_a_contact_when_it_writes_then_stored_and_nothing_published(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    service = await start_service(webhook_settings(settings, sandbox.url))
    await service.store.update_contact(PHONE, ai_enabled=False)
    response = await _post(service.url or "", inbound_event(PHONE, "Hi, is anyone there?"))
    assert response.status_code == 200 and response.json()["outcomes"] == ["ai_off"]
    assert [m.text for m in await service.store.messages(PHONE)] == ["Hi, is anyone there?"]
    assert await queue_state(amqp, settings.agent_queue) == (0, 0)
    assert _sample(service, "webhook_published_total") == 0


async def test_given_sandbox_answers_500_then_429_when_a_reply_is_sent_then_it_is_delivered_once(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url)
    service = await start_service(cfg)
    sandbox.fail_next(500)
    sandbox.fail_next(429, retry_after=0.2)
    agent = FakeAgent(amqp, cfg)
    await agent.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "Book me for Friday", name="John Doe"))
        sent = await eventually(lambda: sandbox.sent)
    finally:
        await agent.stop()
    assert [s["text"] for s in sent] == ["Echo for John Doe: Book me for Friday"]
    assert sandbox.attempts == 3  # 500, 429, 200
    assert _sample(service, "webhook_send_failures_total", reason="unavailable") == 1
    assert await eventually(lambda: _state_is(service, _key(agent), "sent"))


async def _state_is(service: Any, key: str, state: str) -> bool:
    return bool(await service.ledger.state(key) == state)


def _key(agent: FakeAgent) -> str:
    from webhook.ledger import delivery_key

    return delivery_key(agent.requests[0].message_id)


async def test_given_the_sandbox_down_beyond_all_retries_when_a_reply_is_due_then_exactly_one_admin_alert(
    amqp: Any, settings: Settings, sandbox: Sandbox, alert_sink: Sandbox, start_service: ServiceFactory
) -> None:
    await sandbox.stop()  # connection refused from now on
    cfg = webhook_settings(settings, sandbox.url, admin_alert_url=f"{alert_sink.url}/alerts")
    service = await start_service(cfg)
    agent = FakeAgent(amqp, cfg, mode="twice")  # a duplicate copy must not alert twice either
    await agent.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "hello"))
        await eventually(lambda: alert_sink.alerts, within=60)
        await eventually(lambda: _queues_empty(amqp, cfg), every=0.2, within=60)
    finally:
        await agent.stop()
    assert len(alert_sink.alerts) == 1
    alert = alert_sink.alerts[0]
    assert alert["event"] == "webhook.delivery_failed" and alert["contact"] == "+256******777"
    assert alert["attempts"] == cfg.max_retries + 1
    assert await service.ledger.state(_key(agent)) == "abandoned"


async def _queues_empty(amqp: Any, cfg: Settings) -> bool:
    """Every queue drained, but the ``dlx_agent`` queue, which keeps dead letters for operators."""
    topology = cfg.topology()
    names = [q.name for q in topology.queues if q.name != topology.dlx_agent] + [f"{topology.dlx_agent}.monitor"]
    for name in names:
        state = await queue_state(amqp, name)
        if state is not None and state[0]:
            return False
    return True


async def test_given_a_request_dead_lettered_by_the_agent_side_when_monitored_then_exactly_one_fallback(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url)
    service = await start_service(cfg)
    rejecting = FakeAgent(amqp, cfg, mode="reject")
    await rejecting.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "hello"))
        sent = await eventually(lambda: sandbox.sent)
        await eventually(lambda: _queues_empty(amqp, cfg), every=0.2)
    finally:
        await rejecting.stop()
    assert sent == [{"msgId": 1, "to": PHONE, "text": FALLBACK_TEXT, "at": sent[0]["at"]}]
    kept = await queue_state(amqp, cfg.dlx_agent)
    assert kept is not None and kept[0] == 1, "the dead letter stays in dlx_agent for `agentcluster dlq`"


async def test_given_an_error_reply_and_a_dead_letter_for_one_request_when_both_arrive_then_one_fallback(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url)
    service = await start_service(cfg)
    erroring = FakeAgent(amqp, cfg, mode="error+reject")
    await erroring.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "hello"))
        await eventually(lambda: sandbox.sent)
        await eventually(lambda: erroring.finished)
        await eventually(lambda: _queues_empty(amqp, cfg), every=0.2)
    finally:
        await erroring.stop()
    assert [s["text"] for s in sandbox.sent] == [FALLBACK_TEXT]
    assert _sample(service, "webhook_replies_consumed_total", status="error") >= 1


async def test_given_the_service_restarted_mid_stream_when_replies_flow_then_nothing_lost_nothing_twice(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url, wasender_send_rate=10.0, drain_timeout=0.2)
    first = await start_service(cfg)
    gate = asyncio.Event()  # replies start flowing once every message is in
    agent = FakeAgent(amqp, cfg, gate=gate)
    await agent.start()
    phones = [f"+2567037{i:05d}" for i in range(4)]
    texts = [f"message {n} from {phone}" for n in range(5) for phone in phones]
    for text in texts:
        response = await _post(first.url or "", inbound_event(text.split()[-1], text))
        assert response.status_code == 200
    gate.set()
    await eventually(lambda: len(sandbox.sent) >= 3)
    await first.stop()  # mid-stream: some sent, some in flight, some still queued
    sent_before = len(sandbox.sent)
    second = await start_service(cfg)
    try:
        await eventually(lambda: len(sandbox.sent) == len(texts), within=60)
        await eventually(lambda: _queues_empty(amqp, cfg), every=0.2)
    finally:
        await agent.stop()
    assert sent_before < len(texts)
    assert sorted(s["text"] for s in sandbox.sent) == sorted(f"Echo for you: {t}" for t in texts)
    assert len(agent.requests) == len(texts)
    assert second.url


async def test_given_ag_queue_missing_when_an_event_arrives_then_503_and_the_wasender_retry_publishes_it(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url)
    service = await start_service(cfg)
    channel = await amqp.channel()
    await channel.queue_delete(cfg.agent_queue)  # the mandatory publish is now returned as unroutable
    event = inbound_event(PHONE, "Is my order ready?", event_id="RETRIED-1")
    failed = await _post(service.url or "", event)
    assert failed.status_code == 503
    assert _sample(service, "webhook_publish_failures_total") == 1
    assert [m.published for m in await service.store.messages(PHONE)] == [False]  # stored, not lost
    spec = next(q for q in cfg.topology().main_queues if q.name == cfg.agent_queue)
    await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
    await channel.close()
    retried = await _post(service.url or "", event)  # Wasender retries a non-2xx delivery
    assert retried.status_code == 200 and retried.json()["outcomes"] == ["published"]
    assert await queue_state(amqp, cfg.agent_queue) == (1, 0)
    assert [m.published for m in await service.store.messages(PHONE)] == [True]


async def test_given_wasender_refuses_the_number_when_a_reply_is_due_then_no_retry_and_the_admin_gets_a_whatsapp(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    admin = "+256700000001"
    cfg = webhook_settings(settings, sandbox.url, admin_phone=admin)
    service = await start_service(cfg)
    sandbox.fail_next(422)  # Wasender: invalid recipient
    agent = FakeAgent(amqp, cfg)
    await agent.start()
    try:
        await _post(service.url or "", inbound_event(PHONE, "hello"))
        [alert] = await eventually(lambda: sandbox.sent)
        await eventually(lambda: _queues_empty(amqp, cfg), every=0.2)
    finally:
        await agent.stop()
    assert alert["to"] == admin and "+256******777" in alert["text"] and "delivery_rejected" in alert["text"]
    assert sandbox.attempts == 2  # the refused send and the admin's message: no retries of a 4xx
    assert _sample(service, "webhook_send_failures_total", reason="rejected") == 1
    assert await service.ledger.state(_key(agent)) == "rejected"
