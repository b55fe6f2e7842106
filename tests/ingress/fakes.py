"""In-memory fakes of the ingress ports, scripted per message text, with one shared event log.

The Ingress under test talks to a :class:`FakePool` and a :class:`FakePublisher` instead of
Ray Serve handles. Both append to an :class:`EventLog`, and :func:`record_settlements`
wraps aio-pika's ``ack``/``nack``/``reject`` so the same log shows when each delivery was
settled relative to each publish.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest

from actors.pool import PoolResult
from contracts.codec import decode_request, encode, reply_id, success_reply
from contracts.errors import PublishError
from contracts.models import AgentMetadata

__all__ = ["EventLog", "FakePool", "FakePublisher", "Gate", "PublishCall", "make_request", "record_settlements"]


def make_request(
    text: str,
    contact: int = 0,
    *,
    priority: str = "normal",
    retry_count: int = 0,
    max_retries: int = 3,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A spec-shaped ag_queue request stamped now."""
    phone = f"+2567000{contact:05d}"
    now = int(time.time())
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "timestamp": now,
        "taskType": "conversation",
        "contact": {"remoteJid": f"{phone.lstrip('+')}@s.whatsapp.net", "phoneNumber": phone, "name": "Test"},
        "message": {"text": text, "messageId": f"wa-{uuid.uuid4().hex[:12]}", "timestamp": now},
        "context": {"conversationHistory": [], "sessionData": {}},
        "metadata": {"priority": priority, "retryCount": retry_count, "maxRetries": max_retries},
    }


@dataclass
class EventLog:
    """Ordered ``(kind, message_id)`` events from the fakes and the settlement wrappers."""

    events: list[tuple[str, str | None]] = field(default_factory=list)
    #: ``(kind, message_id, redelivered)`` of every settlement of a delivery.
    settled: list[tuple[str, str | None, bool]] = field(default_factory=list)

    def add(self, kind: str, message_id: str | None) -> None:
        """Append one event."""
        self.events.append((kind, message_id))

    def kinds(self, message_id: str | None) -> list[str]:
        """Event kinds of one message, in order."""
        return [kind for kind, mid in self.events if mid == message_id]

    def count(self, kind: str, message_id: str | None = None) -> int:
        """How often ``kind`` happened (to ``message_id`` when given)."""
        return sum(1 for k, mid in self.events if k == kind and (message_id is None or mid == message_id))


