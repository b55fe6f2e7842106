"""The pool and the publisher as Ray Serve deployments (thin shells over plain classes).

The plain classes (:class:`~actors.pool.AgentPoolReplica`,
:class:`~actors.publisher.ReplyPublisher`) hold all behaviour and are tested without Ray;
these shells give them Serve's lifecycle (an async constructor that warms them up, an async
``__del__`` that releases connections) and, with ``DISPATCH=direct``, an
:class:`~actors.link.IngressLink` that attaches them to the ingress. (No ``check_health``: a
publisher whose robust connection is reconnecting is not broken, and a restart would not
reconnect sooner.)
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from actors.link import Handler, IngressLink
from actors.pool import AgentPoolReplica, PoolResult
from actors.publisher import ReplyPublisher
from cluster.logs import configure_logging
from cluster.settings import Settings
from contracts.dispatch import INGRESS_DEPLOYMENT, Hello, split_parts
from contracts.errors import AgentFailedError

__all__ = ["AgentPoolDeployment", "PublisherDeployment"]

#: Publishes the publisher may have outstanding on its stream (each is one confirm round trip).
_PUBLISHER_CAPACITY = 10_000


def _attach(settings: Settings, role: str, capacity: int, handler: Handler) -> IngressLink:
    """A link that attaches this replica to the ingress of its own application."""
    import ray
    from ray import serve

    context = serve.get_replica_context()
    ingress = serve.get_deployment_handle(INGRESS_DEPLOYMENT, app_name=context.app_name)

    async def locate() -> str:
        return str(await ingress.dispatch_address.remote())

    hello = Hello(
        role=role,
        token=settings.dispatch_token(),
        replica_id=context.replica_id.unique_id,
        node_id=str(ray.get_runtime_context().get_node_id()),
        pid=os.getpid(),
        capacity=capacity,
    )
    return IngressLink(hello, handler, locate)


class AgentPoolDeployment:
    """One pool replica: a warm engine, at most CONCURRENT_TASKS runs at once."""

    async def __init__(  # type: ignore[misc]  # Serve awaits an async constructor
        self, settings: Settings, engine_factory: Any = None, probe: str | None = None
    ) -> None:
        configure_logging(settings.log_level, settings.log_format)
        self._settings = settings
        self._replica = AgentPoolReplica(settings, engine_factory=engine_factory, probe=probe)
        await self._replica.start()
        self._link: IngressLink | None = None
        if settings.dispatch == "direct":
            self._link = _attach(settings, "pool", settings.concurrent_tasks, self._replica.run_encoded)
            await self._link.start()

    async def run(self, body: bytes) -> PoolResult:
        """Run one request body (``DISPATCH=serve``); see :meth:`AgentPoolReplica.run`."""
        return await self._replica.run(body)

    async def health(self) -> dict[str, object]:
        """Engine health and counters."""
        attached = self._link is not None and self._link.connected.is_set()
        return {**self._replica.health(), "attached": attached}

    async def record_autoscaling_stats(self) -> dict[str, float]:
        """Serve's autoscaling input with ``DISPATCH=direct`` (``cluster.autoscaling.pool_policy``):
        runs here plus this replica's share of the runs waiting at the ingress."""
        backlog = self._link.backlog if self._link is not None else 0.0
        return {"ongoing": float(self._replica.running) + backlog}

    async def __del__(self) -> None:
        if self._link is not None:
            await self._link.drain(self._settings.drain_timeout)
        await self._replica.stop()


class PublisherDeployment:
    """The one publisher replica with its own connection and confirming channel."""

    async def __init__(self, settings: Settings, fail_first: int = 0) -> None:  # type: ignore[misc]
        configure_logging(settings.log_level, settings.log_format)
        self._settings = settings
        self._publisher = ReplyPublisher(settings, fail_first=fail_first)
        await self._publisher.start()
        self._link: IngressLink | None = None
        if settings.dispatch == "direct":
            self._link = _attach(settings, "publisher", _PUBLISHER_CAPACITY, self._execute)
            await self._link.start()

    async def _execute(self, payload: bytes) -> bytes:
        """One publish command from the ingress stream (``ingress.direct.DirectPublisher``)."""
        header, body = split_parts(payload)
        op = header.get("op")
        commands: dict[str, Callable[[], Awaitable[Any]]] = {
            "reply": lambda: self.publish_reply(body, header["reply_id"], header["correlation_id"]),
            "retry": lambda: self.publish_retry(body, header["message_id"], int(header["retry_count"])),
            "dead": lambda: self.publish_dead_letter(body, header["message_id"], header["reason"], header["code"]),
        }
        if op not in commands:
            raise AgentFailedError(f"unknown publisher command {op!r}")
        outcome = await commands[op]()
        return outcome.encode() if isinstance(outcome, str) else b""

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
        attached = self._link is not None and self._link.connected.is_set()
        return {**self._publisher.health(), "attached": attached}

    async def __del__(self) -> None:
        if self._link is not None:
            await self._link.drain(5.0)
        await self._publisher.stop()
