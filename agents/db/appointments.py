"""Appointment queries: free times, booking, cancelling and listing, all for one customer.

Every function takes the caller's phone number from the tool layer (which read it from the
session state), so a query can only ever touch that customer's rows. Availability is
computed from opening hours and the ``appointment_slots`` already claimed; booking claims the
blocks, and the unique constraint on (chair, date, time) turns a lost race into an
``IntegrityError`` that the store retries on fresh data.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from agents.db.catalog import business_value, find_service
from agents.db.schema import SLOT_MINUTES, appointment_slots, appointments, opening_hours, services

__all__ = ["available_starts", "book", "cancel", "upcoming"]


def _blocks(start: str, minutes: int) -> list[str]:
    begin = datetime.strptime(start, "%H:%M")
    count = -(-minutes // SLOT_MINUTES)
    return [(begin + timedelta(minutes=SLOT_MINUTES * i)).strftime("%H:%M") for i in range(count)]


async def _hours(conn: AsyncConnection, day: date) -> tuple[str, str] | None:
    row = (await conn.execute(select(opening_hours).where(opening_hours.c.weekday == day.weekday()))).first()
    if row is None or row.closed:
        return None
    return row.opens, row.closes


async def available_starts(conn: AsyncConnection, service: Any, day: date, now: datetime) -> list[tuple[str, int]]:
    """Start times (``HH:MM``) with the first free chair, for ``service`` on ``day``."""
    hours = await _hours(conn, day)
    if hours is None or day < now.date():
        return []
    chairs = int(await business_value(conn, "chairs", "1"))
    claimed_rows = await conn.execute(
        select(appointment_slots.c.chair, appointment_slots.c.slot_time).where(
            appointment_slots.c.slot_date == day.isoformat()
        )
    )
    claimed = {(row.chair, row.slot_time) for row in claimed_rows}
    opens, closes = (datetime.strptime(value, "%H:%M") for value in hours)
    last_start = closes - timedelta(minutes=service.duration_minutes)
    earliest = now.replace(tzinfo=None) + timedelta(minutes=30) if day == now.date() else None
    starts: list[tuple[str, int]] = []
    current = opens
    while current <= last_start:
        start = current.strftime("%H:%M")
        if earliest is None or current.time() >= earliest.time():
            blocks = _blocks(start, service.duration_minutes)
            for chair in range(1, chairs + 1):
                if not any((chair, block) in claimed for block in blocks):
                    starts.append((start, chair))
                    break
        current += timedelta(minutes=SLOT_MINUTES)
    return starts


async def book(
    conn: AsyncConnection, *, phone: str, name: str | None, service_text: str, day: date, time: str,
    message_id: str, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """Book ``service_text`` at ``day`` ``time`` for the caller, or say why not."""
    service = await find_service(conn, service_text)
    if service is None:
        return {"status": "unknown_service", "message": f"We do not offer '{service_text}'."}
    free = dict(await available_starts(conn, service, day, now))
    if time not in free:
        alternatives = sorted(free)[:5]
        return {"status": "unavailable", "service": service.name, "date": day.isoformat(), "time": time,
                "alternatives": alternatives}  # fmt: skip
    chair = free[time]
    reference = "APT-" + secrets.token_hex(3).upper()
    result = await conn.execute(
        insert(appointments)
        .values(
            reference=reference, customer_phone=phone, customer_name=name, service_id=service.id,
            appt_date=day.isoformat(), appt_time=time, chair=chair, status="booked",
            created_at=now.isoformat(timespec="seconds"), message_id=message_id,
        )
        .returning(appointments.c.id)
    )  # fmt: skip
    appointment_id = result.scalar_one()
    await conn.execute(
        insert(appointment_slots),
        [
            {"appointment_id": appointment_id, "chair": chair, "slot_date": day.isoformat(), "slot_time": block}
            for block in _blocks(time, service.duration_minutes)
        ],
    )
    return {"status": "success", "reference": reference, "service": service.name, "date": day.isoformat(),
            "time": time, "duration_minutes": service.duration_minutes, "price_ugx": service.price_ugx}  # fmt: skip


async def upcoming(conn: AsyncConnection, phone: str, today: date) -> list[dict[str, Any]]:
    """The caller's booked appointments from ``today`` on, soonest first."""
    rows = await conn.execute(
        select(appointments.c.reference, appointments.c.appt_date, appointments.c.appt_time, services.c.name)
        .join(services, services.c.id == appointments.c.service_id)
        .where(
            appointments.c.customer_phone == phone,
            appointments.c.status == "booked",
            appointments.c.appt_date >= today.isoformat(),
        )
        .order_by(appointments.c.appt_date, appointments.c.appt_time)
    )
    return [{"reference": r.reference, "service": r.name, "date": r.appt_date, "time": r.appt_time} for r in rows]


async def cancel(
    conn: AsyncConnection, *, phone: str, reference: str | None, day: date | None, today: date
) -> dict[str, Any]:
    """Cancel one of the caller's upcoming appointments, chosen by reference or by date."""
    mine = await upcoming(conn, phone, today)
    if reference:
        chosen = [a for a in mine if a["reference"].upper() == reference.strip().upper()]
    elif day is not None:
        chosen = [a for a in mine if a["date"] == day.isoformat()]
    else:
        chosen = mine
    if not chosen:
        return {"status": "not_found", "message": "No matching upcoming appointment in your name."}
    if len(chosen) > 1:
        return {"status": "ambiguous", "appointments": chosen}
    target = chosen[0]
    row = await conn.execute(
        select(appointments.c.id).where(
            appointments.c.reference == target["reference"], appointments.c.customer_phone == phone
        )
    )
    appointment_id = row.scalar_one()
    await conn.execute(update(appointments).where(appointments.c.id == appointment_id).values(status="cancelled"))
    await conn.execute(delete(appointment_slots).where(appointment_slots.c.appointment_id == appointment_id))
    return {"status": "success", "cancelled": target}
