"""Read queries about the business itself: info, opening hours, services and products.

Names are matched in Python over the (small) catalogue rather than with ``LIKE`` patterns
built from model text, so what a customer types never becomes part of an SQL string, and
common WhatsApp spellings ("braids", "hair cut", "nails") still find the right row.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from agents.db.schema import business_info, opening_hours, products, services

__all__ = ["WEEKDAYS", "business_value", "find_product", "find_service", "info", "list_products", "list_services"]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_SERVICE_SYNONYMS = {
    "hair cut": "haircut", "trim": "haircut", "cut": "haircut", "shave": "haircut",
    "braid": "braiding", "braids": "braiding", "box braids": "braiding", "knotless": "braiding",
    "cornrow": "cornrows", "blow dry": "wash", "blow-dry": "wash", "hair wash": "wash",
    "nails": "manicure", "mani": "manicure", "pedi": "pedicure", "gel": "gel", "face": "facial",
}  # fmt: skip


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


async def business_value(conn: AsyncConnection, key: str, default: str = "") -> str:
    """One ``business_info`` value."""
    value = (await conn.execute(select(business_info.c.value).where(business_info.c.key == key))).scalar_one_or_none()
    return default if value is None else str(value)


async def info(conn: AsyncConnection) -> dict[str, Any]:
    """Everything a customer may ask about the business, hours included."""
    values = {row.key: row.value for row in await conn.execute(select(business_info))}
    hours = []
    for row in await conn.execute(select(opening_hours).order_by(opening_hours.c.weekday)):
        day = WEEKDAYS[row.weekday]
        hours.append(f"{day}: closed" if row.closed else f"{day}: {row.opens}–{row.closes}")
    values.pop("chairs", None)
    return {**values, "opening_hours": hours}


async def list_services(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The bookable services with duration and price."""
    rows = await conn.execute(select(services).order_by(services.c.category, services.c.name))
    return [
        {"code": r.code, "name": r.name, "duration_minutes": r.duration_minutes, "price_ugx": r.price_ugx} for r in rows
    ]


async def find_service(conn: AsyncConnection, text: str) -> Row[Any] | None:
    """The service a customer means by ``text`` (code, name or a common synonym)."""
    lowered = " ".join(sorted(_words(text))) if text else ""
    raw = text.lower().strip()
    rows = list(await conn.execute(select(services)))
    for row in rows:
        if raw in (row.code, row.name.lower()):
            return row
    for phrase, code in sorted(_SERVICE_SYNONYMS.items(), key=lambda item: -len(item[0])):
        if phrase in raw or phrase in lowered:
            return next((row for row in rows if row.code == code), None)
    words = _words(text)
    best = max(rows, key=lambda row: len(words & (_words(row.name) | {row.code})), default=None)
    if best is not None and words & (_words(best.name) | {best.code}):
        return best
    return None


async def list_products(conn: AsyncConnection) -> list[dict[str, Any]]:
    """The catalogue with prices and whether each item is in stock."""
    rows = await conn.execute(select(products).order_by(products.c.name))
    return [{"sku": r.sku, "name": r.name, "price_ugx": r.price_ugx, "in_stock": r.stock > 0} for r in rows]


async def find_product(conn: AsyncConnection, text: str) -> Row[Any] | None:
    """The product a customer means by ``text`` (sku or the best word overlap with its name)."""
    rows = list(await conn.execute(select(products)))
    raw = text.strip().lower()
    for row in rows:
        if raw in (row.sku.lower(), row.name.lower()):
            return row
    words = _words(text) - {"g", "ml", "the", "a", "of", "bottle", "bottles", "pack", "packs"}
    scored = [(len(words & _words(f"{row.name} {row.description}")), row) for row in rows]
    scored = [item for item in scored if item[0] > 0]
    if not scored:
        return None
    # Name overlap first, then description overlap.
    scored.sort(key=lambda item: (-len(words & _words(item[1].name)), -item[0]))
    return scored[0][1]
