"""Shared fixtures: real RabbitMQ and PostgreSQL, unique queue names, one Ray per session.

Real-service tests fail, not skip, when ``CI=true``: a green CI must mean the services ran.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cluster.settings import Settings, load_settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail under CI, skip elsewhere, when a service the test needs is down."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def unique_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings with queue names of their own and retry delays scaled down for tests."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "agent_queue": f"test.ag.{suffix}",
        "webhook_queue": f"test.wb.{suffix}",
        "dlx_agent": f"test.dlxa.{suffix}",
        "dlx_webhook": f"test.dlxw.{suffix}",
        "retry_delay": 0.2,
        "retry_backoff": 2.0,
        "breaker_cooldown": 0.5,
        "drain_timeout": 5.0,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'business.db'}",
        "webhook_database_url": f"sqlite+aiosqlite:///{tmp_path / 'webhook.db'}",
        "metrics_port": 0,
        "webhook_metrics_port": 0,
        "log_format": "text",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def rabbitmq() -> None:
    """Require the RabbitMQ on 127.0.0.1:5672."""
    require_service("RabbitMQ", "127.0.0.1", 5672)


@pytest.fixture
def postgres_url() -> str:
    """The local PostgreSQL's URL (trust auth, database ``test``)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return PG_URL


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with unique queue names (nothing declared yet)."""
    return unique_settings(tmp_path)


@pytest_asyncio.fixture
async def amqp(rabbitmq: None, settings: Settings) -> AsyncIterator[object]:
    """A robust connection; every queue of ``settings`` is deleted afterwards."""
    from cluster.broker import connect, delete_topology

    connection = await connect(settings, name="pytest")
    try:
        yield connection
    finally:
        await delete_topology(connection, settings.topology())
        await connection.close()
