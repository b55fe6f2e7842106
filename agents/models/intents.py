"""The rule-based model's understanding: which tool a WhatsApp message asks for, with what arguments.

Keyword and regular-expression rules, checked in a fixed order, over common English phrasings
of the requests this business gets. Only tools the current agent actually offers are chosen;
anything not recognised becomes a knowledge-base search when the agent has one. This is
deliberately simple and predictable: it is the model that lets the whole system run with no
LLM access, not an attempt at language understanding.

Common questions are *topics* (:data:`TOPICS`): opening hours, location, contact, payment,
delivery, returns, damaged goods, policies. Each names the tools that answer it, best first,
and a focused knowledge-base query. Whichever agent the webhook picked, a topic question is
answered by the first of those tools the agent has, so an agent without the natural tool
degrades to knowledge search (e.g. "opening hours ..." for an hours question in the order
agent) and never to an unrelated tool such as the product catalogue. Price questions work the
same way: a service price goes to the service list or, failing that, the knowledge base; a
product price to the catalogue or the knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agents.dates import parse_date, parse_time

__all__ = ["TOPICS", "Intent", "Topic", "plan", "product_lines", "topic_of"]


@dataclass(frozen=True)
class Intent:
    """A tool to call, or (``tool`` None) a direct text answer."""

    tool: str | None
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""


_GREETING = re.compile(
    r"^\W*(hi+|hello+|hey+|hallo|good (morning|afternoon|evening)|greetings|oli otya|gyebale ko)\b", re.I
)
_THANKS = re.compile(r"\b(thanks?|thank you|thx|asante|webale|bye|goodbye|see you)\b", re.I)
_ORDER_NO = re.compile(r"\b(?:ord[\s#:-]*|order\s*(?:number|no\.?|#)?\s*#?\s*)(\d{3,8})\b", re.I)
_APPT_REF = re.compile(r"\bapt[\s#:-]*([0-9a-f]{3,8})\b", re.I)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
_MONTH_WORDS = (
    "jan january feb february mar march apr april may jun june jul july aug august sep sept september oct october "
    "nov november dec december".split()
)
_FILLER = set(
    "i want would like to please can you could me a an the of and some also buy order get send need "
    "book booking appointment appointments for at on in slot tomorrow today next this morning afternoon "
    "evening pm am is there any available free space do have have make schedule reserve".split()
)


@dataclass(frozen=True)
class Topic:
    """A common question: how to recognise it, which tools answer it (best first), what to search."""

    name: str
    pattern: re.Pattern[str]
    tools: tuple[str, ...]
    query: str


def _words_re(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(patterns), re.I)


#: Checked in this order; the first match is the message's topic.
TOPICS: tuple[Topic, ...] = (
    Topic(
        "policy", _words_re(r"\bpolic(y|ies)\b", r"\bterms and conditions\b", r"\bdeposit"),
        ("search_knowledge",), "policy",
    ),
    Topic(
        "damaged", _words_re(r"\bdamaged?\b", r"\bbroken\b", r"\bfaulty\b", r"\bwrong (item|product|order)\b"),
        ("search_knowledge",), "damaged wrong item replace",
    ),
    Topic(
        "returns", _words_re(r"\breturn(s|ed|ing)?\b", r"\brefunds?\b", r"\bexchange\b", r"\bmoney back\b"),
        ("search_knowledge",), "returns refund exchange",
    ),
    Topic(
        "delivery",
        _words_re(r"\bdeliver", r"\bship(ping|ped)?\b", r"\btransport\b", r"\bcourier\b", r"\bboda\b",
                  r"\bupcountry\b"),
        ("search_knowledge", "get_business_info"), "delivery areas fees",
    ),
    Topic(
        "payment",
        _words_re(r"\bpay(ing|ment|ments)?\b", r"\bmobile money\b", r"\bmomo\b", r"\bairtel\b", r"\bmtn\b",
                  r"\bcash\b", r"(?<!gift )\bcards?\b"),
        ("get_business_info", "search_knowledge"), "payment mobile money",
    ),
    Topic(
        "hours",
        _words_re(r"\bopen(ing|s)?\b", r"\bclos(e|es|ed|ing)\b", r"\bwhat time\b(?!.{0,12}\bmy\b)", r"\btimings?\b",
                  r"\b(opening|working|business|your) hours\b", r"(?<!how many )\bhours\b(?!.*\b(take|last)\b)"),
        ("get_business_info", "search_knowledge"), "opening hours",
    ),
    Topic(
        "location",
        _words_re(r"\blocat", r"\baddress", r"\bdirections?\b", r"\bwhere (are|r) (you|u)\b", r"\bfind you\b",
                  r"\bwhere is (your|the) (salon|shop|studio|place|office)\b", r"\bget there\b", r"\bpark(ing)?\b"),
        ("get_business_info", "search_knowledge"), "location address",
    ),
    Topic(
        "contact",
        _words_re(r"\bphone number\b", r"\bcontact\b", r"\bcall you\b", r"\bemail\b", r"\bwhatsapp number\b",
                  r"\byour number\b", r"\bur number\b"),
        ("get_business_info", "search_knowledge"), "contact phone",
    ),
)  # fmt: skip

#: Words that name a salon service (not a product: "nail polish" and "braiding hair" are products).
_SERVICE_WORDS = re.compile(
    r"\b(hair ?cuts?|trim|box braids|braids|braiding(?! hair)|knotless|cornrows?|manicure|mani|pedicure|pedi|gel"
    r"|nails?(?! polish)|facial|blow[- ]?dry|hair wash)\b",
    re.I,
)
#: Words that name a shop product.
_PRODUCT_WORDS = re.compile(
    r"\b(shea|butter|oil|shampoo|conditioner|soap|comb|polish|braiding hair|hair pack|products?)\b", re.I
)
_PRICE = re.compile(r"\b(prices?|how much|cost|costs|charge|rates?)\b", re.I)
#: An explicit purchase ("buy", or "I want 2 ..."): it is an order even if delivery is mentioned too.
_PURCHASE = re.compile(
    r"\bbuy\b|\b(order|send me|get me|give me|i'?d like|i want|i need)\b(\s+to\s+(buy|order|get))?"
    r"\s+(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b",
    re.I,
)


def topic_of(text: str) -> Topic | None:
    """The common question ``text`` asks, if any (the first of :data:`TOPICS` that matches)."""
    return next((topic for topic in TOPICS if topic.pattern.search(text)), None)


def _answer_topic(topic: Topic, text: str, tools: set[str]) -> Intent | None:
    """The first tool of ``topic`` the agent has; knowledge search gets the focused query plus the message."""
    for tool in topic.tools:
        if tool in tools:
            return Intent(tool, {"query": f"{topic.query} {text}"} if tool == "search_knowledge" else {})
    return None


def _focused(pattern: re.Pattern[str], text: str) -> str:
    """The words of ``text`` that ``pattern`` matches, e.g. "manicure" for "how much is a manicure?"."""
    return " ".join(dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text))) or text


def _has(text: str, *patterns: str) -> bool:
    return any(re.search(pattern, text) for pattern in patterns)


def _service_text(text: str) -> str:
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _FILLER and len(w) > 1]
    calendar = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "noon", "days"}
    calendar |= {m for m in _MONTH_WORDS}
    return " ".join(w for w in words if w not in calendar and not w.rstrip("stndrh").isdigit()) or text


def _quantity(words: list[str]) -> int:
    for word in words:
        if word.isdigit() and 0 < int(word) <= 50:
            return int(word)
        if word in _NUMBERS:
            return _NUMBERS[word]
    return 1


def product_lines(text: str, catalogue: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order lines (product name, quantity) for the catalogue products ``text`` mentions, in order.

    The message is split into mentions at "and", commas and "plus"; each mention names the
    product whose name shares the most words with it (ties go to the shorter name).
    """
    lines: list[dict[str, Any]] = []
    for chunk in re.split(r",|\band\b|\bplus\b|&|\n", text.lower()):
        words = re.findall(r"[a-z0-9]+", chunk)
        stems = {w.rstrip("s") for w in words if len(w) > 2}
        best: tuple[int, int, str] | None = None
        for product in catalogue:
            name = str(product.get("name", ""))
            keys = {w.rstrip("s") for w in re.findall(r"[a-z]+", name.lower()) if len(w) > 2}
            score = len(stems & keys)
            if score and (best is None or (score, -len(keys)) > (best[0], best[1])):
                best = (score, -len(keys), name)
        if best is not None and all(line["product"] != best[2] for line in lines):
            lines.append({"product": best[2], "quantity": _quantity(words)})
    return lines


