"""Every agent, driven by the scripted model, calls its tools against SQLite and PostgreSQL.

One test body per agent, run on both backends (``database_url`` is parametrised), checking
the rows the tools leave behind rather than only what the reply says.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from agents.db.schema import appointment_slots, appointments, business_info, order_items, orders, products, tool_results
from agents.models import ScriptedModel, Turn
from contracts.models import ReplyStatus
from tests.agents.conftest import PHONE, make_request, next_open_day


async def _count(engine: Any, table: Any, *where: Any) -> int:
    async with engine.store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_given_conversation_script_when_run_then_info_and_knowledge_tools_answer_and_nothing_is_written(
    engine_factory: Any, database_url: str
) -> None:
    model = ScriptedModel(
        script=[Turn.call("get_business_info"), Turn.call("search_knowledge", query="refund policy"), Turn.say("ok")]
    )
    async with engine_factory(model, database_url=database_url) as engine:
        result = await engine.run(make_request("conversation", "where are you and can I get a refund?"))
        assert result.tools_used == ("get_business_info", "search_knowledge")
        assert result.reasoning_steps[0] == "get_business_info() → success"
        assert result.reasoning_steps[1].startswith("search_knowledge(query=refund policy) → ")
        assert await _count(engine, business_info) >= 8
        assert await _count(engine, tool_results) == 0


async def test_given_appointment_script_when_booking_then_cancelling_then_rows_follow(
    engine_factory: Any, database_url: str
) -> None:
    day = next_open_day(8).isoformat()
    booking = ScriptedModel(
        script=[Turn.call("book_appointment", service="haircut", date=day, time="15:00"), Turn.say("Booked.")]
    )
    async with engine_factory(booking, database_url=database_url) as engine:
        result = await engine.run(make_request("appointment", f"haircut {day} 15:00"))
        assert result.tools_used == ("book_appointment",)
        assert "→ success APT-" in result.reasoning_steps[0]
        async with engine.store.read() as conn:
            row = (
                await conn.execute(
                    select(appointments).where(appointments.c.customer_phone == PHONE, appointments.c.appt_date == day)
                )
            ).one()
        assert (row.appt_time, row.status) == ("15:00", "booked")
        assert await _count(engine, appointment_slots, appointment_slots.c.appointment_id == row.id) == 1
        assert await _count(engine, tool_results, tool_results.c.tool == "book_appointment") == 1

        engine.model.script = [Turn.call("cancel_appointment", reference=row.reference, date=""), Turn.say("Done.")]  # type: ignore[attr-defined]
        result = await engine.run(make_request("appointment", f"cancel {row.reference}"))
        assert result.reasoning_steps[0].endswith("→ success")
        async with engine.store.read() as conn:
            status = (await conn.execute(select(appointments.c.status).where(appointments.c.id == row.id))).scalar_one()
        assert status == "cancelled"
        assert await _count(engine, appointment_slots, appointment_slots.c.appointment_id == row.id) == 0


async def test_given_order_script_when_placing_an_order_then_order_items_and_stock_change(
    engine_factory: Any, database_url: str
) -> None:
    model = ScriptedModel(
        script=[
            Turn.call("place_order", items=[{"product": "shea butter", "quantity": 2}, {"product": "OIL-100"}]),
            Turn.say("Ordered."),
        ]
    )
    async with engine_factory(model, database_url=database_url) as engine:
        async with engine.store.read() as conn:
            shea_before = (
                await conn.execute(select(products.c.stock).where(products.c.sku == "SHEA-250"))
            ).scalar_one()
        result = await engine.run(make_request("order", "2 shea butter and a hair oil"))
        assert result.tools_used == ("place_order",)
        async with engine.store.read() as conn:
            order = (
                await conn.execute(select(orders).where(orders.c.customer_phone == PHONE).order_by(orders.c.id.desc()))
            ).first()
            shea_after = (await conn.execute(select(products.c.stock).where(products.c.sku == "SHEA-250"))).scalar_one()
        assert order is not None and order.status == "received"
        assert order.total_ugx == 2 * 18_000 + 25_000
        assert await _count(engine, order_items, order_items.c.order_id == order.id) == 2
        assert shea_after == shea_before - 2

        engine.model.script = [Turn.call("get_order_status", order_number=order.order_number), Turn.say("ok")]  # type: ignore[attr-defined]
        status = await engine.run(make_request("order", f"status of {order.order_number}"))
        assert status.reasoning_steps == (
            f"get_order_status(order_number={order.order_number}) → success {order.order_number}",
        )


async def test_given_search_script_when_web_search_is_not_configured_then_it_says_unavailable(
    engine_factory: Any, database_url: str
) -> None:
    model = ScriptedModel(
        script=[
            Turn.call("search_knowledge", query="braiding deposit"),
            Turn.call("web_search", query="kampala weather"),
            Turn.say("Here you go."),
        ]
    )
    async with engine_factory(model, database_url=database_url) as engine:
        result = await engine.run(make_request("search", "braiding deposit and the weather"))
        assert result.tools_used == ("search_knowledge", "web_search")
        assert result.reasoning_steps[1] == "web_search(query=kampala weather) → unavailable"
        assert result.status is ReplyStatus.SUCCESS and result.text == "Here you go."
        assert await _count(engine, tool_results) == 0


async def test_given_a_read_connection_when_writing_then_the_database_refuses(
    engine_factory: Any, database_url: str
) -> None:
    async with engine_factory(ScriptedModel(), database_url=database_url) as engine:
        with pytest.raises(DBAPIError):
            async with engine.store.read() as conn:
                await conn.execute(update(products).values(stock=0))
        assert await _count(engine, products, products.c.stock == 0) == 0


@pytest.mark.parametrize("task", ["conversation", "appointment", "order", "search"])
async def test_given_default_script_when_any_agent_runs_then_one_tool_and_a_reply(
    engine_factory: Any, task: str
) -> None:
    async with engine_factory(ScriptedModel()) as engine:
        result = await engine.run(make_request(task, "what is your refund policy"))
        assert len(result.tools_used) == 1
        assert result.text.startswith(f"Done: {result.tools_used[0]} returned ")
        assert result.tokens_used > 0
