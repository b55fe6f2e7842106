"""Fixtures of the agent tests: requests, started engines, and the two database backends.

``database_url`` is parametrised over SQLite (a file in ``tmp_path``) and the local PostgreSQL
(a schema of its own, dropped afterwards, so parallel runs never see each other's rows).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from google.adk.models.base_llm import BaseLlm
from sqlalchemy.ext.asyncio import create_async_engine

from agents import AgentEngine
from cluster.settings import Settings
from contracts.models import AgentRequest
from tests.conftest import unique_settings

PHONE = "+256703722777"
OTHER_PHONE = "+256772123456"


def today() -> date:
    """Today in the business's time zone (what the tools and the offline model use)."""
    return datetime.now(ZoneInfo("Africa/Kampala")).date()


def next_open_day(min_days: int = 1) -> date:
    """The first day at least ``min_days`` ahead on which the salon is open (not a Sunday)."""
    day = today() + timedelta(days=min_days)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return day


def make_request(
    task: str,
    text: str,
    *,
    message_id: str | None = None,
    phone: str = PHONE,
    name: str = "John Doe",
    retry_count: int = 0,
    history: tuple[tuple[str, str], ...] = (),
) -> AgentRequest:
    """A spec-shaped ag_queue request."""
    return AgentRequest.model_validate(
        {
            "messageId": message_id or str(uuid.uuid4()),
            "timestamp": 1_764_000_000,
            "taskType": task,
            "contact": {"remoteJid": f"{phone.lstrip('+')}@s.whatsapp.net", "phoneNumber": phone, "name": name},
            "message": {"text": text, "messageId": "wamid-" + uuid.uuid4().hex[:8], "timestamp": 1_764_000_000},
            "context": {
                "conversationHistory": [{"role": r, "content": c} for r, c in history],
                "userNotes": "Prefers afternoon appointments",
                "sessionData": {"source": "test"},
            },
            "metadata": {"priority": "normal", "retryCount": retry_count, "maxRetries": 3},
        }
    )


EngineFactory = Callable[..., Any]


@pytest.fixture
def engine_factory(tmp_path: Path) -> Callable[..., Any]:
    """``async with engine_factory(model, **settings) as engine``: a started engine, stopped afterwards."""

    @asynccontextmanager
    async def factory(model: BaseLlm | None = None, **overrides: object) -> AsyncIterator[AgentEngine]:
        settings = unique_settings(tmp_path, **overrides)
        engine = AgentEngine(settings, model)
        await engine.start()
        try:
            yield engine
        finally:
            await engine.stop()

    return factory


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings with a unique SQLite database and any overrides."""
    return lambda **overrides: unique_settings(tmp_path, **overrides)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A business database URL on each backend; the PostgreSQL schema is dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'business.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"agents_test_{uuid.uuid4().hex[:10]}"
    yield f"{base}?search_path={schema}"
    engine = create_async_engine(base)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await engine.dispose()
