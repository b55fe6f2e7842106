"""Reading an ADK ``LlmRequest`` and writing an ``LlmResponse`` for the in-process models.

The offline, scripted and chaos models are stateless: everything they need to know about a
run (the customer's latest message, the tool results of this turn, which tools the agent has)
is read from the request ADK builds for every model call, exactly as a hosted model sees it.
That is what makes one model instance safe to share between concurrent runs.

Token counts of these models are *estimates*, one token per four characters of everything
the model reads (instruction, history and tool results; tool schemas are not counted) and
writes, the usual rule of thumb for English text; they exist so that ``tokensUsed`` and the benchmarks behave
like they do with a hosted model, not to bill anyone.
"""

from __future__ import annotations

import json
from typing import Any

from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

__all__ = [
    "call_response",
    "estimate_tokens",
    "latest_user_text",
    "previous_user_text",
    "request_text",
    "system_text",
    "text_response",
    "tool_names",
    "turn_calls",
    "turn_results",
]

CHARS_PER_TOKEN = 4


def estimate_tokens(chars: int) -> int:
    """Tokens for ``chars`` characters of English text (ceil(chars / 4), at least 1)."""
    return max(1, -(-chars // CHARS_PER_TOKEN))


def _is_user_text(content: types.Content) -> bool:
    parts = content.parts or []
    return content.role == "user" and any(p.text for p in parts) and not any(p.function_response for p in parts)


def _last_user_index(request: LlmRequest) -> int:
    for index in range(len(request.contents) - 1, -1, -1):
        if _is_user_text(request.contents[index]):
            return index
    return -1


def latest_user_text(request: LlmRequest) -> str:
    """The customer's message that started this turn ('' if none)."""
    index = _last_user_index(request)
    if index < 0:
        return ""
    return " ".join(p.text for p in request.contents[index].parts or [] if p.text and not p.thought)


def previous_user_text(request: LlmRequest) -> str:
    """The customer's message before the latest one ('' if none): context for follow-ups."""
    latest = _last_user_index(request)
    for index in range(latest - 1, -1, -1):
        content = request.contents[index]
        if _is_user_text(content):
            return " ".join(p.text for p in content.parts or [] if p.text and not p.thought)
    return ""


def turn_results(request: LlmRequest) -> list[types.FunctionResponse]:
    """Tool results returned since the customer's latest message, oldest first."""
    start = _last_user_index(request) + 1
    return [
        part.function_response
        for content in request.contents[start:]
        for part in content.parts or []
        if part.function_response is not None
    ]


def turn_calls(request: LlmRequest) -> int:
    """How many model responses this turn already produced (0 on the first call of a run)."""
    start = _last_user_index(request) + 1
    return sum(1 for content in request.contents[start:] if content.role == "model")


def tool_names(request: LlmRequest) -> set[str]:
    """Names of the tools the agent offers the model."""
    return set(request.tools_dict)


def system_text(request: LlmRequest) -> str:
    """The system instruction as plain text."""
    instruction = request.config.system_instruction if request.config else None
    if isinstance(instruction, str):
        return instruction
    if isinstance(instruction, types.Content):
        return " ".join(p.text or "" for p in instruction.parts or [])
    return ""


def request_text(request: LlmRequest) -> str:
    """Everything the model reads, as text, for the token estimate."""
    pieces = [system_text(request)]
    for content in request.contents:
        for part in content.parts or []:
            if part.text:
                pieces.append(part.text)
            elif part.function_call is not None:
                pieces.append(json.dumps(part.function_call.args or {}, default=str))
            elif part.function_response is not None:
                pieces.append(json.dumps(part.function_response.response or {}, default=str))
    return "\n".join(pieces)


def _usage(request: LlmRequest, output_chars: int) -> types.GenerateContentResponseUsageMetadata:
    prompt = estimate_tokens(len(request_text(request)))
    output = estimate_tokens(output_chars)
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt, candidates_token_count=output, total_token_count=prompt + output
    )


def text_response(request: LlmRequest, text: str) -> LlmResponse:
    """A final text answer with estimated usage."""
    return LlmResponse(
        content=types.Content(role="model", parts=[types.Part(text=text)]),
        usage_metadata=_usage(request, len(text)),
        finish_reason=types.FinishReason.STOP,
    )


def call_response(request: LlmRequest, name: str, args: dict[str, Any]) -> LlmResponse:
    """A response that calls one tool, with estimated usage."""
    call = types.FunctionCall(name=name, args=args)
    return LlmResponse(
        content=types.Content(role="model", parts=[types.Part(function_call=call)]),
        usage_metadata=_usage(request, len(name) + len(json.dumps(args, default=str))),
        finish_reason=types.FinishReason.STOP,
    )
