"""The wire models: the ``ag_queue`` request and the ``wb_queue`` reply, exactly as the spec.

Keys are camelCase on the wire and snake_case in Python (``alias_generator=to_camel``).
Every model is frozen: a request read off the queue is a fact, not a scratchpad.
Unknown keys are ignored rather than refused, so the Node.js side can add a field without
turning every request into a dead letter; the committed JSON Schemas say what we read.

Timestamps follow the spec's example (Unix seconds). Requests stamped in milliseconds
(JavaScript's ``Date.now()``) are accepted too: see :func:`timestamp_seconds`.
"""

from __future__ import annotations

import enum
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_TIMESTAMP",
    "AgentMetadata",
    "AgentReply",
    "AgentRequest",
    "Contact",
    "ConversationContext",
    "HistoryTurn",
    "InboundMessage",
    "Priority",
    "ReplyContact",
    "ReplyError",
    "ReplyResponse",
    "ReplyStatus",
    "RequestMetadata",
    "ResponseType",
    "Role",
    "TaskType",
    "timestamp_seconds",
]

#: WhatsApp's practical limit for one text message; longer input is refused at the edge.
MAX_TEXT_CHARS = 4096
#: Largest accepted timestamp: year 5138 in seconds, 2286 in milliseconds.
MAX_TIMESTAMP = 10**13


def _whole(value: object) -> object:
    """Accept a fractional timestamp (``Date.now() / 1000``) by dropping the fraction."""
    if isinstance(value, float) and math.isfinite(value):
        return math.floor(value)
    return value


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        str_strip_whitespace=False,
    )


class TaskType(enum.StrEnum):
    """Which agent handles the request (``taskType``)."""

    CONVERSATION = "conversation"
    APPOINTMENT = "appointment"
    ORDER = "order"
    SEARCH = "search"


class Priority(enum.StrEnum):
    """``metadata.priority``; the ingress runs waiting requests urgent first."""

    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Sort key: lower runs first."""
        return {"urgent": 0, "high": 1, "normal": 2}[self.value]


class ReplyStatus(enum.StrEnum):
    """``status`` of a wb_queue reply."""

    SUCCESS = "success"
    ERROR = "error"
    PARTIAL = "partial"


class ResponseType(enum.StrEnum):
    """``response.type`` of a wb_queue reply."""

    TEXT = "text"
    IMAGE = "image"
    DOCUMENT = "document"


class Role(enum.StrEnum):
    """Speaker of one ``conversationHistory`` turn."""

    USER = "user"
    ASSISTANT = "assistant"


class Contact(_Wire):
    """The customer a request comes from (``contact``)."""

    remote_jid: str = Field(min_length=1, max_length=256)
    phone_number: str = Field(min_length=1, max_length=32)
    name: str | None = Field(default=None, max_length=256)
    country_code: str | None = Field(default=None, max_length=8)


class InboundMessage(_Wire):
    """The customer's WhatsApp message (``message``)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    message_id: str = Field(min_length=1, max_length=256)
    timestamp: int = Field(ge=0, le=MAX_TIMESTAMP)

    _whole_seconds = field_validator("timestamp", mode="before")(lambda v: _whole(v))


class HistoryTurn(_Wire):
    """One earlier turn of the conversation."""

    role: Role
    content: str = Field(max_length=MAX_TEXT_CHARS * 4)


class ConversationContext(_Wire):
    """What the webhook side knows about the conversation (``context``)."""

    conversation_history: tuple[HistoryTurn, ...] = ()
    user_notes: str | None = Field(default=None, max_length=4096)
    session_data: dict[str, Any] = Field(default_factory=dict)


class RequestMetadata(_Wire):
    """Delivery metadata (``metadata``); ``retryCount`` is ours to increment."""

    priority: Priority = Priority.NORMAL
    retry_count: int = Field(default=0, ge=0, le=100)
    max_retries: int = Field(default=3, ge=0, le=20)


class AgentRequest(_Wire):
    """A message on ``ag_queue``: one customer message to be answered by an agent."""

    message_id: str = Field(min_length=1, max_length=256)
    timestamp: int = Field(ge=0, le=MAX_TIMESTAMP)
    task_type: TaskType
    contact: Contact
    message: InboundMessage
    context: ConversationContext = Field(default_factory=ConversationContext)
    metadata: RequestMetadata = Field(default_factory=RequestMetadata)

    _whole_seconds = field_validator("timestamp", mode="before")(lambda v: _whole(v))


class ReplyContact(_Wire):
    """The recipient of a reply (the request's contact without ``countryCode``)."""

    remote_jid: str
    phone_number: str
    name: str | None = None


class ReplyResponse(_Wire):
    """What to send to the customer (``response``)."""

    text: str
    type: ResponseType = ResponseType.TEXT
    attachments: tuple[dict[str, Any], ...] = ()


class AgentMetadata(_Wire):
    """How the answer was produced (``agentMetadata``)."""

    tools_used: tuple[str, ...] = ()
    reasoning_steps: tuple[str, ...] = ()
    processing_time: float = 0.0
    tokens_used: int = 0


class ReplyError(_Wire):
    """Why a request failed (``error``); present only when ``status`` is ``error``."""

    code: str
    message: str
    stack: str | None = None


class AgentReply(_Wire):
    """A message on ``wb_queue``: the answer (or the error) for one request."""

    message_id: str
    original_message_id: str
    timestamp: int
    status: ReplyStatus
    contact: ReplyContact
    response: ReplyResponse
    agent_metadata: AgentMetadata = Field(default_factory=AgentMetadata)
    error: ReplyError | None = None


def timestamp_seconds(value: int) -> float:
    """Return a request timestamp in Unix seconds, whether it was sent in s or ms.

    Any value above 10^11 (year 5138 in seconds, 1973 in milliseconds) is taken as ms.
    """
    return value / 1000.0 if value > 100_000_000_000 else float(value)
