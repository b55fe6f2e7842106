"""The pool and the publisher as Ray Serve deployments (thin shells over plain classes).

The plain classes (:class:`~actors.pool.AgentPoolReplica`,
:class:`~actors.publisher.ReplyPublisher`) hold all behaviour and are tested without Ray;
these shells only give them Serve's lifecycle: an async constructor that warms them up,
an async ``__del__`` that releases connections. (No ``check_health``: a publisher whose
robust connection is reconnecting is not broken, and a restart would not reconnect sooner.)
"""

from __future__ import annotations

from typing import Any

from actors.pool import AgentPoolReplica, PoolResult
from actors.publisher import ReplyPublisher
from cluster.logs import configure_logging
from cluster.settings import Settings

__all__ = ["AgentPoolDeployment", "PublisherDeployment"]


class AgentPoolDeployment:
    """One pool replica: a warm engine; Serve routes at most CONCURRENT_TASKS runs to it."""

    async def __init__(  # type: ignore[misc]  # Serve awaits an async constructor
        self, settings: Settings, engine_factory: Any = None, probe: str | None = None
    ) -> None:
        configure_logging(settings.log_level, settings.log_format)
        self._replica = AgentPoolReplica(settings, engine_factory=engine_factory, probe=probe)
        await self._replica.start()

    async def run(self, body: bytes) -> PoolResult:
        """Run one request body; see :meth:`AgentPoolReplica.run`."""
        return await self._replica.run(body)

    async def health(self) -> dict[str, object]:
        """Engine health and counters."""
        return self._replica.health()

    async def __del__(self) -> None:
        await self._replica.stop()


class PublisherDeployment:
    """The one publisher replica with its own connection and confirming channel."""

    async def __init__(self, settings: Settings, fail_first: int = 0) -> None:  # type: ignore[misc]
        configure_logging(settings.log_level, settings.log_format)
        self._publisher = ReplyPublisher(settings, fail_first=fail_first)
        await self._publisher.start()

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """Publish a reply with confirm; raises PublishError."""
        await self._publisher.publish_reply(body, reply_id, correlation_id)

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """Park a request in its retry wait queue."""
        return await self._publisher.publish_retry(body, message_id, retry_count)

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """Dead-letter a request with its reason."""
        await self._publisher.publish_dead_letter(body, message_id, reason, code)

    async def health(self) -> dict[str, object]:
        """Channel state and counters."""
        return self._publisher.health()

    async def __del__(self) -> None:
        await self._publisher.stop()
