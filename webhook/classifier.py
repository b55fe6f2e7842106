"""Which agent answers a message: a small, documented keyword classifier.

The first rule that matches wins, in this order. Keywords match as whole words or phrases,
case-insensitive; a rule listed first wins over a later one because it is the more specific or
more urgent reading ("book a table and order wine" is a booking; "where is my order?" is about
an order, not about where the shop is).

=====  ================  ==========================================================================
 #     ``taskType``      the message mentions ...
=====  ================  ==========================================================================
 1     ``appointment``   book, booking, appointment(s), schedule, reschedule, slot(s), reserve,
                         reservation, available, availability, cancel my appointment/booking
 2     ``order``         order(s), an order number (ORD-1002), buy, purchase, cart, checkout, track,
                         tracking, invoice, shipped, my package / parcel / delivery
 3     ``conversation``  opening hours and location: open, opening, opens, close(s), closed,
                         closing, hours, what time, timing(s), location, located, address,
                         directions, where are you / where r u, where is your salon/shop, contact,
                         phone number
 4     ``search``        delivery, returns and policies: deliver, delivery, shipping, ship,
                         courier, transport, refund(s), return(s), exchange, policy, policies,
                         deposit, damaged, pay, payment, mobile money, momo
 5     ``conversation``  a greeting and little else: hi / hello / hey / good morning... and at most
                         five words in all ("Hello, how do you do?")
 6     ``search``        search, find, look up, lookup, google, what is, who is, where is, how do,
                         how to, price of, news, weather
 7     ``conversation``  anything else
=====  ================  ==========================================================================

Delivery, returns and policy questions go to ``search`` because the answer is in the knowledge
base; every agent can answer them (each has knowledge search), so this choice is about the
better first agent, not about correctness. Opening hours and location go to ``conversation``,
whose business-info tool has the hours per weekday.

Priority: ``urgent`` for urgent, asap, emergency, immediately, right now; ``high`` when the
contact's notes mention VIP; else ``normal``. The agents can re-route; this only picks the
first agent, so a wrong guess costs a little quality, never a lost message.
"""

from __future__ import annotations

import re

from contracts.models import Priority, TaskType

__all__ = ["classify", "priority_for"]


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


_GREETING = re.compile(
    r"^\W*(?:hi+|hello+|hey+|hallo|good (?:morning|afternoon|evening)|greetings|oli otya|gyebale ko)\b", re.IGNORECASE
)
_RULES: tuple[tuple[TaskType, re.Pattern[str]], ...] = (
    (
        TaskType.APPOINTMENT,
        _words(
            "book", "booking", "appointments?", "schedule", "reschedule", "slots?", "reserve",
            "reservation", "available", "availability", r"cancel my (?:appointment|booking)",
        ),
    ),
    (
        TaskType.ORDER,
        _words(
            "orders?", r"ord[\s#:-]*\d+", "buy", "purchase", "cart", "checkout", "track", "tracking", "invoice",
            "shipped", r"my (?:package|parcel|delivery)",
        ),
    ),
    (
        TaskType.CONVERSATION,
        _words(
            "open", "opening", "opens", "close", "closes", "closed", "closing", "hours", r"what time", "timings?",
            "location", "located", "address", "directions?", r"where (?:are|r) (?:you|u)",
            r"where is (?:your|the) (?:salon|shop|studio|place|office)", "contact", r"phone number",
        ),
    ),
    (
        TaskType.SEARCH,
        _words(
            "deliver", "delivery", "deliveries", "shipping", "ship", "courier", "transport", "refunds?",
            "returns?", "returned", "exchange", "polic(?:y|ies)", "deposit", "damaged", "pay", "payment",
            r"mobile money", "momo",
        ),
    ),
)  # fmt: skip
_LOOKUP = _words(
    "search",
    "find",
    r"look up",
    "lookup",
    "google",
    r"what is",
    r"who is",
    r"where is",
    r"how do",
    r"how to",
    r"price of",
    "news",
    "weather",
)
_URGENT = re.compile(r"\b(?:urgent|asap|emergency|immediately|right now)\b", re.IGNORECASE)
_VIP = re.compile(r"\bvip\b", re.IGNORECASE)


def classify(text: str) -> TaskType:
    """The ``taskType`` of a customer message (the module docstring's table, top to bottom)."""
    for task, pattern in _RULES:
        if pattern.search(text):
            return task
    if _GREETING.search(text) and len(re.findall(r"[\w']+", text)) <= 5:
        return TaskType.CONVERSATION
    if _LOOKUP.search(text):
        return TaskType.SEARCH
    return TaskType.CONVERSATION


def priority_for(text: str, notes: str | None) -> Priority:
    """The ``metadata.priority`` of a customer message."""
    if _URGENT.search(text):
        return Priority.URGENT
    if notes and _VIP.search(notes):
        return Priority.HIGH
    return Priority.NORMAL
