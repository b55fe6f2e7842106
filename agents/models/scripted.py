"""``ScriptedModel``: canned model turns for tests and zero-latency benchmarks (``MODEL=scripted``).

A script is a list of turns; turn *i* is what the model answers on its *i*-th call within one
run (counted from the request ADK sends, so one instance can serve concurrent runs). A turn
is a text reply, one or more tool calls, or a function of the ``LlmRequest`` for tests that
need to look at what the model was sent. Past the end of the script it repeats the last turn
if that is a text, and otherwise answers "Done.".

Without a script it plays a default that works for every agent: call one tool the agent has
(a no-argument listing where there is one, else ``search_knowledge`` with the message), then
answer with one line naming the tool and its status.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from google.adk.models._capabilities import LlmCapabilities
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from agents.models import llm_io

__all__ = ["ScriptedModel", "Turn"]

_DEFAULT_TOOLS = ("get_business_info", "list_my_appointments", "list_my_orders", "search_knowledge")


@dataclass(frozen=True)
class Turn:
    """One scripted model answer: ``text``, tool ``calls``, or a ``custom`` response builder."""

    text: str | None = None
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    custom: Callable[[LlmRequest], LlmResponse] | None = field(default=None, compare=False)

    @classmethod
    def call(cls, name: str, **args: Any) -> Turn:
        """A turn that calls tool ``name`` with ``args``."""
        return cls(calls=((name, args),))

    @classmethod
    def say(cls, text: str) -> Turn:
        """A turn that answers ``text``."""
        return cls(text=text)


class ScriptedModel(BaseLlm):
    """Plays a fixed list of turns; no I/O, no randomness, no latency."""

    model: str = "scripted"
    script: list[Turn] = []
    #: Model calls served (all runs); tests read it.
    calls_served: int = 0

    @property
    def capabilities(self) -> LlmCapabilities:
        """No output schema together with tools."""
        return LlmCapabilities(output_schema_and_tools=False)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Answer with the turn of the script this call is at."""
        self.calls_served += 1
        yield self.respond(llm_request)

    def respond(self, request: LlmRequest) -> LlmResponse:
        """The scripted response to ``request``."""
        index = llm_io.turn_calls(request)
        if not self.script:
            return self._default(request, index)
        turn = self.script[min(index, len(self.script) - 1)]
        if index >= len(self.script) and turn.text is None:
            return llm_io.text_response(request, "Done.")
        if turn.custom is not None:
            return turn.custom(request)
        if turn.calls:
            parts = [types.Part(function_call=types.FunctionCall(name=n, args=a)) for n, a in turn.calls]
            response = llm_io.call_response(request, turn.calls[0][0], turn.calls[0][1])
            response.content = types.Content(role="model", parts=parts)
            return response
        return llm_io.text_response(request, turn.text or "")

    def _default(self, request: LlmRequest, index: int) -> LlmResponse:
        results = llm_io.turn_results(request)
        if index == 0 or not results:
            tools = llm_io.tool_names(request)
            name = next((t for t in _DEFAULT_TOOLS if t in tools), None)
            if name is None:
                return llm_io.text_response(request, "Hello from the scripted model.")
            args = {"query": llm_io.latest_user_text(request)} if name == "search_knowledge" else {}
            return llm_io.call_response(request, name, args)
        last = results[-1]
        status = (last.response or {}).get("status", "unknown")
        return llm_io.text_response(request, f"Done: {last.name} returned {status}.")
