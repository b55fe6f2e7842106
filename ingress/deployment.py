"""The ingress as a Ray Serve deployment: one replica that owns the ``ag_queue`` consume loop.

With ``DISPATCH=direct`` (the default) it also hosts the dispatch server that pool replicas
and the publisher attach to (``ingress/dispatch.py``); with ``DISPATCH=serve`` it calls them
through their Serve handles.

Serve restarts the replica when ``check_health`` fails (a worker task died) and calls
``__del__`` on shutdown, which drains: stop consuming, requeue what has not started, finish
what is running within DRAIN_TIMEOUT.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry

from cluster.broker_metrics import BrokerMetricsCollector
from cluster.logs import configure_logging
from cluster.metrics import BrokerMetrics, ClusterMetrics, serve_metrics
from cluster.settings import Settings
from ingress.direct import DirectPool, DirectPublisher
from ingress.dispatch import DispatchServer
from ingress.ports import HandlePool, HandlePublisher, PoolPort, PublisherPort
from ingress.service import Ingress

__all__ = ["IngressDeployment"]

log = logging.getLogger("agentcluster.ingress")


@dataclass
class _Direct:
    """``DISPATCH=direct``: the ports the ingress uses and the server the workers attach to."""

    pool: DirectPool
    publisher: DirectPublisher
    server: DispatchServer = field(init=False)


class IngressDeployment:
    """Serve user class: builds the :class:`Ingress` on the pool and publisher handles."""

    async def __init__(self, settings: Settings, pool: Any, publisher: Any) -> None:  # type: ignore[misc]
        configure_logging(settings.log_level, settings.log_format)
        self._settings = settings
        registry = CollectorRegistry()
        self._metrics_port = serve_metrics(settings.metrics_port, registry)
        self._direct: _Direct | None = None
        pool_port: PoolPort = HandlePool(pool)
        publisher_port: PublisherPort = HandlePublisher(publisher)
        if settings.dispatch == "direct":
            import ray

            direct = _Direct(DirectPool(), DirectPublisher())
            direct.server = DispatchServer(
                settings.dispatch_token(),
                {"pool": direct.pool, "publisher": direct.publisher},
                host=ray.util.get_node_ip_address(),
                port=settings.dispatch_port,
            )
            await direct.server.start()
            direct.pool.start()
            self._direct, pool_port, publisher_port = direct, direct.pool, direct.publisher
        metrics = ClusterMetrics(registry)
        if self._direct is not None:
            direct = self._direct
            metrics.workers_attached.labels("pool").set_function(lambda: direct.pool.attached)
            metrics.workers_attached.labels("publisher").set_function(lambda: int(direct.publisher.attached))
        self._ingress = Ingress(settings, pool_port, publisher_port, metrics)
        await self._ingress.start()
        # Queue depths and consumer counts are served beside the ingress's own metrics, so one
        # scrape target has everything the dashboard and the alerts need.
        self._collector = BrokerMetricsCollector.from_settings(
            settings, BrokerMetrics(registry), interval=settings.broker_metrics_interval
        )
        await self._collector.start()
        self._drained: dict[str, int] | None = None

    async def status(self) -> dict[str, object]:
        """The ingress snapshot plus where its metrics are served and which workers are attached."""
        dispatch: dict[str, object] = {"mode": self._settings.dispatch}
        if self._direct is not None:
            dispatch.update(
                address=self._direct.server.address,
                publisher_attached=self._direct.publisher.attached,
                **self._direct.pool.status(),
            )
        return {**self._ingress.status(), "metrics_port": self._metrics_port, "pid": os.getpid(), "dispatch": dispatch}

    async def dispatch_address(self) -> str:
        """Where pool replicas and the publisher attach (``DISPATCH=direct``)."""
        if self._direct is None:
            raise RuntimeError("DISPATCH=serve: the ingress has no dispatch server")
        return self._direct.server.address

    async def drain(self, timeout: float | None = None) -> dict[str, int]:
        """Graceful stop (``agentcluster stop``); idempotent."""
        if self._drained is None:
            self._drained = await self._ingress.drain(timeout)
            await self._collector.stop()
            if self._direct is not None:
                await self._direct.pool.stop()
                await self._direct.server.stop()
        return self._drained

    async def check_health(self) -> None:
        """Unhealthy only when a worker or the watchdog died.

        A lost broker connection is not a reason: the robust connection reconnects and
        restores the consumer by itself, while a restarted replica would fail its constructor
        for as long as the broker is down and Serve would give up on the deployment.
        """
        if self._drained is None:
            self._ingress.check_alive()

    async def __del__(self) -> None:
        await self.drain()
