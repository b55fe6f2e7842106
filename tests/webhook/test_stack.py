"""The local stack (service + sandbox in-process), the demo, the admin surface and the logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import aio_pika
import httpx
import pytest
from prometheus_client import CollectorRegistry

from cluster.broker import queue_state
from cluster.cli import main
from cluster.commands.demo import run_demo
from cluster.settings import Settings
from webhook.events import SIGNATURE_HEADER
from webhook.sandbox import Sandbox, inbound_event
from webhook.service import start_webhook_stack

from .conftest import SECRET, ServiceFactory, webhook_settings
from .helpers import FakeAgent, eventually

PHONE = "+256703722777"


@pytest.mark.rabbitmq
async def test_given_the_local_stack_when_the_demo_runs_then_each_turn_prints_reply_tools_and_latency(
    amqp: Any, settings: Settings
) -> None:
    registry = CollectorRegistry()
    cfg = settings.model_copy(update={"webhook_port": 0, "sandbox_port": 0, "wasender_send_rate": 1000.0})
    stack = await start_webhook_stack(cfg, registry=registry)
    agent = FakeAgent(amqp, stack.settings)
    await agent.start()
    lines: list[str] = []
    try:
        answered = await run_demo(
            stack.settings,
            stack.sandbox_url,
            messages=(("+256772100200", "Aisha N.", "Can I book a haircut tomorrow?"),),
            patience=30,
            out=lines.append,
        )
        assert stack.metrics_url is not None
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(stack.metrics_url)).text
            health = (await http.get(f"{stack.webhook_url}/health")).json()
    finally:
        await agent.stop()
        await stack.stop()
    assert answered == 1
    [turn] = lines
    assert "Aisha N. (appointment): Can I book a haircut tomorrow?" in turn
    assert "Echo for Aisha N.: Can I book a haircut tomorrow?" in turn and "tools: knowledge_search" in turn
    assert "webhook_published_total 1.0" in metrics
    assert health["status"] == "ok" and all(health["consumers"].values())
    assert len(stack.sandbox.sent) == 1


@pytest.mark.rabbitmq
async def test_given_the_admin_api_when_called_with_and_without_the_secret_then_only_the_secret_works(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory
) -> None:
    service = await start_service(webhook_settings(settings, sandbox.url))
    async with httpx.AsyncClient(base_url=service.url or "") as http:
        refused = await http.put(f"/admin/contacts/{PHONE}", json={"aiEnabled": False})
        done = await http.put(
            f"/admin/contacts/{PHONE}",
            json={"aiEnabled": False, "notes": "VIP"},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        listed = await http.get(f"/admin/contacts/{PHONE}/messages", headers={SIGNATURE_HEADER: SECRET})
    assert refused.status_code == 401
    assert done.json() == {"phone": PHONE, "aiEnabled": False, "notes": "VIP"}
    assert listed.json() == []
    contact = await service.store.contact(PHONE)
    assert contact is not None and contact.ai_enabled is False and contact.notes == "VIP"


@pytest.mark.rabbitmq
async def test_given_an_invalid_reply_on_wb_queue_when_consumed_then_rejected_dropped_and_nothing_sent(
    amqp: Any, settings: Settings, sandbox: Sandbox, alert_sink: Sandbox, start_service: ServiceFactory
) -> None:
    cfg = webhook_settings(settings, sandbox.url, admin_alert_url=f"{alert_sink.url}/alerts")
    service = await start_service(cfg)
    channel = await amqp.channel()
    await channel.default_exchange.publish(aio_pika.Message(b'{"messageId": 1}'), routing_key=cfg.webhook_queue)
    await channel.close()
    await eventually(
        lambda: service.metrics.registry.get_sample_value("webhook_replies_consumed_total", {"status": "invalid"})
    )
    await eventually(lambda: _empty(amqp, cfg.webhook_queue))
    await eventually(lambda: _empty(amqp, cfg.dlx_webhook))
    assert sandbox.sent == [] and alert_sink.alerts == []


async def _empty(amqp: Any, name: str) -> bool:
    state = await queue_state(amqp, name)
    return state is not None and state[0] == 0


@pytest.mark.rabbitmq
async def test_given_a_published_request_when_logged_then_the_spec_event_has_a_masked_phone_and_no_body(
    amqp: Any, settings: Settings, sandbox: Sandbox, start_service: ServiceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    service = await start_service(webhook_settings(settings, sandbox.url))
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient() as http:
        event = inbound_event(PHONE, "my secret order details")
        await http.post(f"{service.url}/webhook", json=event, headers={SIGNATURE_HEADER: SECRET})
    [record] = [r for r in caplog.records if r.getMessage() == "📤 Published to ag_queue"]
    assert record.contact == "+256******777"  # type: ignore[attr-defined]
    assert record.task_type == "order"  # type: ignore[attr-defined]
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    rendered = " ".join(json.dumps(r.__dict__, default=str) for r in info)
    assert "703722777" not in rendered and "secret order details" not in rendered


def test_given_the_contacts_cli_when_ai_off_and_notes_then_the_database_says_so(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEBHOOK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["contacts", "ai-off", "256703722777"]) == 0
    assert main(["contacts", "notes", PHONE, "VIP", "customer"]) == 0
    assert main(["contacts", "show", PHONE]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"{PHONE}: ai=off notes=VIP customer"
