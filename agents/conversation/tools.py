"""Conversation tools: facts about the business (address, hours, services, payment) from the database.

Knowledge-base search is shared with the search agent (:mod:`agents.search.tools`).
"""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from agents.db.catalog import info, list_services
from agents.runtime import caller_from_state, services
from agents.search.tools import search_knowledge

__all__ = ["get_business_info", "list_services_and_prices", "search_knowledge"]


async def get_business_info(tool_context: ToolContext) -> dict[str, Any]:
    """Get the business's name, address, landmark, phone, payment methods, delivery and opening hours.

    Returns:
        A dict with "status" "success" and the fields "name", "address", "landmark", "phone",
        "payment", "delivery" and "opening_hours" (one line per weekday).
    """
    caller_from_state(tool_context.state)
    async with services().store.read() as conn:
        return {"status": "success", **await info(conn)}


async def list_services_and_prices(tool_context: ToolContext) -> dict[str, Any]:
    """List the services the salon offers with their duration and price.

    Returns:
        A dict with "status" "success" and "services", each with "name", "duration_minutes", "price_ugx".
    """
    caller_from_state(tool_context.state)
    async with services().store.read() as conn:
        return {"status": "success", "services": await list_services(conn)}
