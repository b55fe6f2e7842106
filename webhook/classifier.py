"""Which agent answers a message: a small, documented keyword classifier.

The first rule whose keywords appear as whole words (case-insensitive) wins, in this order,
because a message such as "book a table and order wine" is more urgent as a booking:

1. ``appointment``: book, booking, appointment, schedule, reschedule, slot, reserve,
   reservation, available, availability, cancel my appointment/booking
2. ``order``: order, orders, buy, purchase, cart, checkout, delivery, deliver, track,
   tracking, refund, return, pay, payment, invoice, shipped, shipping
3. ``search``: search, find, look up, lookup, google, what is, who is, where is, how do, how to,
   price of, hours, opening, open, news, weather
4. otherwise ``conversation``.

Priority: ``urgent`` for urgent, asap, emergency, immediately, right now; ``high`` when the
contact's notes mention VIP; else ``normal``. The agents can re-route; this only picks the
first agent, so a wrong guess costs a little quality, never a lost message.
"""

from __future__ import annotations

import re

from contracts.models import Priority, TaskType

__all__ = ["classify", "priority_for"]

_RULES: tuple[tuple[TaskType, re.Pattern[str]], ...] = tuple(
    (task, re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE))
    for task, words in (
        (
            TaskType.APPOINTMENT,
            (
                "book", "booking", "appointments?", "schedule", "reschedule", "slots?", "reserve",
                "reservation", "available", "availability", r"cancel my (?:appointment|booking)",
            ),
        ),
        (
            TaskType.ORDER,
            (
                "orders?", "buy", "purchase", "cart", "checkout", "delivery", "deliver", "track",
                "tracking", "refund", "return", "pay", "payment", "invoice", "shipped", "shipping",
            ),
        ),
        (
            TaskType.SEARCH,
            (
                "search", "find", r"look up", "lookup", "google", r"what is", r"who is", r"where is",
                r"how do", r"how to", r"price of", "hours", "opening", "open", "news", "weather",
            ),
        ),
    )
)  # fmt: skip
_URGENT = re.compile(r"\b(?:urgent|asap|emergency|immediately|right now)\b", re.IGNORECASE)
_VIP = re.compile(r"\bvip\b", re.IGNORECASE)


def classify(text: str) -> TaskType:
    """The ``taskType`` of a customer message."""
    for task, pattern in _RULES:
        if pattern.search(text):
            return task
    return TaskType.CONVERSATION


def priority_for(text: str, notes: str | None) -> Priority:
    """The ``metadata.priority`` of a customer message."""
    if _URGENT.search(text):
        return Priority.URGENT
    if notes and _VIP.search(notes):
        return Priority.HIGH
    return Priority.NORMAL
