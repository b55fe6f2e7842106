"""What a run did, read off ADK's event stream: reply text, tools in call order, steps, tokens.

``reasoningSteps`` are short and human-readable, one per tool call, naming the arguments and
the outcome, e.g. ``check_availability(date=2026-12-04, service=haircut) → 3 slots``. They are
built from the function call and the function response events, never from the model's own
(possibly invented) narration. Tokens are summed from every event's ``usage_metadata``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.adk.events.event import Event

__all__ = ["RunCollector", "outcome"]

_MAX_ARG = 40
_MAX_STEPS = 20


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_ARG else text[: _MAX_ARG - 1] + "…"


def outcome(response: dict[str, Any]) -> str:
    """One phrase for a tool result: its main list's size, or its status."""
    status = str(response.get("status", "error" if "error" in response else "done"))
    for key in ("slots", "appointments", "orders", "results", "products", "services", "alternatives"):
        value = response.get(key)
        if isinstance(value, list):
            noun = key if len(value) != 1 else key.rstrip("s")
            prefix = "" if status == "success" else f"{status}, "
            return f"{prefix}{len(value)} {noun}"
    for key in ("reference", "order_number"):
        if key in response and status == "success":
            return f"success {response[key]}"
    return status


@dataclass
class RunCollector:
    """Accumulates one run's events."""

    tools_used: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    tokens: int = 0
    text: str = ""
    error: str | None = None
    _calls: dict[str, str] = field(default_factory=dict)

    def add(self, event: Event) -> None:
        """Take one event into account (partial streaming fragments are ignored)."""
        if event.partial:
            return
        usage = event.usage_metadata
        if usage is not None:
            total = usage.total_token_count
            if total is None:
                total = (usage.prompt_token_count or 0) + (usage.candidates_token_count or 0)
            self.tokens += int(total)
        if event.error_code and not event.content:
            self.error = f"{event.error_code}: {event.error_message or ''}".strip()
        for call in event.get_function_calls():
            name = call.name or "?"
            self.tools_used.append(name)
            args = ", ".join(f"{k}={_short(v)}" for k, v in sorted((call.args or {}).items()))
            self._calls[call.id or name] = f"{name}({args})"
        for response in event.get_function_responses():
            described = self._calls.pop(response.id or response.name or "?", f"{response.name}()")
            if len(self.steps) < _MAX_STEPS:
                self.steps.append(f"{described} → {outcome(dict(response.response or {}))}")
        if event.author != "user" and event.content and event.content.parts:
            text = "".join(p.text for p in event.content.parts if p.text and not p.thought)
            if text.strip():
                self.text = text.strip()
