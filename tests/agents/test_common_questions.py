"""Common WhatsApp questions get a sensible offline answer whichever agent the webhook picked.

The webhook's classifier only picks the *first* agent, and a guess can be wrong, so every
message here goes through the real engine with the offline rule-based model for every task
type. An agent without the natural tool for a question (the order agent has no opening hours
tool) must degrade to a focused knowledge search, never to an unrelated tool such as the
product catalogue. The knowledge base's own ranking is checked too, as is the agreement of its
opening hours with the database's.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from agents.db.seed import HOURS
from agents.knowledge_index import KnowledgeIndex
from agents.models.intents import topic_of
from tests.agents.conftest import make_request, next_open_day, today
from webhook.classifier import classify

TASKS = ("conversation", "appointment", "order", "search")
DEMO_HOURS = "Hi! What are your opening hours on Saturday?"
DEMO_DELIVERY = "Do you deliver to Entebbe, and how much does delivery cost?"
#: Tools that answer nothing about the business's hours, places, policies or prices of services.
UNRELATED = {"list_products_catalogue", "place_order", "list_my_orders", "book_appointment", "cancel_appointment"}


async def _every_agent(engine_factory: Any, text: str) -> dict[str, Any]:
    async with engine_factory() as engine:
        return {task: await engine.run(make_request(task, text)) for task in TASKS}


def _hours(weekday: int) -> tuple[str, str]:
    """(opens, closes) of the seeded opening hours, ("closed", "closed") on a closed day."""
    _day, opens, closes, closed = HOURS[weekday]
    return ("closed", "closed") if closed else (opens, closes)


async def test_given_the_demo_hours_question_when_any_agent_answers_then_saturdays_hours_are_given(
    engine_factory: Any,
) -> None:
    results = await _every_agent(engine_factory, DEMO_HOURS)
    for task, result in results.items():
        assert "Saturday" in result.text and "09:00–18:00" in result.text, (task, result.text)
        assert "returned" not in result.text and "refund" not in result.text, (task, result.text)
        assert not set(result.tools_used) & UNRELATED, (task, result.tools_used)
    assert results["conversation"].tools_used == ("get_business_info",)
    for task in ("appointment", "order", "search"):
        assert results[task].tools_used == ("search_knowledge",)
        assert results[task].reasoning_steps[0].startswith("search_knowledge(query=opening hours ")


async def test_given_the_demo_delivery_question_when_any_agent_answers_then_entebbe_delivery_and_its_fee(
    engine_factory: Any,
) -> None:
    results = await _every_agent(engine_factory, DEMO_DELIVERY)
    for task, result in results.items():
        assert result.tools_used == ("search_knowledge",), (task, result.tools_used)
        for fragment in ("deliver", "Entebbe", "UGX 10,000", "UGX 5,000"):
            assert fragment in result.text, (task, fragment, result.text)
        assert "Shea butter" not in result.text and "Our services" not in result.text, (task, result.text)


#: (message, fragments every agent's reply contains). Realistic WhatsApp phrasings.
COMMON: list[tuple[str, tuple[str, ...]]] = [
    ("are you open on sunday?", ("Sunday: closed",)),
    ("where r u located", ("Kampala Road", "Centenary Bank")),
    ("how do i pay", ("MTN Mobile Money", "Airtel Money")),
    ("Do you take momo?", ("Mobile Money",)),
    ("can I return a product", ("7 days", "refund")),
    ("how much is a manicure", ("UGX 20,000",)),
    ("whats ur phone number", ("+256 700 123 456",)),
    ("What is your cancellation policy?", ("4 hours", "reschedule")),
    ("my parcel arrived damaged 😡", ("photo", "48 hours", "replace")),
    ("how much is delivery to entebbe pls", ("Entebbe", "UGX 10,000")),
    ("Do I need to pay a deposit for braids?", ("UGX 20,000", "deposit")),
    ("hello, how much is shea butter", ("Shea butter", "UGX 18,000")),
]


@pytest.mark.parametrize(("text", "expected"), COMMON, ids=[c[0][:30] for c in COMMON])
async def test_given_a_common_question_when_any_agent_answers_then_the_reply_has_the_facts(
    engine_factory: Any, text: str, expected: tuple[str, ...]
) -> None:
    results = await _every_agent(engine_factory, text)
    for task, result in results.items():
        for fragment in expected:
            assert fragment.lower() in result.text.lower(), (task, fragment, result.text)
        assert result.tools_used, (task, result.text)  # answered from a tool, not from the fallback
        if "shea" not in text:
            assert not set(result.tools_used) & UNRELATED, (task, result.tools_used)


async def test_given_what_time_do_you_close_today_when_any_agent_answers_then_todays_closing_time(
    engine_factory: Any,
) -> None:
    _opens, closes = _hours(today().weekday())
    results = await _every_agent(engine_factory, "what time do you close today")
    for task, result in results.items():
        assert closes in result.text, (task, closes, result.text)
    day = today().strftime("%A")
    assert results["conversation"].text == (
        f"Opening hours: {day}: closed." if closes == "closed" else f"Opening hours: {day}: {_opens}–{closes}."
    )


async def test_given_what_time_do_you_open_tomorrow_when_the_conversation_agent_answers_then_tomorrows_hours(
    engine_factory: Any,
) -> None:
    tomorrow = today() + timedelta(days=1)
    opens, _closes = _hours(tomorrow.weekday())
    async with engine_factory() as engine:
        result = await engine.run(make_request("conversation", "Good morning, what time do you open tomorrow?"))
    assert result.tools_used == ("get_business_info",)
    assert result.text.startswith(f"Opening hours: {tomorrow:%A}: ") and opens in result.text


async def test_given_a_service_price_question_when_the_conversation_agent_answers_then_only_that_service(
    engine_factory: Any,
) -> None:
    async with engine_factory() as engine:
        manicure = await engine.run(make_request("conversation", "how much is a manicure"))
        everything = await engine.run(make_request("conversation", "How much do your services cost?"))
    assert manicure.text.startswith("• Manicure: UGX 20,000 (45 min)") and "Haircut" not in manicure.text
    assert "Haircut: UGX 15,000" in everything.text and "Manicure: UGX 20,000" in everything.text


async def test_given_a_purchase_that_mentions_delivery_when_the_order_agent_answers_then_the_order_is_placed(
    engine_factory: Any,
) -> None:
    async with engine_factory() as engine:
        result = await engine.run(make_request("order", "I want to buy 2 shea butter, do you deliver to Entebbe?"))
    assert result.tools_used == ("list_products_catalogue", "place_order")
    assert "2 × Shea butter 250 g" in result.text


async def test_given_a_booking_with_a_deposit_question_when_answered_then_it_books_and_policy_cancels_nothing(
    engine_factory: Any,
) -> None:
    day = next_open_day(1)
    async with engine_factory() as engine:
        booked = await engine.run(
            make_request("appointment", f"book box braids on {day.day} {day:%B} at 10:00, is there a deposit?")
        )
        policy = await engine.run(make_request("appointment", "What is your cancellation policy?"))
        listed = await engine.run(make_request("appointment", "What are my appointments?"))
    assert booked.tools_used == ("book_appointment",) and "Booked" in booked.text
    assert policy.tools_used == ("search_knowledge",) and "4 hours" in policy.text
    assert "APT-1001" in listed.text  # the seeded appointment is still there


def test_given_the_demo_messages_when_classified_then_hours_go_to_conversation_and_delivery_to_search() -> None:
    assert classify(DEMO_HOURS).value == "conversation"
    assert classify(DEMO_DELIVERY).value == "search"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        (DEMO_HOURS, "hours"),
        (DEMO_DELIVERY, "delivery"),
        ("what time do you close today", "hours"),
        ("How many hours do box braids take?", None),
        ("how many hours is a facial", None),
        ("what time is my appointment", None),
        ("do you sell gift cards", None),
        ("do you take card", "payment"),
        ("can I return an opened product", "returns"),
        ("where r u located", "location"),
        ("What is your cancellation policy?", "policy"),
        ("Book me a haircut tomorrow at 3pm", None),
    ],
)
def test_given_a_message_when_its_topic_is_read_then_the_rule_table_decides(text: str, topic: str | None) -> None:
    found = topic_of(text.lower())
    assert (found.name if found else None) == topic


@pytest.mark.parametrize(
    ("query", "title"),
    [
        (DEMO_HOURS, "Opening hours"),
        ("are you open on sunday?", "Opening hours"),
        (DEMO_DELIVERY, "Delivery"),
        ("can I return a product", "Refund and returns"),
        ("how do i pay", "How do I pay"),
        ("do you take momo", "How do I pay"),
        ("where r u located", "Where are you located"),
        ("whats ur number", "How can I contact you"),
        ("my product arrived damaged", "Damaged or wrong delivery"),
        ("how much is a manicure", "Manicure and pedicure"),
    ],
)
def test_given_a_customer_question_when_the_knowledge_base_is_searched_then_the_faq_entry_wins(
    query: str, title: str
) -> None:
    index = KnowledgeIndex()
    index.build()
    try:
        hits = index.search(query)
    finally:
        index.close()
    assert hits and hits[0].title.startswith(title), [h.title for h in hits]
    assert "<!--" not in hits[0].text and "keywords" not in hits[0].text


def test_given_the_knowledge_base_when_read_then_its_opening_hours_match_the_database() -> None:
    index = KnowledgeIndex()
    index.build()
    try:
        [hours] = [h for h in index.search("opening hours", limit=10) if h.title.startswith("Opening hours")]
    finally:
        index.close()
    weekdays = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    stated: dict[str, str] = {}
    for first, last, span in re.findall(r"(\w+day)(?: to (\w+day))?: ([0-9:]+–[0-9:]+|closed)", hours.text):
        start = weekdays.index(first)
        for day in weekdays[start : weekdays.index(last) + 1 if last else start + 1]:
            stated[day] = span
    expected = {weekdays[d]: ("closed" if closed else f"{o}–{c}") for d, o, c, closed in HOURS}
    assert stated == expected