def _follow_on_booking(text: str, tools: set[str], today: date, earlier: str) -> Intent | None:
    """ "10:00 please" after asking about a service and a day: book with the earlier service and day."""
    time = parse_time(text)
    if time is None or "book_appointment" not in tools or parse_date(text, today) is not None or not earlier:
        return None
    day = parse_date(earlier, today)
    if day is None or not _has(
        earlier, r"\bbook", r"\bappointment", r"\bspace\b", r"\bavailab", r"\bfree\b", r"\bslots?\b"
    ):
        return None
    return Intent("book_appointment", {"service": _service_text(earlier), "date": day.isoformat(), "time": time})


def _appointment(text: str, tools: set[str], today: date) -> Intent | None:
    ref = _APPT_REF.search(text)
    day = parse_date(text, today)
    if "cancel_appointment" in tools and _has(text, r"\bcancel", r"\bcan'?t make it\b", r"\bcall off\b"):
        return Intent(
            "cancel_appointment",
            {"reference": f"APT-{ref[1].upper()}" if ref else "", "date": day.isoformat() if day else ""},
        )
    if "list_my_appointments" in tools and _has(
        text, r"\bmy (appointments?|bookings?)\b", r"\bwhen is my\b", r"\bdo i have an? (appointment|booking)"
    ):
        return Intent("list_my_appointments")
    wants_booking = _has(
        text, r"\bbook", r"\bappointment", r"\bschedule\b", r"\breserve\b", r"\bslots?\b", r"\bavailab",
        r"\bfree\b", r"\bspace\b", r"\bcome in\b", r"\bcan i (get|come|have)\b",
    )  # fmt: skip
    if not wants_booking:
        return None
    time = parse_time(text)
    service = _service_text(text)
    if day is not None and time is not None and "book_appointment" in tools and not _has(text, r"\bavailab|\bfree\b"):
        return Intent("book_appointment", {"service": service, "date": day.isoformat(), "time": time})
    if day is not None and "check_availability" in tools:
        return Intent("check_availability", {"service": service, "date": day.isoformat()})
    if "check_availability" in tools:
        return Intent(None, text="Which day would you like to come in, and for which service? For example: "
                                 "\"haircut tomorrow at 3pm\".")  # fmt: skip
    return None


