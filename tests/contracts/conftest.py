"""Fixtures of the contract tests: the spec's examples with concrete enum values."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts.spec_examples import concrete_reply, concrete_request


@pytest.fixture
def request_dict() -> dict[str, Any]:
    """A valid request: the spec's example with concrete enum values."""
    return concrete_request()


@pytest.fixture
def reply_dict() -> dict[str, Any]:
    """A valid reply: the spec's example with concrete enum values."""
    return concrete_reply()
