"""Appointment tools: check availability, book, cancel and list the caller's appointments.

The caller is read from the session state (``tool_context.state``), never from arguments,
so a customer can only book, see and cancel their own appointments. ``book_appointment``
and ``cancel_appointment`` are idempotent per request ``messageId``: a retried request gets
the first result back instead of a second booking.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.adk.tools.tool_context import ToolContext

from agents.dates import parse_date, parse_time
from agents.db import appointments as queries
from agents.db.catalog import find_service, list_services
from agents.runtime import caller_from_state, services

__all__ = ["book_appointment", "cancel_appointment", "check_availability", "list_my_appointments"]


def _day(text: str) -> dt.date | None:
    store = services().store
    return parse_date(text, store.now().date()) if text else None


async def check_availability(service: str, date: str, tool_context: ToolContext) -> dict[str, Any]:
    """Check which appointment start times are free for a service on a given day.

    Args:
        service: The service to book, for example "haircut", "box braids", "cornrows", "manicure".
        date: The day in YYYY-MM-DD form. Words like "tomorrow" or "next Monday" are understood too.

    Returns:
        A dict with "status" ("success", "closed", "unknown_service" or "invalid_date"); on success
        also "service", "date" and "slots", the free start times as HH:MM.
    """
    caller_from_state(tool_context.state)
    store = services().store
    day = _day(date)
    if day is None or day < store.now().date():
        return {"status": "invalid_date", "message": f"'{date}' is not a day in the future."}
    async with store.read() as conn:
        found = await find_service(conn, service)
        if found is None:
            return {"status": "unknown_service", "services": await list_services(conn)}
        starts = await queries.available_starts(conn, found, day, store.now())
    if not starts:
        return {"status": "closed" if day.weekday() == 6 else "full", "service": found.name, "date": day.isoformat()}
    return {
        "status": "success",
        "service": found.name,
        "date": day.isoformat(),
        "price_ugx": found.price_ugx,
        "slots": [start for start, _chair in starts],
    }


async def book_appointment(service: str, date: str, time: str, tool_context: ToolContext) -> dict[str, Any]:
    """Book an appointment for the customer who is writing.

    Args:
        service: The service to book, for example "haircut" or "box braids".
        date: The day in YYYY-MM-DD form ("tomorrow" is understood too).
        time: The start time in 24-hour HH:MM form, for example "15:00".

    Returns:
        A dict with "status": "success" with the booking "reference", "service", "date" and "time";
        or "unavailable" with "alternatives" (free times that day), "unknown_service" or "invalid_date".
    """
    caller = caller_from_state(tool_context.state)
    store = services().store
    day = _day(date)
    start = parse_time(time) or (time if len(time) == 5 and time[2] == ":" else None)
    if day is None or day < store.now().date():
        return {"status": "invalid_date", "message": f"'{date}' is not a day in the future."}
    if start is None:
        return {"status": "invalid_time", "message": f"'{time}' is not a time of day (use HH:MM)."}

    async def action(conn: Any) -> dict[str, Any]:
        return await queries.book(
            conn, phone=caller.phone, name=caller.name, service_text=service, day=day, time=start,
            message_id=caller.message_id, now=store.now(),
        )  # fmt: skip

    return await store.idempotent(caller.message_id, "book_appointment", action)


async def cancel_appointment(reference: str, date: str, tool_context: ToolContext) -> dict[str, Any]:
    """Cancel one of the customer's own upcoming appointments.

    Args:
        reference: The booking reference such as "APT-1001", or "" when the customer did not give one.
        date: The day of the appointment in YYYY-MM-DD form, or "" when not given.

    Returns:
        A dict with "status": "success" with the "cancelled" appointment; "ambiguous" with the
        customer's "appointments" to choose from; or "not_found".
    """
    caller = caller_from_state(tool_context.state)
    store = services().store
    day = _day(date)
    today = store.now().date()

    async def action(conn: Any) -> dict[str, Any]:
        return await queries.cancel(conn, phone=caller.phone, reference=reference or None, day=day, today=today)

    return await store.idempotent(caller.message_id, "cancel_appointment", action)


async def list_my_appointments(tool_context: ToolContext) -> dict[str, Any]:
    """List the customer's own upcoming appointments.

    Returns:
        A dict with "status" "success" and "appointments", each with "reference", "service",
        "date" and "time" (an empty list when there are none).
    """
    caller = caller_from_state(tool_context.state)
    store = services().store
    async with store.read() as conn:
        mine = await queries.upcoming(conn, caller.phone, store.now().date())
    return {"status": "success", "appointments": mine}
