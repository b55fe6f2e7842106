"""``RuleBasedModel``: the offline default (``MODEL=offline``), a rules engine behind ADK's model interface.

It is not a language model. It reads the customer's latest message with the keyword rules of
:mod:`agents.models.intents`, answers with a real ``function_call`` part for the tool the rules
pick (only tools the agent offers), and once ADK has run the tool, phrases the reply from the
function response with :mod:`agents.models.phrasing`. So the whole pipeline — ADK's flow,
tool execution, the database, idempotency, token accounting — runs for real on a machine
with no LLM access, and a test can predict exactly which tool a message triggers.

What it understands: greetings and thanks; opening hours (also "today"/"tomorrow"), location,
payment, contact, delivery, returns and policy questions, answered with whichever tool the agent
has for them (see :data:`agents.models.intents.TOPICS`: an agent without the natural tool falls
back to a focused knowledge search, never to an unrelated tool); service and product prices;
booking with a service and dates such as "tomorrow at 3pm", "next Monday 10:00", "4 Dec at
14:30"; availability for a day; cancelling by reference or day; listing one's
appointments and orders; order status by number (``ORD-1002``, "order 1002"); product prices
and ordering ("2 shea butter and 1 hair oil"); a bare time ("10:00 please") right after the
customer asked about a service and a day books that; anything else becomes a knowledge-base
search.
Usage metadata is estimated at one token per four characters (see :mod:`agents.models.llm_io`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from google.adk.models._capabilities import LlmCapabilities
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse

from agents.models import llm_io
from agents.models.intents import plan
from agents.models.phrasing import follow_up, phrase, small_talk

__all__ = ["RuleBasedModel"]

_NAME = re.compile(r'The customer\'s name is "([^"]*)"')
_TODAY = re.compile(r"Today is (\d{4}-\d{2}-\d{2})")
#: Tool calls per turn before the model stops and answers; a guard against rule loops.
MAX_STEPS = 4


class RuleBasedModel(BaseLlm):
    """Keyword rules that emit real tool calls and phrase replies from tool results (no LLM)."""

    model: str = "offline-rules"
    timezone: str = "Africa/Kampala"

    @property
    def capabilities(self) -> LlmCapabilities:
        """No output schema together with tools (ADK asks; this model never uses schemas)."""
        return LlmCapabilities(output_schema_and_tools=False)

    def _today(self, request: LlmRequest) -> date:
        found = _TODAY.search(llm_io.system_text(request))
        if found:
            return date.fromisoformat(found[1])
        return datetime.now(ZoneInfo(self.timezone)).date()

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """One model turn: a tool call, or the reply phrased from this turn's tool results."""
        yield self.respond(llm_request)

    def respond(self, request: LlmRequest) -> LlmResponse:
        """The response to ``request``: a function of the request alone (and the clock, without a date)."""
        user_text = llm_io.latest_user_text(request)
        tools = llm_io.tool_names(request)
        name_match = _NAME.search(llm_io.system_text(request))
        customer = name_match[1].split()[0] if name_match and name_match[1] else ""
        results = llm_io.turn_results(request)
        if not results:
            intent = plan(user_text, tools, self._today(request), llm_io.previous_user_text(request))
            if intent.tool is None:
                text = intent.text if intent.text not in ("greeting", "thanks", "fallback") else None
                return llm_io.text_response(request, text or small_talk(intent.text, customer))
            return llm_io.call_response(request, intent.tool, intent.args)
        last = results[-1]
        response = dict(last.response or {})
        done = {r.name or "" for r in results}
        if len(results) < MAX_STEPS:
            step = follow_up(user_text, last.name or "", response, tools, done)
            if step is not None and step.tool is not None:
                return llm_io.call_response(request, step.tool, step.args)
        return llm_io.text_response(request, phrase(user_text, last.name or "", response, self._today(request)))
