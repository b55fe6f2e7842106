"""The engine's lifecycle and what a run hands the model: identity, notes, history, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from agents import AgentEngine
from agents.engine import MAX_LLM_CALLS
from agents.models import ScriptedModel, Turn
from agents.models.llm_io import call_response, system_text, text_response
from contracts.models import ReplyStatus
from tests.agents.conftest import make_request, today


async def test_given_a_new_engine_when_constructed_then_no_io_and_run_fails_loudly(
    tmp_path: Path, settings_for: Any
) -> None:
    settings = settings_for(database_url=f"sqlite+aiosqlite:///{tmp_path / 'never' / 'business.db'}")
    engine = AgentEngine(settings)
    assert not (tmp_path / "never").exists()
    assert engine.health()["started"] is False
    with pytest.raises(RuntimeError, match="before start"):
        await engine.run(make_request("conversation", "hi"))
    await engine.stop()


async def test_given_history_and_notes_when_run_then_the_model_sees_them(engine_factory: Any) -> None:
    seen: list[LlmRequest] = []

    def capture(request: LlmRequest) -> LlmResponse:
        seen.append(request)
        return text_response(request, "noted")

    model = ScriptedModel(script=[Turn(custom=capture)])
    history = (("user", "Do you do braids?"), ("assistant", "Yes, box braids cost UGX 80,000."))
    async with engine_factory(model) as engine:
        result = await engine.run(make_request("conversation", "Book me for Friday", history=history))
    assert result.text == "noted"
    request = seen[0]
    texts = [(c.role, p.text) for c in request.contents for p in c.parts or [] if p.text]
    assert texts[-3:] == [
        ("user", "Do you do braids?"),
        ("model", "Yes, box braids cost UGX 80,000."),
        ("user", "Book me for Friday"),
    ]
    instruction = system_text(request)
    assert 'The customer\'s name is "John Doe"' in instruction
    assert "Prefers afternoon appointments" in instruction
    assert f"Today is {today().isoformat()}" in instruction


async def test_given_a_model_that_never_stops_calling_tools_when_run_then_partial_after_the_call_budget(
    engine_factory: Any,
) -> None:
    def chatty(request: LlmRequest) -> LlmResponse:
        response = call_response(request, "get_business_info", {})
        assert response.content is not None and response.content.parts is not None
        response.content.parts.insert(0, types.Part(text="Still checking..."))
        return response

    async with engine_factory(ScriptedModel(script=[Turn(custom=chatty)] * (MAX_LLM_CALLS + 5))) as engine:
        result = await engine.run(make_request("conversation", "hours?"))
        assert engine.sessions.count() == 0
    assert result.status is ReplyStatus.PARTIAL
    assert result.text == "Still checking..."
    assert result.tools_used == ("get_business_info",) * MAX_LLM_CALLS


async def test_given_a_started_engine_when_stopped_twice_then_health_says_stopped(engine_factory: Any) -> None:
    async with engine_factory(ScriptedModel()) as engine:
        health = engine.health()
        assert health["started"] is True and health["knowledge_documents"] > 20
        assert health["agents"] == ["appointment", "conversation", "order", "search"]
        await engine.stop()
        assert engine.health()["started"] is False


def test_given_no_a2a_package_when_the_engine_module_is_loaded_then_adks_optional_a2a_import_fails_at_once() -> None:
    # ADK probes for RemoteA2aAgent on every node build; the engine marks it absent so the probe
    # stops re-searching the path on every run. The probe must still fail the way ADK expects.
    import importlib.util
    import sys

    if importlib.util.find_spec("a2a") is not None:
        pytest.skip("a2a is installed: the marker is not set")
    assert sys.modules["google.adk.agents.remote_a2a_agent"] is None
    with pytest.raises(ImportError):
        from google.adk.agents.remote_a2a_agent import RemoteA2aAgent  # noqa: F401
