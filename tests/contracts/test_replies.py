"""Reply ids and the replies built by success_reply and error_reply."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts.codec import FALLBACK_TEXT, decode_reply, decode_request, encode, error_reply, reply_id, success_reply
from contracts.errors import AgentTimeoutError, PoisonMessageError
from contracts.models import AgentMetadata, ReplyStatus
from tests.contracts.spec_examples import body, concrete_reply, concrete_request


def key_set(value: Any) -> Any:
    """The key names of a JSON value, recursively; lists are compared by the keys of their objects."""
    if isinstance(value, dict):
        return {key: key_set(child) for key, child in value.items()}
    if isinstance(value, list):
        return [key_set(child) for child in value if isinstance(child, dict)][:1] or "list"
    return None


SPEC_REPLY_KEYS = key_set(concrete_reply())


def test_given_one_request_id_when_reply_id_is_derived_twice_then_it_is_the_same_uuid5() -> None:
    first = reply_id("req-1")
    assert first == reply_id("req-1")
    assert uuid.UUID(first).version == 5


def test_given_different_request_ids_when_reply_ids_are_derived_then_they_differ() -> None:
    derived = {reply_id(f"req-{i}") for i in range(1000)}
    assert len(derived) == 1000
    assert reply_id("uuid-v4") != "uuid-v4"


def test_given_the_fixed_namespace_when_deriving_then_the_id_never_changes_between_releases() -> None:
    # A changed namespace would make every in-flight redelivery look like a new reply.
    assert reply_id("uuid-v4") == str(uuid.uuid5(uuid.UUID("6f1c1f0e-8a43-5b7e-9d1a-3c5e2b7a9f10"), "uuid-v4"))


def test_given_a_request_when_a_success_reply_is_built_then_it_has_the_spec_shape() -> None:
    request = decode_request(body(concrete_request()))
    metadata = AgentMetadata(
        tools_used=("database_query",), reasoning_steps=("looked up",), processing_time=1.5, tokens_used=42
    )
    reply = success_reply(request, "Hello John", metadata, now=1_700_000_000.9)
    out = json.loads(encode(reply))
    assert key_set(out) == {**SPEC_REPLY_KEYS, "error": None, "response": {**SPEC_REPLY_KEYS["response"]}}
    assert out["messageId"] == reply_id("uuid-v4")
    assert out["originalMessageId"] == "uuid-v4"
    assert out["timestamp"] == 1_700_000_000
    assert out["status"] == "success"
    assert out["contact"] == {
        "remoteJid": "256703722777@s.whatsapp.net",
        "phoneNumber": "+256703722777",
        "name": "John Doe",
    }
    assert out["response"] == {"text": "Hello John", "type": "text", "attachments": []}
    assert out["agentMetadata"] == {
        "toolsUsed": ["database_query"],
        "reasoningSteps": ["looked up"],
        "processingTime": 1.5,
        "tokensUsed": 42,
    }
    assert out["error"] is None
    assert decode_reply(encode(reply)) == reply


def test_given_a_partial_run_when_a_success_reply_is_built_then_status_is_partial() -> None:
    request = decode_request(body(concrete_request()))
    assert success_reply(request, "so far", AgentMetadata(), partial=True).status is ReplyStatus.PARTIAL


def test_given_a_redelivered_request_when_replies_are_built_twice_then_they_share_the_message_id() -> None:
    request = decode_request(body(concrete_request()))
    assert (
        success_reply(request, "a", AgentMetadata()).message_id
        == success_reply(request, "b", AgentMetadata()).message_id
    )
    assert error_reply(request.message_id, request.contact, RuntimeError("x")).message_id == reply_id("uuid-v4")


def test_given_a_project_error_when_an_error_reply_is_built_then_it_has_the_spec_shape() -> None:
    request = decode_request(body(concrete_request()))
    reply = error_reply(request.message_id, request.contact, AgentTimeoutError("ran past 300 s"), now=5)
    out = json.loads(encode(reply))
    assert key_set(out) == SPEC_REPLY_KEYS
    assert out["status"] == "error"
    assert out["response"]["text"] == FALLBACK_TEXT
    assert out["error"] == {"code": "PROCESSING_TIMEOUT", "message": "ran past 300 s", "stack": None}
    assert out["originalMessageId"] == "uuid-v4"
    assert out["messageId"] == reply_id("uuid-v4")


def test_given_a_foreign_exception_and_a_salvaged_contact_dict_when_an_error_reply_is_built_then_it_works() -> None:
    contact = {"remoteJid": "1@s.whatsapp.net", "phoneNumber": "+1", "name": None, "countryCode": "1"}
    try:
        raise ValueError("boom")
    except ValueError as exc:
        reply = error_reply("m-1", contact, exc, include_stack=True)
    assert reply.error is not None
    assert reply.error.code == "ValueError"
    assert reply.error.stack is not None and "ValueError: boom" in reply.error.stack
    assert json.loads(encode(reply))["contact"] == {"remoteJid": "1@s.whatsapp.net", "phoneNumber": "+1", "name": None}


def test_given_a_poison_error_when_an_error_reply_is_built_then_the_code_is_invalid_message() -> None:
    error = PoisonMessageError("taskType: bad", {"remoteJid": "j", "phoneNumber": "p"}, "m-2")
    reply = error_reply(error.message_id or "", error.contact or {}, error)
    assert reply.error is not None and (reply.error.code, reply.error.message) == ("INVALID_MESSAGE", "taskType: bad")


def test_given_a_huge_error_message_when_an_error_reply_is_built_then_it_is_truncated() -> None:
    reply = error_reply("m", {"remoteJid": "j", "phoneNumber": "p"}, RuntimeError("x" * 10_000), include_stack=True)
    assert reply.error is not None
    assert len(reply.error.message) == 1000
    assert reply.error.stack is not None and len(reply.error.stack) <= 4000
