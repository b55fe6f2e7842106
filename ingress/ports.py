"""What the ingress needs from the pool and the publisher, and how failures are classified.

The ingress talks to two ports. In the cluster they are Ray Serve deployment handles
(:class:`HandlePool`, :class:`HandlePublisher`); in unit tests they are in-process objects.
Anything that comes back as an exception is mapped by :func:`classify` onto the project's
error tree, because the outcome (retry, dead-letter, requeue) depends only on that.
"""

from __future__ import annotations

from typing import Any, Protocol

from contracts.errors import AgentClusterError, ReplicaLostError

__all__ = ["HandlePool", "HandlePublisher", "PoolPort", "PublisherPort", "classify"]


class PoolPort(Protocol):
    """Runs one request body on some pool replica."""

    async def run(self, body: bytes) -> Any:
        """Return an ``actors.pool.PoolResult``."""
        ...


class PublisherPort(Protocol):
    """Publishes with confirms; each call returns only once the broker has the message."""

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """Publish a reply to wb_queue."""
        ...

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """Park a request in a retry wait queue."""
        ...

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """Dead-letter a request with its reason."""
        ...


class HandlePool:
    """:class:`PoolPort` over a Serve ``DeploymentHandle`` of the ``AgentPool`` deployment."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def run(self, body: bytes) -> Any:
        """Route the body to a replica with spare capacity and await its result."""
        return await self._handle.run.remote(body)


class HandlePublisher:
    """:class:`PublisherPort` over a Serve ``DeploymentHandle`` of the ``Publisher`` deployment."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """See :meth:`actors.publisher.ReplyPublisher.publish_reply`."""
        await self._handle.publish_reply.remote(body, reply_id, correlation_id)

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """See :meth:`actors.publisher.ReplyPublisher.publish_retry`."""
        return str(await self._handle.publish_retry.remote(body, message_id, retry_count))

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """See :meth:`actors.publisher.ReplyPublisher.publish_dead_letter`."""
        await self._handle.publish_dead_letter.remote(body, message_id, reason, code)


def classify(exc: BaseException) -> AgentClusterError:
    """Map any failure of a pool or publisher call onto the error tree.

    Ray wraps an exception raised in a replica in ``RayTaskError``, whose class derives from
    the original's too and whose ``cause`` holds it; Serve raises ``RayActorError`` /
    ``ActorDiedError`` / ``ActorUnavailableError`` when the replica died. Our own errors are
    taken as they are; anything else is a lost replica (retryable): a run that did not
    finish must never be acked as done.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        cause = getattr(current, "cause", None)
        if isinstance(cause, BaseException) and id(cause) not in seen:
            current = cause  # unwrap RayTaskError before looking at its hybrid class
            continue
        if isinstance(current, AgentClusterError):
            return current
        current = current.__cause__
    return ReplicaLostError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500])
