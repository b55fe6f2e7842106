"""Fixtures of the webhook tests: the sandbox, an alert receiver, and started services.

Every test gets queue names of its own (the ``settings`` fixture) and a fresh Prometheus
registry per service, so parallel runs and other engineers' tests never collide.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cluster.metrics import WebhookMetrics
from cluster.settings import Settings
from webhook.sandbox import Sandbox
from webhook.service import WebhookService

SECRET = "test-webhook-secret"
_pending_drops: list[tuple[str, str]] = []
API_KEY = "test-wasender-key"


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """The local WhatsApp sandbox, serving on a free port."""
    box = Sandbox(API_KEY, webhook_secret=SECRET)
    await box.start()
    yield box
    await box.stop()


@pytest_asyncio.fixture
async def alert_sink() -> AsyncIterator[Sandbox]:
    """A second sandbox used only as the ADMIN_ALERT_URL receiver."""
    box = Sandbox("unused")
    await box.start()
    yield box
    await box.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[str, str | None]:
    """(database URL, schema) for each store backend; PostgreSQL gets a schema of its own."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'webhook.db'}", None
    url = request.getfixturevalue("postgres_url")
    schema = f"wh_{uuid.uuid4().hex[:10]}"
    _pending_drops.append((url, schema))
    return url, schema


@pytest_asyncio.fixture(autouse=True)
async def _drop_schemas() -> AsyncIterator[None]:
    """Drop the PostgreSQL schemas the test created, after everything else stopped."""
    yield
    while _pending_drops:
        url, schema = _pending_drops.pop()
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


def webhook_settings(settings: Settings, sandbox_url: str, **overrides: object) -> Settings:
    """``settings`` pointed at the sandbox, with a secret, a key and a fast send rate."""
    values: dict[str, object] = {
        "webhook_secret": SecretStr(SECRET),
        "wasender_api_key": SecretStr(API_KEY),
        "wasender_api_url": sandbox_url,
        "wasender_send_rate": 1000.0,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


ServiceFactory = Callable[..., Awaitable[WebhookService]]


@pytest_asyncio.fixture
async def start_service(amqp: object) -> AsyncIterator[ServiceFactory]:
    """Start a :class:`WebhookService` (HTTP on a free port, fresh registry); stopped afterwards."""
    started: list[WebhookService] = []

    async def start(settings: Settings, *, db_schema: str | None = None) -> WebhookService:
        service = WebhookService(settings, WebhookMetrics(CollectorRegistry()), db_schema=db_schema, port=0)
        try:
            await service.start()
        except BaseException:
            await service.stop()
            raise
        started.append(service)
        return service

    yield start
    for service in started:
        await service.stop()
