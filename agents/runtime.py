"""What a run shares with its tools and models: the caller's identity and the warm clients.

Tools are plain module functions (ADK builds their schema from signature and docstring), so
the replica's warm clients cannot be arguments. The engine sets two context variables for
the duration of a run instead; ADK runs tools and model calls in tasks created inside the run,
which copy the context, so concurrent runs on one event loop each see their own request.

The customer's identity is read from the *session state* that the engine wrote from the
request's ``contact``, never from model-supplied arguments: a model that is talked into
"show me the orders of +256..." has no parameter through which to ask.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from agents.db.store import BusinessStore
from agents.knowledge_index import KnowledgeIndex
from agents.web.search import WebSearch
from contracts.models import AgentRequest

__all__ = [
    "STATE_MESSAGE_ID",
    "STATE_NAME",
    "STATE_PHONE",
    "STATE_REMOTE_JID",
    "Caller",
    "ToolServices",
    "caller_from_state",
    "current_request",
    "current_services",
    "initial_state",
    "normalise_phone",
    "services",
]

STATE_PHONE = "phone_number"
STATE_REMOTE_JID = "remote_jid"
STATE_NAME = "contact_name"
STATE_MESSAGE_ID = "message_id"

#: The request being run (set by the engine; read by ChaosModel's markers and by tools).
current_request: ContextVar[AgentRequest | None] = ContextVar("current_request", default=None)


@dataclass(frozen=True)
class ToolServices:
    """The warm clients of one replica, built once by the engine."""

    store: BusinessStore
    knowledge: KnowledgeIndex
    web: WebSearch


current_services: ContextVar[ToolServices | None] = ContextVar("current_services", default=None)


def services() -> ToolServices:
    """The current run's clients; fails loudly outside an engine run."""
    value = current_services.get()
    if value is None:
        raise RuntimeError("agent tools need an AgentEngine run (no ToolServices in context)")
    return value


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the webhook side authenticated it."""

    phone: str
    remote_jid: str
    name: str | None
    message_id: str


def normalise_phone(phone: str) -> str:
    """``+256 703 722777`` and ``256703722777`` both become ``+256703722777``."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"+{digits}" if digits else ""


def initial_state(request: AgentRequest, today: str) -> dict[str, Any]:
    """The session state of a run: identity, request id, notes and the webhook's session data."""
    return {
        STATE_PHONE: normalise_phone(request.contact.phone_number),
        STATE_REMOTE_JID: request.contact.remote_jid,
        STATE_NAME: request.contact.name or "",
        STATE_MESSAGE_ID: request.message_id,
        "user_notes": request.context.user_notes or "",
        "session_data": dict(request.context.session_data),
        "today": today,
    }


def caller_from_state(state: Any) -> Caller:
    """Read the caller from a tool's session state; raises if the engine did not set it."""
    phone = str(state.get(STATE_PHONE) or "")
    message_id = str(state.get(STATE_MESSAGE_ID) or "")
    if not phone or not message_id:
        raise RuntimeError("session state has no caller identity; runs must go through AgentEngine")
    return Caller(
        phone=phone,
        remote_jid=str(state.get(STATE_REMOTE_JID) or ""),
        name=str(state.get(STATE_NAME) or "") or None,
        message_id=message_id,
    )