def record_settlements(monkeypatch: pytest.MonkeyPatch, log: EventLog, lose_first_ack: Iterable[str] = ()) -> None:
    """Wrap ``IncomingMessage.ack/nack/reject`` so each settlement lands in ``log`` before it is sent.

    The first ack of each id in ``lose_first_ack`` is lost on the way: the broker requeues
    the delivery instead, as it does when the connection drops before an ack arrives.
    """
    lose = set(lose_first_ack)
    cls = aio_pika.IncomingMessage
    originals = {name: getattr(cls, name) for name in ("ack", "nack", "reject")}

    def wrap(name: str) -> Callable[..., Any]:
        original = originals[name]
        signature = inspect.signature(original)

        def settle(self: aio_pika.IncomingMessage, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            requeue = bound.arguments.get("requeue")
            kind = name if name == "ack" else f"{name}:{'requeue' if requeue else 'drop'}"
            log.settled.append((kind, self.message_id, bool(self.redelivered)))
            if name == "ack" and self.message_id in lose:
                lose.discard(self.message_id)
                log.add("ack:lost", self.message_id)
                return originals["nack"](self, requeue=True)
            log.add(kind, self.message_id)
            return original(self, *args, **kwargs)

        return settle

    for name in originals:
        monkeypatch.setattr(cls, name, wrap(name))


@dataclass
class Gate:
    """A scripted outcome that blocks the run until released, then behaves like ``then``."""

    then: Any = "ok"
    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FakePool:
    """A :class:`~ingress.ports.PoolPort` whose outcome per run is scripted by the message text.

    ``script`` maps a text to one outcome or a list of outcomes used run by run (the last one
    repeats). An outcome is ``"ok"`` (a success reply), an exception (raised), or a
    :class:`Gate`. Texts not in the script are answered.
    """

    def __init__(self, script: Mapping[str, Any] | None = None, log: EventLog | None = None) -> None:
        self._script = {text: list(o) if isinstance(o, list | tuple) else [o] for text, o in (script or {}).items()}
        self.log = log or EventLog()
        self.runs: list[str] = []
        self.running: dict[str, int] = {}
        self.max_running_per_contact = 0

    def _outcome(self, text: str) -> Any:
        outcomes = self._script.get(text)
        if not outcomes:
            return "ok"
        return outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]

    async def run(self, body: bytes) -> PoolResult:
        """Decode, follow the script, and return a success result."""
        request = decode_request(body)
        jid = request.contact.remote_jid
        self.runs.append(request.message_id)
        self.log.add("run", request.message_id)
        self.running[jid] = self.running.get(jid, 0) + 1
        self.max_running_per_contact = max(self.max_running_per_contact, self.running[jid])
        try:
            outcome = self._outcome(request.message.text)
            if isinstance(outcome, Gate):
                outcome.started.set()
                await outcome.release.wait()
                outcome = outcome.then
            if isinstance(outcome, BaseException):
                raise outcome
            reply = success_reply(request, f"answer to {request.message.text}", AgentMetadata(tokens_used=3))
            return PoolResult(
                reply=encode(reply),
                reply_id=reply_id(request.message_id),
                status=reply.status.value,
                task_type=request.task_type.value,
                tools_used=(),
                tokens_used=3,
                processing_time=0.001,
            )
        finally:
            self.running[jid] -= 1


@dataclass
class PublishCall:
    """One call to the fake publisher."""

    method: str
    body: bytes
    message_id: str | None
    extra: dict[str, Any]
    ok: bool = False

    def json(self) -> dict[str, Any]:
        """The published body as a dict."""
        return dict(json.loads(self.body))


class FakePublisher:
    """A :class:`~ingress.ports.PublisherPort` that records every call and can be told to fail.

    ``fail`` maps a method name to how many of its next calls raise
    :class:`~contracts.errors.PublishError`; ``on_call(method, message_id)`` runs at the start
    of each call (a test reads the ingress's state there).
    """

    def __init__(self, log: EventLog | None = None, fail: Mapping[str, int] | None = None) -> None:
        self.log = log or EventLog()
        self.fail = dict(fail or {})
        self.calls: list[PublishCall] = []
        self.on_call: Callable[[str, str | None], None] | None = None

    async def _record(self, call: PublishCall, key: str | None) -> None:
        self.calls.append(call)
        self.log.add(f"{call.method}:start", key)
        if self.on_call is not None:
            self.on_call(call.method, key)
        await asyncio.sleep(0)  # a real publish yields while it waits for the confirm
        if self.fail.get(call.method, 0) > 0:
            self.fail[call.method] -= 1
            self.log.add(f"{call.method}:failed", key)
            raise PublishError(f"injected {call.method} failure")
        call.ok = True
        self.log.add(f"{call.method}:end", key)

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """Record a reply; keyed by the request id (the correlation id)."""
        await self._record(
            PublishCall("publish_reply", body, reply_id, {"correlation_id": correlation_id}), correlation_id
        )

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """Record a retry copy."""
        await self._record(PublishCall("publish_retry", body, message_id, {"retry_count": retry_count}), message_id)
        return f"retry.{retry_count}"

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """Record a dead letter with its reason and code."""
        await self._record(
            PublishCall("publish_dead_letter", body, message_id, {"reason": reason, "code": code}), message_id
        )

    def succeeded(self, method: str, key: str | None = None) -> list[PublishCall]:
        """Calls of ``method`` that returned (for replies ``key`` is the request id)."""
        return [
            c
            for c in self.calls
            if c.method == method
            and c.ok
            and (key is None or (c.extra.get("correlation_id") if method == "publish_reply" else c.message_id) == key)
        ]
