"""The business database schema: one small salon-and-shop that talks to customers on WhatsApp.

Dates and times are stored as ISO text (``YYYY-MM-DD``, ``HH:MM``) in the business's own time
zone, so the same schema runs unchanged on SQLite and PostgreSQL and sorts correctly as text.
Money is whole Uganda shillings (UGX has no minor unit in daily use).

::

    business_info      key → value: name, address, phone, chairs, ...
    opening_hours      weekday (0 = Monday) → opens, closes, closed
    services           bookable services: code, name, duration, price
    appointments       one booking: reference, customer phone, service, date, time, chair, status
    appointment_slots  the 30-minute blocks an appointment holds on one chair;
                       UNIQUE (chair, slot_date, slot_time) is what makes double booking
                       impossible even when two replicas book the last chair at once
    products           the catalogue: sku, name, price, stock
    orders             one order: order number, customer phone, status, total
    order_items        the lines of an order
    tool_results       UNIQUE (message_id, tool) → the JSON result of a side-effecting tool;
                       written in the same transaction as the side effect, so a retried
                       request returns the first result instead of booking or ordering twice

A customer is identified by their phone number in E.164 form (``+256...``), taken from the
request's contact, never from what the model says.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "SLOT_MINUTES",
    "appointment_slots",
    "appointments",
    "business_info",
    "metadata",
    "opening_hours",
    "order_items",
    "orders",
    "products",
    "services",
    "tool_results",
]

#: Granularity of the booking grid; a service holds ceil(duration / SLOT_MINUTES) blocks.
SLOT_MINUTES = 30

metadata = MetaData()

business_info = Table(
    "business_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

opening_hours = Table(
    "opening_hours",
    metadata,
    Column("weekday", Integer, primary_key=True),
    Column("opens", String(5), nullable=False),
    Column("closes", String(5), nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
)

services = Table(
    "services",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("category", String(64), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("price_ugx", Integer, nullable=False),
    Column("description", Text, nullable=False, default=""),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("customer_phone", String(32), nullable=False),
    Column("customer_name", String(256)),
    Column("service_id", Integer, ForeignKey("services.id"), nullable=False),
    Column("appt_date", String(10), nullable=False),
    Column("appt_time", String(5), nullable=False),
    Column("chair", Integer, nullable=False),
    Column("status", String(16), nullable=False, default="booked"),
    Column("created_at", String(32), nullable=False),
    Column("message_id", String(256)),
    Index("ix_appointments_phone", "customer_phone", "appt_date"),
)

appointment_slots = Table(
    "appointment_slots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("appointment_id", Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False),
    Column("chair", Integer, nullable=False),
    Column("slot_date", String(10), nullable=False),
    Column("slot_time", String(5), nullable=False),
    UniqueConstraint("chair", "slot_date", "slot_time", name="uq_slot_chair_time"),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sku", String(32), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("price_ugx", Integer, nullable=False),
    Column("stock", Integer, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_number", String(16), nullable=False, unique=True),
    Column("customer_phone", String(32), nullable=False),
    Column("customer_name", String(256)),
    Column("status", String(32), nullable=False),
    Column("total_ugx", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("message_id", String(256)),
    Index("ix_orders_phone", "customer_phone"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_ugx", Integer, nullable=False),
)

tool_results = Table(
    "tool_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(256), nullable=False),
    Column("tool", String(64), nullable=False),
    Column("result_json", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("message_id", "tool", name="uq_tool_results_message_tool"),
)
