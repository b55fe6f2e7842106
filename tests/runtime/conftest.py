"""Runtime fixtures: one Ray per test session, the app deployed per test on unique queues."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import pytest_asyncio

from cluster.broker import delete_topology
from cluster.settings import Settings
from tests.conftest import require_service, unique_settings

SPEC_EXAMPLE: dict[str, Any] = {
    "messageId": "uuid-v4",
    "timestamp": 1234567890,
    "taskType": "conversation",
    "contact": {
        "remoteJid": "256703722777@s.whatsapp.net",
        "phoneNumber": "+256703722777",
        "name": "John Doe",
        "countryCode": "256",
    },
    "message": {"text": "User's message text", "messageId": "whatsapp-message-id", "timestamp": 1234567890},
    "context": {
        "conversationHistory": [
            {"role": "user", "content": "Previous message 1"},
            {"role": "assistant", "content": "Previous response 1"},
        ],
        "userNotes": "VIP customer - priority support",
        "sessionData": {},
    },
    "metadata": {"priority": "normal", "retryCount": 0, "maxRetries": 3},
}


def make_request(
    text: str = "hello",
    contact: int | str = 0,
    *,
    task: str = "conversation",
    priority: str = "normal",
    max_retries: int = 3,
) -> dict[str, Any]:
    """A spec-shaped request stamped now, with a fresh messageId."""
    phone = f"+2567000{int(contact):05d}" if isinstance(contact, int) else contact
    now = int(time.time())
    body = json.loads(json.dumps(SPEC_EXAMPLE))
    body.update(messageId=str(uuid.uuid4()), timestamp=now, taskType=task)
    body["contact"].update(remoteJid=f"{phone.lstrip('+')}@s.whatsapp.net", phoneNumber=phone)
    body["message"].update(text=text, messageId=f"wa-{uuid.uuid4().hex[:12]}", timestamp=now)
    body["metadata"].update(priority=priority, maxRetries=max_retries)
    return body


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """One local Ray head for the whole session, with pinned logical CPUs."""
    from cluster.runtime import init_ray

    init_ray(num_cpus=4, dashboard=False)
    yield
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


@pytest.fixture
def runtime_settings(tmp_path: Path) -> Settings:
    """Unique queues, the scripted model with fault markers, two small pool replicas."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return unique_settings(
        tmp_path,
        model="chaos:scripted",
        pool_min_replicas=2,
        pool_max_replicas=2,
        concurrent_tasks=4,
        pool_replica_cpus=0.5,
        breaker_threshold=50,
        max_processing_time=30.0,
    )


@pytest_asyncio.fixture
async def deploy(ray_session: None) -> AsyncIterator[Callable[..., Any]]:
    """``await deploy(settings, **hooks)`` deploys the app and waits until it consumes."""
    from cluster import runtime

    deployed: list[Settings] = []

    async def _deploy(settings: Settings, **hooks: Any) -> dict[str, object]:
        await asyncio.to_thread(runtime.deploy, settings, **hooks)
        deployed.append(settings)
        return await asyncio.to_thread(runtime.wait_until_consuming, 180.0)

    yield _deploy
    if deployed:
        from ray import serve

        await asyncio.to_thread(runtime.shutdown_app, 2.0)
        await asyncio.to_thread(serve.delete, "agentcluster")
        settings = deployed[-1]
        connection = await aio_pika.connect_robust(settings.amqp_url())
        await delete_topology(connection, settings.topology())
        await connection.close()


class Broker:
    """A test's own connection: publish requests, collect replies and dead letters."""

    def __init__(self, settings: Settings, connection: aio_pika.abc.AbstractRobustConnection) -> None:
        self.settings = settings
        self.connection = connection

    async def publish(self, body: dict[str, Any] | bytes, **props: Any) -> None:
        """Publish a request (dict → JSON) to ag_queue, persistent."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        channel = await self.connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                data, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, content_type="application/json", **props
            ),
            self.settings.agent_queue,
        )
        await channel.close()

    async def collect(
        self, queue: str, count: int, timeout: float = 60.0
    ) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Take ``count`` messages off ``queue`` (acking them), or fail after ``timeout``."""
        channel = await self.connection.channel()
        q = await channel.get_queue(queue, ensure=False)
        got: list[aio_pika.abc.AbstractIncomingMessage] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            message = await q.get(fail=False, no_ack=True)
            if message is None:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
                continue
            got.append(message)
        await channel.close()
        return got

    async def replies(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """``count`` replies from wb_queue as dicts, with AMQP ids under ``_amqp``."""
        out = []
        for message in await self.collect(self.settings.webhook_queue, count, timeout):
            reply = json.loads(message.body)
            reply["_amqp"] = {
                "message_id": message.message_id,
                "correlation_id": message.correlation_id,
                "content_type": message.content_type,
                "delivery_mode": int(message.delivery_mode),
            }
            out.append(reply)
        return out

    async def depth(self, queue: str) -> int:
        """Ready messages in ``queue``."""
        channel = await self.connection.channel()
        q = await channel.declare_queue(queue, passive=True)
        await channel.close()
        return q.declaration_result.message_count or 0


@pytest_asyncio.fixture
async def broker(runtime_settings: Settings) -> AsyncIterator[Broker]:
    """A connection for the test's own publishing and collecting."""
    connection = await aio_pika.connect_robust(runtime_settings.amqp_url())
    yield Broker(runtime_settings, connection)
    await connection.close()
