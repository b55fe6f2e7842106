"""The business store: created and seeded exactly once, even by replicas starting together."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from agents.db import BusinessStore
from agents.db.schema import appointments, business_info, metadata, orders, products, services
from agents.db.seed import APPOINTMENTS, BUSINESS, ORDERS, PRODUCTS, SERVICES, seed
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


@pytest.mark.parametrize("day", range(7))
async def test_given_any_weekday_when_seeding_then_sample_bookings_skip_sunday_and_never_share_a_chair(
    day: int,
) -> None:
    # The sample bookings are placed relative to today; moved off a Sunday, one once landed on another's
    # chair and time (seed failed on Fridays in the business's time zone). Every weekday must seed.
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    now = datetime(2026, 11, 30, 0, 30, tzinfo=ZoneInfo("Africa/Kampala")) + timedelta(days=day)  # a Monday + day
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await seed(conn, now)
            rows = (await conn.execute(select(appointments.c.appt_date))).scalars().all()
        assert len(rows) == len(APPOINTMENTS)
        assert all(date.fromisoformat(d).weekday() != 6 and date.fromisoformat(d) > now.date() for d in rows)
    finally:
        await engine.dispose()
