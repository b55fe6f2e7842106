"""Each field's validation and the limits that protect the service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.codec import DecodeLimits, decode_reply, decode_request
from contracts.errors import PoisonMessageError
from contracts.models import MAX_TEXT_CHARS, AgentRequest, TaskType
from tests.contracts.spec_examples import body, concrete_request, with_value


def reason_of(obj: Any, limits: DecodeLimits | None = None) -> str:
    with pytest.raises(PoisonMessageError) as caught:
        decode_request(body(obj), limits)
    return caught.value.reason


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("taskType", "chitchat", "taskType"),
        ("taskType", "CONVERSATION", "taskType"),
        ("metadata.priority", "low", "metadata.priority"),
        ("context.conversationHistory.0.role", "system", "context.conversationHistory.0.role"),
        ("metadata.retryCount", -1, "metadata.retryCount"),
        ("metadata.retryCount", 101, "metadata.retryCount"),
        ("metadata.maxRetries", -1, "metadata.maxRetries"),
        ("metadata.maxRetries", 21, "metadata.maxRetries"),
        ("metadata.retryCount", "zero", "metadata.retryCount"),
        ("timestamp", -5, "timestamp"),
        ("timestamp", "yesterday", "timestamp"),
        ("message.timestamp", 10**13 + 1, "message.timestamp"),
        ("timestamp", 1e300, "timestamp"),
        ("message.text", "", "message.text"),
        ("message.text", "x" * (MAX_TEXT_CHARS + 1), "message.text"),
        ("message.text", 42, "message.text"),
        ("message.messageId", "", "message.messageId"),
        ("messageId", "", "messageId"),
        ("messageId", "m" * 257, "messageId"),
        ("contact.remoteJid", "", "contact.remoteJid"),
        ("contact.remoteJid", "j" * 257, "contact.remoteJid"),
        ("contact.phoneNumber", "1" * 33, "contact.phoneNumber"),
        ("contact.name", "n" * 257, "contact.name"),
        ("contact.countryCode", "123456789", "contact.countryCode"),
        ("context.userNotes", "u" * 4097, "context.userNotes"),
        ("context.conversationHistory.0.content", "c" * (MAX_TEXT_CHARS * 4 + 1), "context.conversationHistory"),
        ("context.conversationHistory", "not a list", "context.conversationHistory"),
        ("context.sessionData", [], "context.sessionData"),
        ("contact", "256703722777", "contact"),
        ("message", None, "message"),
    ],
)
def test_given_one_invalid_field_when_decoded_then_the_poison_reason_names_that_field(
    path: str, value: Any, field: str
) -> None:
    reason = reason_of(with_value(concrete_request(), path, value))
    assert reason.startswith(f"{field}"), reason


@pytest.mark.parametrize(
    "path",
    [
        "messageId",
        "timestamp",
        "taskType",
        "contact",
        "message",
        "contact.remoteJid",
        "contact.phoneNumber",
        "message.text",
        "message.messageId",
        "message.timestamp",
        "context.conversationHistory.0.role",
        "context.conversationHistory.0.content",
    ],
)
def test_given_a_required_field_missing_when_decoded_then_the_reason_names_it_as_required(path: str) -> None:
    reason = reason_of(with_value(concrete_request(), path, ...))
    assert reason.startswith(f"{path}: Field required"), reason


@pytest.mark.parametrize(
    "path", ["context", "metadata", "contact.name", "contact.countryCode", "context.userNotes", "context.sessionData"]
)
def test_given_an_optional_field_missing_when_decoded_then_the_request_is_valid(path: str) -> None:
    request = decode_request(body(with_value(concrete_request(), path, ...)))
    assert request.message_id == "uuid-v4"


def test_given_no_metadata_when_decoded_then_the_spec_defaults_apply() -> None:
    request = decode_request(body(with_value(concrete_request(), "metadata", ...)))
    assert (request.metadata.priority.value, request.metadata.retry_count, request.metadata.max_retries) == (
        "normal",
        0,
        3,
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("message.text", "x" * MAX_TEXT_CHARS),
        ("message.text", "é" * MAX_TEXT_CHARS),
        ("metadata.retryCount", 100),
        ("metadata.maxRetries", 20),
        ("metadata.maxRetries", 0),
        ("timestamp", 0),
        ("timestamp", 1_733_245_200_123),
        ("contact.name", None),
        ("messageId", "m" * 256),
        ("context.sessionData", {"cart": [1, 2, {"sku": "A"}], "vip": True}),
    ],
)
def test_given_a_boundary_value_when_decoded_then_it_is_accepted(path: str, value: Any) -> None:
    request = decode_request(body(with_value(concrete_request(), path, value)))
    assert isinstance(request, AgentRequest)


def test_given_unknown_extra_keys_when_decoded_then_they_are_ignored_not_refused() -> None:
    obj = concrete_request()
    obj["addedByNode"] = {"x": 1}
    obj["contact"]["avatarUrl"] = "https://example.org/a.png"
    request = decode_request(body(obj))
    assert "addedByNode" not in request.model_dump(by_alias=True)


@pytest.mark.parametrize("task_type", list(TaskType))
def test_given_each_task_type_when_decoded_then_the_enum_member_is_set(task_type: TaskType) -> None:
    assert decode_request(body(concrete_request(task_type.value))).task_type is task_type


# --- limits -------------------------------------------------------------------------------


def test_given_a_300_kib_body_that_is_not_json_when_decoded_then_the_size_reason_wins() -> None:
    with pytest.raises(PoisonMessageError) as caught:
        decode_request(b"\xff{not json" * (300 * 1024 // 10))
    assert caught.value.reason.startswith("body:")
    assert "exceeds the 262144 byte limit" in caught.value.reason


def test_given_a_valid_request_padded_past_the_limit_when_decoded_then_the_size_is_refused() -> None:
    obj = with_value(concrete_request(), "context.sessionData", {"pad": "p" * (256 * 1024)})
    with pytest.raises(PoisonMessageError, match="byte limit"):
        decode_request(body(obj))


def test_given_a_configured_body_limit_when_a_body_is_one_byte_over_then_it_is_refused_and_at_the_limit_accepted() -> (
    None
):
    raw = body(concrete_request())
    assert decode_request(raw, DecodeLimits(max_body_bytes=len(raw))).message_id == "uuid-v4"
    with pytest.raises(PoisonMessageError, match=f"exceeds the {len(raw) - 1} byte limit"):
        decode_request(raw, DecodeLimits(max_body_bytes=len(raw) - 1))


def test_given_a_long_history_when_decoded_then_only_the_most_recent_turns_are_kept() -> None:
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(120)]
    obj = with_value(concrete_request(), "context.conversationHistory", turns)
    request = decode_request(body(obj), DecodeLimits(max_history=10))
    assert [turn.content for turn in request.context.conversation_history] == [f"turn {i}" for i in range(110, 120)]
    default = decode_request(body(obj))
    assert len(default.context.conversation_history) == DecodeLimits().max_history == 50
    assert default.context.conversation_history[-1].content == "turn 119"


def test_given_a_history_at_the_cap_when_decoded_then_it_is_kept_whole() -> None:
    turns = [{"role": "user", "content": f"t{i}"} for i in range(5)]
    request = decode_request(
        body(with_value(concrete_request(), "context.conversationHistory", turns)), DecodeLimits(max_history=5)
    )
    assert len(request.context.conversation_history) == 5


def test_given_a_history_cap_of_zero_when_decoded_then_the_history_is_empty() -> None:
    request = decode_request(body(concrete_request()), DecodeLimits(max_history=0))
    assert request.context.conversation_history == ()


# --- replies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("status", "done", "status"),
        ("response.type", "video", "response.type"),
        ("response", ..., "response"),
        ("originalMessageId", ..., "originalMessageId"),
        ("agentMetadata.tokensUsed", "many", "agentMetadata.tokensUsed"),
    ],
)
def test_given_an_invalid_reply_field_when_decoded_then_the_poison_reason_names_it(
    reply_dict: dict[str, Any], path: str, value: Any, field: str
) -> None:
    with pytest.raises(PoisonMessageError) as caught:
        decode_reply(json.dumps(with_value(reply_dict, path, value)).encode())
    assert caught.value.reason.startswith(field), caught.value.reason


def test_given_a_reply_without_error_when_decoded_then_error_is_none(reply_dict: dict[str, Any]) -> None:
    reply = decode_reply(json.dumps(with_value(reply_dict, "error", None)).encode())
    assert reply.error is None


def test_given_a_fractional_timestamp_when_decoded_then_the_fraction_is_dropped() -> None:
    import json

    from contracts.codec import decode_request
    from tests.contracts.spec_examples import concrete_request

    request = concrete_request()
    request["timestamp"] = 1700000000.75  # JavaScript's Date.now() / 1000
    assert decode_request(json.dumps(request).encode()).timestamp == 1700000000
