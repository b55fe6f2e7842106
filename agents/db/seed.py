"""Sample data for a fresh business database: a small salon and beauty shop in Kampala.

Seeded once, the first time a store starts against an empty database, so ``agentcluster ask``
works on a fresh clone. Appointments are placed relative to the seeding day so that "list my
appointments" has something upcoming to show. The sample phone numbers are the ones the
README and the tests use; +256703722777 is the spec's example contact.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from agents.db.schema import (
    SLOT_MINUTES,
    appointment_slots,
    appointments,
    business_info,
    opening_hours,
    order_items,
    orders,
    products,
    services,
)

__all__ = ["SAMPLE_PHONES", "seed"]

#: Customers with sample orders and appointments.
SAMPLE_PHONES = ("+256703722777", "+256772123456", "+256701555000")

BUSINESS = {
    "name": "Nakato Beauty Studio & Shop",
    "address": "Plot 14, Kampala Road, opposite Centenary Bank, Kampala",
    "landmark": "First floor of Mukwano Arcade, above the pharmacy",
    "phone": "+256 700 123 456",
    "whatsapp": "+256 700 123 456",
    "email": "hello@nakatobeauty.ug",
    "chairs": "3",
    "payment": "Cash, MTN Mobile Money and Airtel Money",
    "delivery": "Boda delivery within Kampala, UGX 5,000 (free on orders over UGX 100,000); Entebbe, Wakiso, Mukono "
    "and Kira UGX 10,000; elsewhere by Link Bus or courier, transport paid on collection",
    "about": "A friendly salon for braiding, haircuts, nails and natural hair care, with a shop of hair and skin "
    "products.",
}

# weekday 0 = Monday
HOURS = [(0, "08:00", "19:00", False), (1, "08:00", "19:00", False), (2, "08:00", "19:00", False),
         (3, "08:00", "19:00", False), (4, "08:00", "20:00", False), (5, "09:00", "18:00", False),
         (6, "00:00", "00:00", True)]  # fmt: skip

SERVICES = [
    ("haircut", "Haircut", "hair", 30, 15_000, "Men's or women's haircut with wash."),
    ("braiding", "Box braids", "hair", 180, 80_000, "Medium box braids, hair extensions included."),
    ("cornrows", "Cornrows", "hair", 90, 35_000, "Straight-back or patterned cornrows."),
    ("wash", "Wash and blow-dry", "hair", 60, 25_000, "Deep-cleansing wash, treatment and blow-dry."),
    ("manicure", "Manicure", "nails", 45, 20_000, "Shape, cuticle care and polish."),
    ("pedicure", "Pedicure", "nails", 60, 30_000, "Foot soak, scrub, nail care and polish."),
    ("gel", "Gel nails", "nails", 60, 45_000, "Gel polish that lasts two to three weeks."),
    ("facial", "Facial", "skin", 60, 50_000, "Cleanse, exfoliate, mask and moisturise."),
]

PRODUCTS = [
    ("SHEA-250", "Shea butter 250 g", "Unrefined shea butter from northern Uganda.", 18_000, 40),
    ("OIL-100", "Hair growth oil 100 ml", "Castor and rosemary oil blend for scalp and edges.", 25_000, 25),
    ("SHAMPOO-300", "Moisturising shampoo 300 ml", "Sulphate-free shampoo for natural hair.", 22_000, 30),
    ("COND-300", "Leave-in conditioner 300 ml", "Detangling leave-in conditioner.", 24_000, 20),
    ("BRAID-PK", "Braiding hair pack", "Pre-stretched braiding hair, 3 bundles, colour 1B.", 12_000, 60),
    ("POLISH-RED", "Nail polish, red", "Long-wear nail polish, 15 ml.", 8_000, 50),
    ("SOAP-BLK", "African black soap", "Handmade black soap bar, 200 g.", 10_000, 35),
    ("COMB-WIDE", "Wide-tooth comb", "Detangling comb for thick hair.", 5_000, 80),
]

# (order number, phone, name, status, days ago, [(sku, qty)])
ORDERS = [
    ("ORD-1001", SAMPLE_PHONES[0], "John Doe", "delivered", 12, [("SHEA-250", 2), ("SOAP-BLK", 1)]),
    ("ORD-1002", SAMPLE_PHONES[0], "John Doe", "out_for_delivery", 1, [("OIL-100", 1)]),
    ("ORD-1003", SAMPLE_PHONES[1], "Grace Namuli", "processing", 0, [("BRAID-PK", 3), ("COMB-WIDE", 1)]),
    ("ORD-1004", SAMPLE_PHONES[2], "Brian Okello", "cancelled", 5, [("SHAMPOO-300", 1)]),
]

# (reference, phone, name, service code, days ahead, time, chair)
APPOINTMENTS = [
    ("APT-1001", SAMPLE_PHONES[0], "John Doe", "haircut", 3, "10:00", 1),
    ("APT-1002", SAMPLE_PHONES[1], "Grace Namuli", "braiding", 2, "09:00", 1),
    ("APT-1003", SAMPLE_PHONES[2], "Brian Okello", "manicure", 4, "14:00", 2),
]


def _slot_times(start: str, minutes: int) -> list[str]:
    begin = datetime.strptime(start, "%H:%M")
    blocks = -(-minutes // SLOT_MINUTES)
    return [(begin + timedelta(minutes=SLOT_MINUTES * i)).strftime("%H:%M") for i in range(blocks)]


async def _insert(conn: AsyncConnection, table: Table, **values: Any) -> int:
    """Insert one row and return its generated id (ids are never set by hand, so sequences stay right)."""
    result = await conn.execute(insert(table).values(**values).returning(table.c.id))
    return int(result.scalar_one())


async def seed(conn: AsyncConnection, now: datetime) -> None:
    """Insert the sample business into empty tables (one transaction, the caller's)."""
    stamp = now.isoformat(timespec="seconds")
    await conn.execute(insert(business_info), [{"key": k, "value": v} for k, v in BUSINESS.items()])
    await conn.execute(
        insert(opening_hours), [{"weekday": d, "opens": o, "closes": c, "closed": x} for d, o, c, x in HOURS]
    )
    service_ids: dict[str, tuple[int, int]] = {}
    for code, name, category, minutes, price, description in SERVICES:
        service_id = await _insert(conn, services, code=code, name=name, category=category,
                                   duration_minutes=minutes, price_ugx=price, description=description)  # fmt: skip
        service_ids[code] = (service_id, minutes)
    product_ids: dict[str, tuple[int, int]] = {}
    for sku, name, description, price, stock in PRODUCTS:
        product_id = await _insert(conn, products, sku=sku, name=name, description=description, price_ugx=price,
                                   stock=stock)  # fmt: skip
        product_ids[sku] = (product_id, price)
    for number, phone, name, status, days_ago, lines in ORDERS:
        total = sum(product_ids[sku][1] * qty for sku, qty in lines)
        created = (now - timedelta(days=days_ago)).isoformat(timespec="seconds")
        order_id = await _insert(conn, orders, order_number=number, customer_phone=phone, customer_name=name,
                                 status=status, total_ugx=total, created_at=created)  # fmt: skip
        rows: list[dict[str, Any]] = [
            {"order_id": order_id, "product_id": product_ids[sku][0], "quantity": qty,
             "unit_price_ugx": product_ids[sku][1]}
            for sku, qty in lines
        ]  # fmt: skip
        await conn.execute(insert(order_items), rows)
    taken: set[tuple[int, str, str]] = set()
    for reference, phone, name, code, days_ahead, time, chair in APPOINTMENTS:
        service_id, minutes = service_ids[code]
        day = (now + timedelta(days=days_ahead)).date()
        # Closed on Sundays; a day moved past a Sunday can land on another sample booking's chair,
        # so move on until the chair is free (which day it lands on depends on today's weekday).
        while day.weekday() == 6 or any((chair, day.isoformat(), t) in taken for t in _slot_times(time, minutes)):
            day += timedelta(days=1)
        taken.update((chair, day.isoformat(), t) for t in _slot_times(time, minutes))
        appt_id = await _insert(conn, appointments, reference=reference, customer_phone=phone, customer_name=name,
                                service_id=service_id, appt_date=day.isoformat(), appt_time=time, chair=chair,
                                status="booked", created_at=stamp)  # fmt: skip
        await conn.execute(
            insert(appointment_slots),
            [
                {"appointment_id": appt_id, "chair": chair, "slot_date": day.isoformat(), "slot_time": t}
                for t in _slot_times(time, minutes)
            ],
        )
