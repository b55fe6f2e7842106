"""Every malformed ag_queue body becomes a PoisonMessageError naming the field, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codec import DecodeLimits, decode_request, encode, error_reply
from contracts.errors import PoisonMessageError
from contracts.models import AgentRequest
from tests.contracts.spec_examples import SPEC_REQUEST_JSON, body, concrete_request, with_value

#: A reason is "<field path or 'body'>: <what is wrong>".
REASON = re.compile(r"^[^\s:]+: \S")


def poison(raw: bytes, limits: DecodeLimits | None = None) -> PoisonMessageError:
    with pytest.raises(PoisonMessageError) as caught:
        decode_request(raw, limits)
    assert REASON.match(caught.value.reason), caught.value.reason
    return caught.value


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"\xff\xfe\x00garbage", "invalid UTF-8 at byte 0"),
        (b'{"messageId": "\xc3\x28"}', "invalid UTF-8 at byte 15"),
        (b'{"messageId": "\xed\xa0\x80"}', "invalid UTF-8"),
        (SPEC_REQUEST_JSON.encode()[:-40], "invalid JSON"),
        (b"", "invalid JSON"),
        (b"{", "invalid JSON"),
        (b'{"messageId": "a",}', "invalid JSON"),
        (b"\xef\xbb\xbf{}", "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (b"[" * 100_000, "nested deeper than 32"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than 32 levels"),
        (b"1" * 5000, "invalid JSON"),
        (b"[]", "expected a JSON object, got list"),
        (b'"text"', "expected a JSON object, got str"),
        (b"null", "expected a JSON object, got NoneType"),
        (b"42", "expected a JSON object, got int"),
        (b"{}", "messageId: Field required"),
    ],
)
def test_given_a_malformed_body_when_decoded_then_a_poison_error_says_why(raw: bytes, fragment: str) -> None:
    error = poison(raw)
    assert fragment in error.reason
    assert error.retryable is False
    assert error.code == "INVALID_MESSAGE"


def test_given_a_body_nested_just_within_the_depth_limit_when_decoded_then_it_is_accepted() -> None:
    nested: Any = "leaf"
    for _ in range(32 - 2):  # the root object and context are two levels; sessionData is the third
        nested = {"n": nested}
    obj = with_value(concrete_request(), "context.sessionData", nested)
    assert decode_request(body(obj)).message_id == "uuid-v4"
    poison(body(with_value(concrete_request(), "context.sessionData", {"n": nested})))


def test_given_nesting_inside_a_valid_request_when_decoded_then_the_contact_is_salvaged() -> None:
    deep: Any = []
    for _ in range(50):
        deep = [deep]
    error = poison(body(with_value(concrete_request(), "context.sessionData", {"deep": deep})))
    assert error.reason.startswith("body: JSON nested deeper")
    assert error.contact is not None and error.contact["remoteJid"] == "256703722777@s.whatsapp.net"
    assert error.message_id == "uuid-v4"


@pytest.mark.parametrize(
    ("path", "escaped", "field"),
    [
        ("context.sessionData", {"note": "\ud800"}, "context.sessionData.note"),
        ("context.sessionData", {"list": ["ok", "\udfff"]}, "context.sessionData.list.1"),
        ("message.text", "hi \ud83d", "message.text"),
        ("context.userNotes", "\udc00", "context.userNotes"),
    ],
)
def test_given_an_unpaired_surrogate_escape_when_decoded_then_it_is_poison_naming_the_field(
    path: str, escaped: Any, field: str
) -> None:
    raw = json.dumps(with_value(concrete_request(), path, escaped)).encode()  # ensure_ascii writes \\udXXX
    error = poison(raw)
    assert error.reason.startswith(f"{field}:")
    # The error must be usable for an error reply: nothing in it is unencodable.
    assert encode(error_reply(error.message_id or "x", error.contact or {"remoteJid": "j", "phoneNumber": "p"}, error))


def test_given_a_surrogate_pair_escape_when_decoded_then_it_is_one_valid_character() -> None:
    request = decode_request(json.dumps(with_value(concrete_request(), "message.text", "hi 😀")).encode())
    assert request.message.text == "hi 😀"
    assert json.loads(encode(request))["message"]["text"] == "hi 😀"


def test_given_a_surrogate_in_the_message_id_when_decoded_then_no_unusable_message_id_is_salvaged() -> None:
    error = poison(json.dumps(with_value(concrete_request(), "messageId", "\ud800")).encode())
    assert error.message_id is None
    assert error.contact is not None


# --- salvage ------------------------------------------------------------------------------


def test_given_a_schema_error_and_a_valid_contact_when_decoded_then_the_contact_and_id_are_salvaged() -> None:
    error = poison(body(with_value(concrete_request(), "taskType", "weather")))
    assert error.reason.startswith("taskType:")
    assert error.contact == {
        "remoteJid": "256703722777@s.whatsapp.net",
        "phoneNumber": "+256703722777",
        "name": "John Doe",
        "countryCode": "256",
    }
    assert error.message_id == "uuid-v4"
    reply = error_reply(error.message_id, error.contact, error)
    assert reply.contact.remote_jid == "256703722777@s.whatsapp.net"
    assert reply.error is not None and reply.error.code == "INVALID_MESSAGE"


@pytest.mark.parametrize(
    ("path", "value"),
    [("contact.remoteJid", ...), ("contact.phoneNumber", 256703722777), ("contact", ["x"]), ("contact", ...)],
)
def test_given_a_schema_error_and_an_invalid_contact_when_decoded_then_no_contact_is_salvaged(
    path: str, value: Any
) -> None:
    error = poison(body(with_value(concrete_request(), path, value)))
    assert error.contact is None
    assert error.message_id == "uuid-v4"


@pytest.mark.parametrize("message_id", [42, "", None, "m" * 257])
def test_given_an_unusable_message_id_when_decoded_then_none_is_salvaged(message_id: Any) -> None:
    error = poison(body(with_value(concrete_request(), "messageId", message_id)))
    assert error.reason.startswith("messageId:")
    assert error.message_id is None


# --- fuzz ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)

request_keys = st.sampled_from(["messageId", "timestamp", "taskType", "contact", "message", "context", "metadata"])


def decodes_or_poison(raw: bytes) -> None:
    try:
        result = decode_request(raw)
    except PoisonMessageError as exc:
        assert REASON.match(exc.reason), exc.reason
    else:
        assert isinstance(result, AgentRequest)
        assert decode_request(encode(result)) == result  # whatever decodes can be sent on again


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_given_arbitrary_bytes_when_decoded_then_only_poison_errors_are_raised(raw: bytes) -> None:
    decodes_or_poison(raw)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_given_arbitrary_json_values_when_decoded_then_only_poison_errors_are_raised(value: Any) -> None:
    decodes_or_poison(json.dumps(value).encode())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(request_keys, json_values, max_size=7))
def test_given_request_shaped_objects_with_arbitrary_values_when_decoded_then_only_poison_errors_are_raised(
    value: dict[str, Any],
) -> None:
    decodes_or_poison(json.dumps(value).encode())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["contact", "message", "context", "metadata"]), json_values)
def test_given_the_spec_request_with_one_part_replaced_when_decoded_then_it_decodes_or_is_poison(
    part: str, value: Any
) -> None:
    decodes_or_poison(json.dumps(with_value(concrete_request(), part, value)).encode())


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=len(SPEC_REQUEST_JSON) - 1))
def test_given_any_truncation_of_the_spec_request_when_decoded_then_it_is_poison(cut: int) -> None:
    poison(SPEC_REQUEST_JSON.encode()[:cut])


surrogate_text = st.text(alphabet=st.sampled_from(["a", "é", "😀", "\ud800", "\udbff", "\udc00", "\udfff"]), max_size=6)
surrogate_values = st.recursive(
    st.none() | st.integers() | surrogate_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(surrogate_text, children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(
        [
            "messageId",
            "contact.name",
            "message.text",
            "context.userNotes",
            "context.sessionData",
            "context.sessionData.k",
        ]
    ),
    surrogate_values,
)
def test_given_strings_with_lone_surrogates_anywhere_when_decoded_then_it_is_poison_or_re_encodable(
    path: str, value: Any
) -> None:
    obj = with_value(concrete_request(), "context.sessionData", {"k": None})
    decodes_or_poison(json.dumps(with_value(obj, path, value)).encode())
