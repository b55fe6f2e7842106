"""Order queries: status of one of the caller's orders, the caller's orders, placing an order.

Ownership is part of every ``WHERE`` clause: an order number that exists but belongs to
another customer gives exactly the same answer as one that does not exist, so asking by
number reveals nothing about other people's orders.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from agents.db.catalog import find_product
from agents.db.schema import order_items, orders, products

__all__ = ["NOT_FOUND", "OutOfStockError", "my_orders", "order_status", "place"]

#: The one answer for "no such order" and "not your order".
NOT_FOUND: dict[str, Any] = {
    "status": "not_found",
    "message": "No order with that number was found for your phone number.",
}

_STATUS_TEXT = {
    "processing": "being prepared",
    "out_for_delivery": "out for delivery",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "received": "received and waiting for payment confirmation",
}


def normalise_order_number(text: str) -> str:
    """``ord 1002``, ``#1002`` and ``ORD-1002`` all mean ``ORD-1002``."""
    digits = "".join(ch for ch in text if ch.isalnum()).upper().removeprefix("ORD")
    return f"ORD-{digits}"


async def _items(conn: AsyncConnection, order_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(products.c.name, order_items.c.quantity, order_items.c.unit_price_ugx)
        .join(products, products.c.id == order_items.c.product_id)
        .where(order_items.c.order_id == order_id)
        .order_by(order_items.c.id)
    )
    return [{"product": r.name, "quantity": r.quantity, "unit_price_ugx": r.unit_price_ugx} for r in rows]


async def order_status(conn: AsyncConnection, *, phone: str, order_number: str) -> dict[str, Any]:
    """The status of ``order_number`` if, and only if, it belongs to ``phone``."""
    number = normalise_order_number(order_number)
    row = (
        await conn.execute(select(orders).where(orders.c.order_number == number, orders.c.customer_phone == phone))
    ).first()
    if row is None:
        return dict(NOT_FOUND)
    return {
        "status": "success",
        "order_number": row.order_number,
        "order_status": row.status,
        "status_text": _STATUS_TEXT.get(row.status, row.status),
        "total_ugx": row.total_ugx,
        "placed": row.created_at[:10],
        "items": await _items(conn, row.id),
    }


async def my_orders(conn: AsyncConnection, phone: str, limit: int = 10) -> list[dict[str, Any]]:
    """The caller's most recent orders."""
    rows = await conn.execute(
        select(orders).where(orders.c.customer_phone == phone).order_by(orders.c.created_at.desc()).limit(limit)
    )
    return [
        {"order_number": r.order_number, "order_status": r.status, "status_text": _STATUS_TEXT.get(r.status, r.status),
         "total_ugx": r.total_ugx, "placed": r.created_at[:10]}
        for r in rows
    ]  # fmt: skip


async def place(
    conn: AsyncConnection, *, phone: str, name: str | None, lines: list[tuple[str, int]], message_id: str,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """Place an order for ``lines`` of (product text, quantity); stock is reserved atomically."""
    if not lines:
        return {"status": "error", "message": "The order has no items."}
    resolved: list[tuple[Any, int]] = []
    for text, quantity in lines:
        product = await find_product(conn, text)
        if product is None:
            return {"status": "unknown_product", "message": f"We do not sell '{text}'."}
        if not 1 <= quantity <= 50:
            return {"status": "error", "message": f"Quantity {quantity} of {product.name} is not allowed (1–50)."}
        resolved.append((product, quantity))
    for product, quantity in resolved:
        reserved = await conn.execute(
            update(products)
            .where(products.c.id == product.id, products.c.stock >= quantity)
            .values(stock=products.c.stock - quantity)
        )
        if reserved.rowcount != 1:
            # Raising (not returning) rolls back the stock already reserved for earlier lines.
            raise OutOfStockError(product.name)
    total = sum(product.price_ugx * quantity for product, quantity in resolved)
    number = "ORD-" + secrets.token_hex(3).upper()
    result = await conn.execute(
        insert(orders)
        .values(
            order_number=number,
            customer_phone=phone,
            customer_name=name,
            status="received",
            total_ugx=total,
            created_at=now.isoformat(timespec="seconds"),
            message_id=message_id,
        )
        .returning(orders.c.id)
    )
    order_id = result.scalar_one()
    await conn.execute(
        insert(order_items),
        [{"order_id": order_id, "product_id": p.id, "quantity": q, "unit_price_ugx": p.price_ugx} for p, q in resolved],
    )
    return {"status": "success", "order_number": number, "total_ugx": total,
            "items": [{"product": p.name, "quantity": q} for p, q in resolved]}  # fmt: skip


class OutOfStockError(Exception):
    """Raised inside the write transaction when a product runs out, so reserved stock is rolled back."""

    def __init__(self, product: str) -> None:
        super().__init__(product)
        self.product = product
