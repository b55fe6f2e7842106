"""ChaosModel markers and probabilities, ``build_model`` parsing, deadlines and PARTIAL results."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse

from agents.models import ChaosModel, InjectedModelError, RuleBasedModel, ScriptedModel, Turn, build_model
from contracts.errors import AgentFailedError, AgentTimeoutError, ConfigError, ModelUnavailableError
from contracts.models import ReplyStatus
from tests.agents.conftest import make_request


@pytest.mark.parametrize("retry_count", [0, 1])
async def test_given_transient_until_2_when_retry_count_below_2_then_model_unavailable(
    engine_factory: Any, retry_count: int
) -> None:
    async with engine_factory(ChaosModel(inner=RuleBasedModel())) as engine:
        with pytest.raises(ModelUnavailableError, match="HTTP 503"):
            await engine.run(make_request("conversation", "hello #transient-until=2", retry_count=retry_count))
        assert engine.sessions.count() == 0


async def test_given_transient_until_2_when_third_attempt_then_it_succeeds(engine_factory: Any) -> None:
    async with engine_factory(ChaosModel(inner=RuleBasedModel())) as engine:
        result = await engine.run(make_request("conversation", "hello #transient-until=2", retry_count=2))
    assert result.status is ReplyStatus.SUCCESS and "Welcome" in result.text


async def test_given_permanent_marker_when_run_then_agent_failed_on_every_attempt(engine_factory: Any) -> None:
    async with engine_factory(ChaosModel(inner=RuleBasedModel())) as engine:
        for attempt in range(3):
            with pytest.raises(AgentFailedError, match="HTTP 400"):
                await engine.run(make_request("conversation", "hi #permanent", retry_count=attempt))


async def test_given_hang_marker_when_the_deadline_passes_then_agent_timeout(engine_factory: Any) -> None:
    async with engine_factory(ChaosModel(inner=RuleBasedModel()), max_processing_time=0.3) as engine:
        with pytest.raises(AgentTimeoutError, match="MAX_PROCESSING_TIME"):
            await engine.run(make_request("conversation", "hi #hang"))
        assert engine.sessions.count() == 0


async def test_given_sleep_marker_when_within_the_deadline_then_success(engine_factory: Any) -> None:
    async with engine_factory(ChaosModel(inner=RuleBasedModel())) as engine:
        result = await engine.run(make_request("conversation", "hi #sleep=0.05"))
    assert result.status is ReplyStatus.SUCCESS


class _SlowSecondTurn(BaseLlm):
    """Says something while calling a tool, then hangs: the deadline cuts a run that has text."""

    model: str = "slow-second-turn"

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False) -> Any:
        inner = ScriptedModel(script=[Turn.call("get_business_info")])
        response: LlmResponse = inner.respond(llm_request)
        if response.content and response.content.parts and response.content.parts[0].function_call:
            from google.genai import types

            response.content.parts.insert(0, types.Part(text="Let me check our hours..."))
            yield response
            return
        await asyncio.Event().wait()
        yield response


async def test_given_text_before_the_deadline_when_the_run_is_cut_then_partial(engine_factory: Any) -> None:
    async with engine_factory(_SlowSecondTurn(), max_processing_time=0.5) as engine:
        result = await engine.run(make_request("conversation", "when are you open?"))
    assert result.status is ReplyStatus.PARTIAL
    assert result.text == "Let me check our hours..."
    assert result.tools_used == ("get_business_info",)


async def test_given_probabilities_when_sampled_then_failures_follow_them() -> None:
    model = ChaosModel(inner=ScriptedModel(script=[Turn.say("ok")]), p429=0.2, p5xx=0.1, seed=7)
    outcomes: dict[object, int] = {}
    for _ in range(1_000):
        try:
            async for _response in model.generate_content_async(LlmRequest()):
                pass
            key: object = "ok"
        except InjectedModelError as exc:
            key = exc.status_code
        outcomes[key] = outcomes.get(key, 0) + 1
    assert 150 < outcomes[429] < 250 and 60 < outcomes[503] < 140 and 600 < outcomes["ok"] < 760


def test_given_latency_distributions_when_sampled_then_medians_match() -> None:
    for dist in ("fixed", "uniform", "lognormal"):
        model = ChaosModel(inner=ScriptedModel(), latency=2.0, jitter=0.3, distribution=dist, seed=1)
        samples = sorted(model.delay() for _ in range(2_001))
        assert abs(samples[1_000] - 2.0) < 0.1, dist
        assert min(samples) >= 0.0


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("offline", RuleBasedModel),
        ("scripted", ScriptedModel),
        ("chaos:offline?latency=2.0&jitter=0.1&p429=0.05&p5xx=0.0&phang=0.0", ChaosModel),
        ("chaos:scripted", ChaosModel),
        ("chaos:scripted?dist=lognormal&latency=1&seed=3", ChaosModel),
    ],
)
def test_given_a_model_setting_when_built_then_the_right_model(settings_for: Any, spec: str, kind: type) -> None:
    assert isinstance(build_model(settings_for(model=spec)), kind)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt-4", "MODEL: unknown model"),
        ("gemini-2.5-flash", "GOOGLE_API_KEY"),
        ("litellm/nomodel", "litellm/<provider>/<model>"),
        ("chaos:offline?latency=abc", "not a number"),
        ("chaos:offline?bogus=1", "unknown chaos option"),
        ("chaos:offline?p429=2", "between 0 and 1"),
        ("chaos:chaos:offline", "one inner model"),
    ],
)
def test_given_a_bad_model_setting_when_built_then_config_error_names_model(
    settings_for: Any, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_model(settings_for(model=spec))
    assert "MODEL" in str(info.value)


def test_given_gemini_with_a_key_when_built_then_retries_are_off(settings_for: Any) -> None:
    model = build_model(settings_for(model="gemini-2.5-flash", google_api_key="test-key"))
    assert model.model == "gemini-2.5-flash"
    assert model.retry_options is not None and model.retry_options.attempts == 1  # type: ignore[attr-defined]
