"""The business store: created and seeded exactly once, even by replicas starting together."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from agents.db import BusinessStore
from agents.db.schema import business_info, orders, products, services
from agents.db.seed import BUSINESS, ORDERS, PRODUCTS, SERVICES
from contracts.errors import ConfigError


async def test_given_three_replicas_starting_at_once_when_seeding_then_the_sample_data_exists_once(
    database_url: str,
) -> None:
    stores = [BusinessStore(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(store.start() for store in stores))
        async with stores[0].read() as conn:
            counts = [
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                for table in (business_info, services, products, orders)
            ]
        assert counts == [len(BUSINESS), len(SERVICES), len(PRODUCTS), len(ORDERS)]
        assert (await stores[1].health())["ok"] is True
    finally:
        for store in stores:
            await store.stop()


def test_given_a_hostile_search_path_when_constructed_then_config_error() -> None:
    with pytest.raises(ConfigError, match="search_path"):
        BusinessStore('postgresql+asyncpg://postgres@127.0.0.1/test?search_path=x";drop')


async def test_given_a_store_that_was_not_started_when_read_then_it_fails_loudly() -> None:
    store = BusinessStore("sqlite+aiosqlite:///:memory:")
    with pytest.raises(RuntimeError, match="before start"):
        async with store.read():
            pass
