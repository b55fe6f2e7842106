"""The committed JSON Schemas equal the models' schemas, and the spec examples validate against them."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from contracts.schemas import SCHEMA_DIR, render_schemas
from tests.contracts.spec_examples import concrete_reply, concrete_request, with_value


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())


def test_given_the_models_when_rendering_schemas_then_the_committed_files_are_identical() -> None:
    rendered = render_schemas()
    assert sorted(rendered) == sorted(p.name for p in SCHEMA_DIR.glob("*.json"))
    for name, text in rendered.items():
        assert (SCHEMA_DIR / name).read_text() == text, f"{name} drifted: run `make schemas` and commit"


@pytest.mark.parametrize("name", ["agent_request.schema.json", "agent_reply.schema.json"])
def test_given_a_committed_schema_when_checked_then_it_is_a_valid_draft_2020_12_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema(name))


def test_given_the_spec_request_when_validated_by_the_committed_schema_then_it_is_valid() -> None:
    validator = jsonschema.Draft202012Validator(schema("agent_request.schema.json"))
    for task_type in ("conversation", "appointment", "order", "search"):
        validator.validate(concrete_request(task_type))


def test_given_the_spec_reply_when_validated_by_the_committed_schema_then_it_is_valid() -> None:
    validator = jsonschema.Draft202012Validator(schema("agent_reply.schema.json"))
    for status in ("success", "error", "partial"):
        validator.validate(concrete_reply(status))
    validator.validate(with_value(concrete_reply(), "error", None))


@pytest.mark.parametrize(
    ("path", "value"),
    [("taskType", "conversation|appointment|order|search"), ("message.text", "x" * 4097), ("contact", ...)],
)
def test_given_an_invalid_request_when_validated_by_the_committed_schema_then_it_is_refused(
    path: str, value: Any
) -> None:
    validator = jsonschema.Draft202012Validator(schema("agent_request.schema.json"))
    assert not validator.is_valid(with_value(concrete_request(), path, value))


def test_given_the_request_schema_when_reading_properties_then_keys_are_the_spec_camel_case_names() -> None:
    props = schema("agent_request.schema.json")["properties"]
    assert list(props) == sorted(["messageId", "timestamp", "taskType", "contact", "message", "context", "metadata"])
    assert set(schema("agent_request.schema.json")["required"]) == {
        "messageId",
        "timestamp",
        "taskType",
        "contact",
        "message",
    }
