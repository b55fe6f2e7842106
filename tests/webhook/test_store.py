"""The store, the inbox and the delivery ledger: one test body, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from contracts.codec import error_reply, reply_id, success_reply
from contracts.errors import AgentFailedError
from contracts.models import AgentMetadata, AgentReply, Role
from webhook.events import parse_event
from webhook.inbox import Inbox
from webhook.ledger import Claim, Ledger, delivery_key
from webhook.sandbox import inbound_event
from webhook.store import Store

PHONE = "+256703722777"


@pytest_asyncio.fixture
async def store(backend: tuple[str, str | None]) -> AsyncIterator[Store]:
    url, schema = backend
    store = Store(url, schema=schema)
    await store.start()
    yield store
    await store.drop_all()
    await store.stop()


def _msg(text: str, event_id: str):  # type: ignore[no-untyped-def]
    [msg], _ = parse_event(inbound_event(PHONE, text, name="John Doe", event_id=event_id))
    return msg


async def _reply(inbox: Inbox, text: str = "Hi", event_id: str = "E1") -> AgentReply:
    rec = await inbox.record(_msg(text, event_id))
    request = inbox.build_request(rec, _msg(text, event_id))
    return success_reply(request, "Hello John", AgentMetadata(tools_used=("t",)))


async def test_given_the_same_event_twice_when_recorded_then_one_row_and_the_same_request_id(store: Store) -> None:
    inbox = Inbox(store)
    first = await inbox.record(_msg("Hi", "E1"))
    second = await inbox.record(_msg("Hi", "E1"))
    assert not first.duplicate and second.duplicate
    assert second.request_id == first.request_id and second.row_id == first.row_id
    assert len(await store.messages(PHONE)) == 1


async def test_given_earlier_messages_and_notes_when_building_then_history_and_notes_are_in_context(
    store: Store,
) -> None:
    inbox = Inbox(store)
    await store.update_contact(PHONE, notes="VIP customer")
    ledger = Ledger(store, "owner-a", lease=60)
    reply = await _reply(inbox, "Do you open on Saturday?", "E1")
    await ledger.claim(delivery_key(reply.original_message_id), reply)
    await ledger.mark_sent(delivery_key(reply.original_message_id), reply, "Hello John")
    rec = await inbox.record(_msg("And on Sunday?", "E2"))
    request = inbox.build_request(rec, _msg("And on Sunday?", "E2"))
    assert [(t.role, t.content) for t in request.context.conversation_history] == [
        (Role.USER, "Do you open on Saturday?"),
        (Role.ASSISTANT, "Hello John"),
    ]
    assert request.context.user_notes == "VIP customer"
    assert request.metadata.priority.value == "high"
    assert request.contact.country_code == "256"
    assert request.context.session_data["firstSeen"] > 0


async def test_given_ai_turned_off_when_recorded_then_the_record_says_so(store: Store) -> None:
    await store.update_contact(PHONE, ai_enabled=False)
    rec = await Inbox(store).record(_msg("Hi", "E1"))
    assert rec.ai_enabled is False
    row = await store.update_contact(PHONE, ai_enabled=True)
    assert row.ai_enabled is True


async def test_given_a_sent_reply_when_claimed_again_then_it_is_not_sent_twice(store: Store) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    assert key == reply_id(reply.original_message_id) == reply.message_id
    ledger = Ledger(store, "owner-a", lease=60)
    assert await ledger.claim(key, reply) is Claim.SEND
    assert await ledger.claim(key, reply) is Claim.ACTIVE
    await ledger.mark_sending(key)
    sent = await ledger.mark_sent(key, reply, "Hello John")
    assert sent.latency is not None and sent.latency >= 0
    assert await ledger.claim(key, reply) is Claim.SENT
    assert await Ledger(store, "owner-b", lease=60).claim(key, reply) is Claim.SENT
    outgoing = [m for m in await store.messages(PHONE) if m.direction == "out"]
    assert [m.text for m in outgoing] == ["Hello John"]
    assert outgoing[0].agent_metadata is not None and outgoing[0].agent_metadata["toolsUsed"] == ["t"]


async def test_given_a_failed_send_when_claimed_again_then_it_is_sent_by_whoever_retries(store: Store) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    first = Ledger(store, "owner-a", lease=60)
    assert await first.claim(key, reply) is Claim.SEND
    await first.mark_sending(key)
    await first.mark_failed(key, "500")
    assert await Ledger(store, "owner-b", lease=60).claim(key, reply) is Claim.SEND


async def test_given_a_crash_during_the_http_call_when_claimed_after_the_lease_then_unknown_and_never_resent(
    store: Store,
) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    crashed = Ledger(store, "owner-a", lease=0.0)
    assert await crashed.claim(key, reply) is Claim.SEND
    await crashed.mark_sending(key)
    survivor = Ledger(store, "owner-b", lease=0.0)
    assert await survivor.claim(key, reply) is Claim.UNKNOWN
    assert await survivor.claim(key, reply) is Claim.FINAL
    assert await survivor.state(key) == "unknown"


async def test_given_another_owners_fresh_claim_when_claimed_then_busy_and_after_shutdown_release_sendable(
    store: Store,
) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    stopping = Ledger(store, "owner-a", lease=60)
    assert await stopping.claim(key, reply) is Claim.SEND
    other = Ledger(store, "owner-b", lease=60)
    assert await other.claim(key, reply) is Claim.BUSY
    assert await stopping.release_pending() == 1
    assert await other.claim(key, reply) is Claim.SEND


async def test_given_an_answer_and_a_fallback_of_one_request_when_claimed_then_only_the_answer_counts(
    store: Store,
) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    ledger = Ledger(store, "owner-a", lease=60)
    assert await ledger.claim(key, reply) is Claim.SEND
    await ledger.mark_sending(key)
    await ledger.mark_failed(key, "500")
    fallback = error_reply(reply.original_message_id, reply.contact.model_dump(), AgentFailedError("x"))
    assert await ledger.claim(key, fallback) is Claim.FINAL


async def test_given_retries_exhausted_when_abandoned_twice_then_only_the_first_caller_alerts(store: Store) -> None:
    reply = await _reply(Inbox(store))
    key = delivery_key(reply.original_message_id)
    ledger = Ledger(store, "owner-a", lease=60)
    await ledger.claim(key, reply)
    await ledger.mark_sending(key)
    await ledger.mark_failed(key, "refused")
    assert await ledger.abandon(key, reply, "gave up") is True
    assert await ledger.abandon(key, reply, "gave up") is False
    assert await ledger.state(key) == "abandoned"
