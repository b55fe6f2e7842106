"""The spec's two message examples parse and round-trip with exactly the spec's key names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from contracts.codec import decode_reply, decode_request, encode
from contracts.errors import PoisonMessageError
from contracts.models import AgentReply, AgentRequest
from tests.contracts.spec_examples import (
    PRIORITIES,
    RESPONSE_TYPES,
    SPEC_REPLY_JSON,
    SPEC_REQUEST_JSON,
    STATUSES,
    TASK_TYPES,
    body,
    concrete_reply,
    concrete_request,
)

SPEC_FILE = Path("/work/shared/spec/queue-architecture.md")


def key_tree(value: Any) -> Any:
    """The key names of a JSON value, in order, recursively (values replaced by their shape)."""
    if isinstance(value, dict):
        return [(key, key_tree(child)) for key, child in value.items()]
    if isinstance(value, list):
        return [key_tree(child) for child in value]
    return None


@pytest.mark.skipif(not SPEC_FILE.is_file(), reason="the spec is not beside the project")
def test_given_the_spec_file_when_reading_its_json_blocks_then_the_fixtures_are_verbatim_copies() -> None:
    blocks = re.findall(r"```json\n(.*?)```", SPEC_FILE.read_text(), flags=re.DOTALL)
    assert blocks[:2] == [SPEC_REQUEST_JSON, SPEC_REPLY_JSON]


@pytest.mark.parametrize("priority", PRIORITIES)
@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_given_the_spec_request_when_decoded_and_encoded_then_keys_and_values_are_identical(
    task_type: str, priority: str
) -> None:
    spec = concrete_request(task_type, priority)
    request = decode_request(body(spec))
    out = json.loads(encode(request))
    assert key_tree(out) == key_tree(spec)
    assert out == spec
    assert request.task_type.value == task_type
    assert request.metadata.priority.value == priority
    assert request.contact.remote_jid == "256703722777@s.whatsapp.net"
    assert request.context.conversation_history[1].content == "Previous response 1"


@pytest.mark.parametrize("response_type", RESPONSE_TYPES)
@pytest.mark.parametrize("status", STATUSES)
def test_given_the_spec_reply_when_decoded_and_encoded_then_keys_and_values_are_identical(
    status: str, response_type: str
) -> None:
    spec = concrete_reply(status, response_type)
    reply = decode_reply(body(spec))
    out = json.loads(encode(reply))
    assert key_tree(out) == key_tree(spec)
    assert out == spec
    assert reply.status.value == status
    assert reply.response.type.value == response_type
    assert reply.agent_metadata.tools_used == ("database_query", "web_search")


def test_given_the_spec_request_when_validated_by_python_names_then_it_equals_the_wire_decode() -> None:
    spec = concrete_request()
    assert AgentRequest.model_validate(spec) == decode_request(body(spec))
    assert AgentReply.model_validate(concrete_reply()) == decode_reply(body(concrete_reply()))


def test_given_the_verbatim_request_example_when_decoded_then_the_placeholder_task_type_is_refused() -> None:
    with pytest.raises(PoisonMessageError) as caught:
        decode_request(SPEC_REQUEST_JSON.encode())
    assert caught.value.reason.startswith("taskType:")


def test_given_a_decoded_request_when_assigning_a_field_then_the_frozen_model_refuses() -> None:
    request = decode_request(body(concrete_request()))
    with pytest.raises(Exception, match="frozen"):
        request.message_id = "other"  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        request.contact.name = "other"  # type: ignore[misc]
