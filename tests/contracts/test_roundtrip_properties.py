"""Hypothesis: every valid request survives encode → decode_request unchanged."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.codec import decode_request, encode
from contracts.models import (
    MAX_TEXT_CHARS,
    MAX_TIMESTAMP,
    AgentRequest,
    Contact,
    ConversationContext,
    HistoryTurn,
    InboundMessage,
    Priority,
    RequestMetadata,
    Role,
    TaskType,
)

ids = st.text(min_size=1, max_size=64)
timestamps = st.integers(min_value=0, max_value=MAX_TIMESTAMP)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
session_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

contacts = st.builds(
    Contact,
    remote_jid=st.text(min_size=1, max_size=256),
    phone_number=st.text(min_size=1, max_size=32),
    name=st.none() | st.text(max_size=256),
    country_code=st.none() | st.text(max_size=8),
)
messages = st.builds(
    InboundMessage,
    text=st.text(min_size=1, max_size=MAX_TEXT_CHARS),
    message_id=ids,
    timestamp=timestamps,
)
contexts = st.builds(
    ConversationContext,
    conversation_history=st.lists(
        st.builds(HistoryTurn, role=st.sampled_from(Role), content=st.text(max_size=200)), max_size=50
    ).map(tuple),
    user_notes=st.none() | st.text(max_size=300),
    session_data=st.dictionaries(st.text(max_size=8), session_values, max_size=5),
)
metadatas = st.builds(
    RequestMetadata,
    priority=st.sampled_from(Priority),
    retry_count=st.integers(min_value=0, max_value=100),
    max_retries=st.integers(min_value=0, max_value=20),
)
requests = st.builds(
    AgentRequest,
    message_id=ids,
    timestamp=timestamps,
    task_type=st.sampled_from(TaskType),
    contact=contacts,
    message=messages,
    context=contexts,
    metadata=metadatas,
)


def camel_keys_only(value: Any, *, inside_session_data: bool = False) -> bool:
    if isinstance(value, dict):
        return all(
            (inside_session_data or "_" not in key)
            and camel_keys_only(child, inside_session_data=inside_session_data or key == "sessionData")
            for key, child in value.items()
        )
    if isinstance(value, list):
        return all(camel_keys_only(child, inside_session_data=inside_session_data) for child in value)
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(requests)
def test_given_any_valid_request_when_encoded_and_decoded_then_it_is_equal(request: AgentRequest) -> None:
    raw = encode(request)
    assert decode_request(raw) == request
    assert camel_keys_only(json.loads(raw))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_given_any_valid_request_when_encoded_twice_then_the_bytes_are_identical(request: AgentRequest) -> None:
    assert encode(decode_request(encode(request))) == encode(request)
