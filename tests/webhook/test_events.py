"""Wasender events, the signature check and the task classifier (no services needed)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.models import Priority, TaskType
from webhook.classifier import classify, priority_for
from webhook.events import country_code, parse_event, signature_ok
from webhook.sandbox import inbound_event


def _event(**key: Any) -> dict[str, Any]:
    event = inbound_event("+256703722777", "Hello there", name="John Doe", event_id="EV1")
    event["data"]["messages"]["key"].update(key)
    return event


def test_given_a_customer_text_event_when_parsed_then_one_message_with_phone_name_and_text() -> None:
    messages, skipped = parse_event(_event())
    assert skipped == []
    [msg] = messages
    assert (msg.event_id, msg.phone, msg.name, msg.text) == ("EV1", "+256703722777", "John Doe", "Hello there")
    assert msg.remote_jid == "256703722777@s.whatsapp.net"


def test_given_data_messages_as_a_list_when_parsed_then_every_message_is_read() -> None:
    first, second = _event(), _event(id="EV2")
    first["data"]["messages"] = [first["data"]["messages"], second["data"]["messages"]]
    messages, _ = parse_event(first)
    assert [m.event_id for m in messages] == ["EV1", "EV2"]


def test_given_messages_received_with_only_conversation_text_when_parsed_then_the_text_is_used() -> None:
    event = _event()
    event["event"] = "messages.received"
    del event["data"]["messages"]["messageBody"]
    [msg], _ = parse_event(event)
    assert msg.text == "Hello there"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ({"fromMe": True}, "own message"),
        ({"remoteJid": "1203630@g.us"}, "group, status or broadcast message"),
        ({"remoteJid": "status@broadcast"}, "group, status or broadcast message"),
    ],
)
def test_given_own_group_or_status_message_when_parsed_then_it_is_skipped(key: dict[str, Any], reason: str) -> None:
    messages, skipped = parse_event(_event(**key))
    assert messages == [] and skipped == [reason]


def test_given_a_non_message_event_when_parsed_then_nothing_is_handled() -> None:
    messages, skipped = parse_event({"event": "session.status", "data": {}})
    assert messages == [] and "not a message event" in skipped[0]


def test_given_the_secret_when_checked_then_only_the_exact_secret_passes() -> None:
    assert signature_ok("s3cret", "s3cret")
    assert not signature_ok("s3cret ", "s3cret")
    assert not signature_ok(None, "s3cret")
    assert not signature_ok("", "")
    assert not signature_ok("anything", None)


@pytest.mark.parametrize(
    ("phone", "code"), [("+256703722777", "256"), ("+14155550123", "1"), ("+447911123456", "44"), ("+1", None)]
)
def test_given_a_phone_when_its_country_code_is_read_then_it_follows_e164(phone: str, code: str | None) -> None:
    assert country_code(phone) == code


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("Can I book an appointment for Friday?", TaskType.APPOINTMENT),
        ("Where is my order #1042?", TaskType.ORDER),
        ("What is the price of a haircut", TaskType.SEARCH),
        ("Hi, how are you?", TaskType.CONVERSATION),
        ("book a table and order wine", TaskType.APPOINTMENT),
        # The demo's messages and common WhatsApp phrasings (the rule table in webhook.classifier).
        ("Hi! What are your opening hours on Saturday?", TaskType.CONVERSATION),
        ("Do you deliver to Entebbe, and how much does delivery cost?", TaskType.SEARCH),
        ("I'd like to book an appointment for a haircut tomorrow at 10am", TaskType.APPOINTMENT),
        ("Where is my order #1042? It was supposed to arrive yesterday", TaskType.ORDER),
        ("Thanks! Can you also tell me what services you offer?", TaskType.CONVERSATION),
        ("are you open on sunday?", TaskType.CONVERSATION),
        ("what time do you close today", TaskType.CONVERSATION),
        ("where r u located", TaskType.CONVERSATION),
        ("Where is your salon?", TaskType.CONVERSATION),
        ("Hello, how do you do?", TaskType.CONVERSATION),
        ("can I return a product", TaskType.SEARCH),
        ("What is your refund policy?", TaskType.SEARCH),
        ("how do i pay", TaskType.SEARCH),
        ("Do you take momo?", TaskType.SEARCH),
        ("where is ORD-1002", TaskType.ORDER),
        ("Where is my delivery?", TaskType.ORDER),
        ("I want to return order ORD-1002", TaskType.ORDER),
        ("Is there a free slot on Saturday? What time do you open?", TaskType.APPOINTMENT),
        ("Hi, what is the difference between box braids and cornrows?", TaskType.SEARCH),
    ],
)
def test_given_a_message_when_classified_then_the_documented_rule_picks_the_task(text: str, task: TaskType) -> None:
    assert classify(text) is task


def test_given_urgent_words_or_vip_notes_when_prioritised_then_urgent_beats_high_beats_normal() -> None:
    assert priority_for("help ASAP please", "VIP customer") is Priority.URGENT
    assert priority_for("hello", "VIP customer - priority support") is Priority.HIGH
    assert priority_for("hello", None) is Priority.NORMAL