def plan(text: str, tools: set[str], today: date, earlier: str = "") -> Intent:
    """The first step for the customer's message ``text`` with the agent's ``tools``.

    ``earlier`` is the customer's previous message, if any, for follow-ups such as a bare time.
    """
    lowered = text.lower().strip()
    words = re.findall(r"[a-z']+", lowered)
    if _GREETING.search(lowered) and len(words) <= 4:
        return Intent(None, text="greeting")
    if _THANKS.search(lowered) and len(words) <= 5:
        return Intent(None, text="thanks")
    order_no = _ORDER_NO.search(text)
    if order_no and "get_order_status" in tools:
        return Intent("get_order_status", {"order_number": f"ORD-{order_no[1]}"})
    if "list_my_orders" in tools and _has(lowered, r"\bmy orders\b", r"\border history\b", r"\bwhat did i (order|buy)"):
        return Intent("list_my_orders")
    if "get_order_status" in tools and _has(lowered, r"\b(where|status).{0,20}\bmy (order|package|delivery)\b"):
        return Intent("list_my_orders")
    topic = topic_of(lowered)
    purchase = "list_products_catalogue" in tools and bool(_PURCHASE.search(lowered))
    appointment = _follow_on_booking(lowered, tools, today, earlier.lower()) or _appointment(lowered, tools, today)
    cancels = appointment is not None and appointment.tool == "cancel_appointment"
    if topic is not None and topic.name == "policy" and (appointment is None or cancels):
        # "What is your cancellation policy?" asks about the policy; it cancels nothing.
        return _answer_topic(topic, text, tools) or Intent(None, text="fallback")
    if appointment is not None and (appointment.tool is not None or topic is None):
        return appointment
    if topic is not None and not (purchase and topic.name in ("delivery", "payment")):
        # No tool for the topic: say so rather than answer with an unrelated tool.
        return _answer_topic(topic, text, tools) or Intent(None, text="fallback")
    asks_price = bool(_PRICE.search(lowered))
    service = _SERVICE_WORDS.search(lowered) is not None
    product = _PRODUCT_WORDS.search(lowered) is not None
    if "list_products_catalogue" in tools and (purchase or not (service and not product)) and _has(
        lowered,
        r"\b(order|buy|purchase|send me|get me|i'?d like|i want|i need)\b",
        r"\b(sell|stock|price|cost|how much)",
        r"\bproducts?\b",
    ):  # fmt: skip
        return Intent("list_products_catalogue")
    if "get_business_info" in tools and _has(
        lowered, r"\bwhere\b", r"\blocat", r"\baddress", r"\bdirections?\b", r"\bopen", r"\bclos", r"\bhours?\b",
        r"\bphone number\b", r"\bcontact\b", r"\bpay(ment)?\b", r"\bmobile money\b", r"\bmomo\b",
    ):  # fmt: skip
        return Intent("get_business_info")
    if asks_price and product and not service and "search_knowledge" in tools:
        return Intent("search_knowledge", {"query": _focused(_PRODUCT_WORDS, lowered)})
    if "list_services_and_prices" in tools and _has(
        lowered, r"\bservices\b", r"\bprices?\b", r"\bhow much\b", r"\bcost"
    ):
        return Intent("list_services_and_prices")
    if asks_price and service and "search_knowledge" in tools:
        return Intent("search_knowledge", {"query": _focused(_SERVICE_WORDS, lowered)})
    if "web_search" in tools and _has(lowered, r"\b(search|look up|google)\b.{0,20}\b(web|internet|online)\b"):
        return Intent("web_search", {"query": text})
    if "search_knowledge" in tools:
        return Intent("search_knowledge", {"query": text})
    return Intent(None, text="fallback")
