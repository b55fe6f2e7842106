"""Queue depth, consumers and (optionally) unacked counts for every queue of the topology.

Depth and consumer counts come from passive declares, which every RabbitMQ answers, so the
gauges work on a broker without the management plugin. Passive declares cannot see unacked
messages, so when ``RABBITMQ_MANAGEMENT_URL`` is set one ``GET /api/queues/{vhost}`` per
round adds ``agentcluster_queue_unacked``.

A queue that does not exist, or a round that fails, removes the queue's series instead of
leaving the last value in place: a stale ``consumers=1`` after the broker went away would
hide exactly the outage the "no consumer on ag_queue" alert is for, while a missing series
is caught by its ``absent()`` clause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import httpx
from prometheus_client import Gauge

from cluster.broker import queue_states
from cluster.metrics import BrokerMetrics
from cluster.settings import Settings
from contracts.errors import ConfigError
from contracts.topology import Topology

__all__ = ["BrokerMetricsCollector", "ManagementApi", "QueueStats"]

logger = logging.getLogger(__name__)

ConnectionFactory = Callable[[], Awaitable[aio_pika.abc.AbstractConnection]]


@dataclass(frozen=True)
class QueueStats:
    """One queue's counts from one collection round (``unacked`` only with the management API)."""

    name: str
    depth: int
    consumers: int
    unacked: int | None = None


class ManagementApi:
    """The one management-API call the collector needs, with the client injectable for tests."""

    def __init__(
        self,
        url: str,
        vhost: str = "/",
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError("invalid setting RABBITMQ_MANAGEMENT_URL: must be an http:// or https:// URL")
        # Credentials in the URL win; otherwise the AMQP user's, which usually has the monitoring tag.
        user = parts.username or username
        secret = parts.password or password
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self._base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._vhost = vhost
        self._auth = httpx.BasicAuth(user, secret or "") if user else None
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def safe_url(self) -> str:
        """The base URL without credentials, for logs."""
        return self._base

    async def unacked(self, names: set[str]) -> dict[str, int]:
        """``messages_unacknowledged`` of each named queue that exists, in one request."""
        if self._client is None:
            self._client = httpx.AsyncClient(auth=self._auth, timeout=self._timeout, transport=self._transport)
        response = await self._client.get(
            f"{self._base}/api/queues/{quote(self._vhost, safe='')}",
            params={"columns": "name,messages_unacknowledged"},
        )
        response.raise_for_status()
        return {
            str(row["name"]): int(row.get("messages_unacknowledged") or 0)
            for row in response.json()
            if row.get("name") in names
        }

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class BrokerMetricsCollector:
    """Fills :class:`~cluster.metrics.BrokerMetrics` every ``interval`` seconds.

    Pass an open connection (the caller keeps owning it) or a factory such as
    ``lambda: connect(settings, name="agentcluster-broker-metrics")`` (the collector opens it
    in :meth:`start` and closes it in :meth:`stop`).
    """

    def __init__(
        self,
        connection: aio_pika.abc.AbstractConnection | ConnectionFactory,
        topology: Topology,
        metrics: BrokerMetrics,
        interval: float = 15.0,
        *,
        management: ManagementApi | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if isinstance(connection, aio_pika.abc.AbstractConnection):
            self._connection: aio_pika.abc.AbstractConnection | None = connection
            self._factory: ConnectionFactory | None = None
        else:
            self._connection = None
            self._factory = connection
        self._names = tuple(queue.name for queue in topology.queues)
        self._metrics = metrics
        self._interval = interval
        self._management = management
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        metrics: BrokerMetrics,
        connection: aio_pika.abc.AbstractConnection | ConnectionFactory | None = None,
        interval: float = 15.0,
    ) -> BrokerMetricsCollector:
        """A collector for ``settings``' topology, with the management API when it is configured."""
        if connection is None:
            from cluster.broker import connect

            async def factory() -> aio_pika.abc.AbstractConnection:
                return await connect(settings, name="agentcluster-broker-metrics")

            connection = factory
        management = None
        if settings.rabbitmq_management_url is not None:
            management = ManagementApi(
                settings.rabbitmq_management_url.get_secret_value(),
                settings.rabbitmq_vhost,
                username=settings.rabbitmq_user,
                password=settings.rabbitmq_pass.get_secret_value() if settings.rabbitmq_pass else None,
            )
        return cls(connection, settings.topology(), metrics, interval, management=management)

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue the collector watches: dead-letter, main and retry queues."""
        return self._names

    async def start(self) -> None:
        """Open the connection if a factory was given, collect once, then keep collecting."""
        if self._task is not None:
            raise RuntimeError("BrokerMetricsCollector already started")
        if self._connection is None and self._factory is not None:
            self._connection = await self._factory()
        await self._collect_logged()
        self._task = asyncio.create_task(self._loop(), name="broker-metrics")

    async def stop(self) -> None:
        """Stop collecting and close what :meth:`start` opened; the gauges keep their last values."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._management is not None:
            await self._management.aclose()
        if self._factory is not None and self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def collect_once(self) -> dict[str, QueueStats]:
        """One round: passive-declare every queue and update the gauges; returns what it saw.

        Raises whatever the broker raised (after clearing every series), so callers such as
        ``agentcluster status`` can report an unreachable broker.
        """
        if self._connection is None:
            raise RuntimeError("BrokerMetricsCollector.collect_once() needs a connection: call start() first")
        try:
            states = await queue_states(self._connection, self._names)
        except Exception:
            self._clear(self._names)
            raise
        unacked = await self._unacked({name for name, state in states.items() if state is not None})
        stats: dict[str, QueueStats] = {}
        for name, state in states.items():
            if state is None:
                self._clear((name,))
                continue
            depth, consumers = state
            stats[name] = QueueStats(name, depth, consumers, unacked.get(name))
            self._metrics.depth.labels(queue=name).set(depth)
            self._metrics.consumers.labels(queue=name).set(consumers)
            if name in unacked:
                self._metrics.unacked.labels(queue=name).set(unacked[name])
        return stats

    async def _unacked(self, names: set[str]) -> dict[str, int]:
        # The management API is optional: its failure must not cost the passive-declare gauges.
        if self._management is None or not names:
            return {}
        try:
            return await self._management.unacked(names)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            logger.warning(
                "RabbitMQ management API unavailable",
                extra={"url": self._management.safe_url, "error": f"{type(exc).__name__}: {exc}"},
            )
            for name in names:
                self._remove(self._metrics.unacked, name)
            return {}

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._collect_logged()

    async def _collect_logged(self) -> None:
        try:
            await self.collect_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Keep collecting: the robust connection reconnects and the next round succeeds.
            logger.warning("Broker metrics collection failed", extra={"error": f"{type(exc).__name__}: {exc}"})

    def _clear(self, names: tuple[str, ...]) -> None:
        for name in names:
            for gauge in (self._metrics.depth, self._metrics.consumers, self._metrics.unacked):
                self._remove(gauge, name)

    @staticmethod
    def _remove(gauge: Gauge, name: str) -> None:
        with contextlib.suppress(KeyError):
            gauge.remove(name)
