"""The whole loop: a signed WhatsApp event → webhook → ag_queue → Ray agents → wb_queue → sandbox.

Real RabbitMQ, real Ray Serve, real ADK agents (the offline model), real HTTP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from cluster.settings import Settings
from contracts.codec import FALLBACK_TEXT
from webhook.events import SIGNATURE_HEADER
from webhook.sandbox import inbound_event
from webhook.service import WebhookStack, start_webhook_stack

pytestmark = [pytest.mark.rabbitmq, pytest.mark.ray]

PHONE = "+256703722777"


@pytest_asyncio.fixture
async def loop_settings(runtime_settings: Settings) -> Settings:
    return runtime_settings.model_copy(
        update={"model": "chaos:offline?latency=1.0", "webhook_port": 0, "sandbox_port": 0}
    )


@pytest_asyncio.fixture
async def stack(deploy: Any, loop_settings: Settings) -> AsyncIterator[WebhookStack]:
    await deploy(loop_settings)
    webhook = await start_webhook_stack(loop_settings, serve_metrics_http=False)
    yield webhook
    await webhook.stop()


async def _sent(stack: WebhookStack, count: int, timeout: float = 90.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    sent: list[dict[str, Any]] = []
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            sent = (await http.get(f"{stack.sandbox_url}/sent")).json()
            if len(sent) >= count:
                break
            await asyncio.sleep(0.2)
    return sent


async def _post_signed(stack: WebhookStack, event: dict[str, Any]) -> tuple[httpx.Response, float]:
    secret = stack.settings.webhook_secret.get_secret_value() if stack.settings.webhook_secret else ""
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(f"{stack.webhook_url}/webhook", json=event, headers={SIGNATURE_HEADER: secret})
    return response, time.time()


async def test_given_a_signed_whatsapp_message_then_the_agent_reply_reaches_the_customer(stack: WebhookStack) -> None:
    event = inbound_event(PHONE, "Hi, what are your opening hours?", name="John Doe")

    response, answered_at = await _post_signed(stack, event)
    sent = await _sent(stack, 1)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["processed"]) == ("received", True)
    assert len(sent) == 1
    assert sent[0]["to"] == PHONE
    text = sent[0]["text"].lower()
    assert text != FALLBACK_TEXT.lower() and any(word in text for word in ("open", "hour", "mon", "am")), text
    sent_at = float(sent[0]["at"])
    assert answered_at < sent_at, "the webhook answered before the agent (1 s model) had replied"


async def test_given_the_same_event_twice_then_one_reply(stack: WebhookStack) -> None:
    event = inbound_event(PHONE, "Where are you located?", name="John Doe")

    first, _ = await _post_signed(stack, event)
    second, _ = await _post_signed(stack, event)
    sent = await _sent(stack, 1)
    await asyncio.sleep(3.0)  # give a duplicate every chance to arrive
    sent = await _sent(stack, 2, timeout=0.5)

    assert first.status_code == second.status_code == 200
    assert len(sent) == 1


async def test_given_an_agent_side_failure_then_exactly_one_fallback_message(stack: WebhookStack) -> None:
    event = inbound_event(PHONE, "this will fail #permanent", name="John Doe")

    response, _ = await _post_signed(stack, event)
    sent = await _sent(stack, 1)
    await asyncio.sleep(3.0)  # the error reply and the dead-letter monitor both fire; one send only
    sent = await _sent(stack, 2, timeout=0.5)

    assert response.status_code == 200
    assert [(s["to"], s["text"]) for s in sent] == [(PHONE, FALLBACK_TEXT)]
