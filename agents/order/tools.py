"""Order tools: status of one of the caller's orders, the caller's orders, the catalogue, ordering.

The caller's phone number comes from the session state; an order number that belongs to
somebody else answers exactly like one that does not exist. ``place_order`` is idempotent
per request ``messageId`` and reserves stock in the same transaction as the order.
"""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext
from pydantic import BaseModel, Field

from agents.db import orders as queries
from agents.db.catalog import list_products
from agents.runtime import caller_from_state, services

__all__ = ["OrderLine", "get_order_status", "list_my_orders", "list_products_catalogue", "place_order"]


class OrderLine(BaseModel):
    """One line of an order."""

    product: str = Field(description="Product name or SKU, e.g. 'shea butter' or 'OIL-100'.")
    quantity: int = Field(default=1, description="How many, 1 to 50.")


async def get_order_status(order_number: str, tool_context: ToolContext) -> dict[str, Any]:
    """Look up the status of one of the customer's own orders by its order number.

    Args:
        order_number: The order number the customer gave, for example "ORD-1002".

    Returns:
        A dict with "status": "success" with "order_status", "status_text", "total_ugx" and "items";
        or "not_found" when the customer has no order with that number.
    """
    caller = caller_from_state(tool_context.state)
    async with services().store.read() as conn:
        return await queries.order_status(conn, phone=caller.phone, order_number=order_number)


async def list_my_orders(tool_context: ToolContext) -> dict[str, Any]:
    """List the customer's own most recent orders.

    Returns:
        A dict with "status" "success" and "orders", each with "order_number", "status_text",
        "total_ugx" and "placed" (empty when the customer has none).
    """
    caller = caller_from_state(tool_context.state)
    async with services().store.read() as conn:
        return {"status": "success", "orders": await queries.my_orders(conn, caller.phone)}


async def list_products_catalogue(tool_context: ToolContext) -> dict[str, Any]:
    """List the products for sale with their prices and whether they are in stock.

    Returns:
        A dict with "status" "success" and "products", each with "sku", "name", "price_ugx", "in_stock".
    """
    caller_from_state(tool_context.state)
    async with services().store.read() as conn:
        return {"status": "success", "products": await list_products(conn)}


async def place_order(items: list[OrderLine], tool_context: ToolContext) -> dict[str, Any]:
    """Place an order from the catalogue for the customer who is writing.

    Args:
        items: The products and quantities to order.

    Returns:
        A dict with "status": "success" with the new "order_number", "total_ugx" and "items";
        or "unknown_product", "out_of_stock" or "error" with a "message".
    """
    caller = caller_from_state(tool_context.state)
    store = services().store
    lines = [(line.product, line.quantity) for line in items]

    async def action(conn: Any) -> dict[str, Any]:
        return await queries.place(
            conn, phone=caller.phone, name=caller.name, lines=lines, message_id=caller.message_id, now=store.now()
        )

    try:
        return await store.idempotent(caller.message_id, "place_order", action)
    except queries.OutOfStockError as exc:
        return {"status": "out_of_stock", "message": f"Sorry, {exc.product} is out of stock in that quantity."}
