"""The Ray Serve application: Ingress → AgentPool → Publisher, composed from settings.

``build_app(settings)`` is what ``agentcluster run`` deploys; ``app_builder(args)`` is the
import path for ``serve run`` / ``serve deploy`` / KubeRay (``cluster.app:app_builder``),
which reads the settings from the environment of the Serve controller (``runtime_env``).

With ``DISPATCH=direct`` the pool replicas and the publisher attach to the ingress over TCP
(``contracts/dispatch.py`` says why) and the pool is sized by ``cluster.autoscaling.pool_policy``
from the load its replicas report; Serve still deploys, places, health-checks and restarts all
three deployments.

Resource shapes, chosen for the 2-core development machine and kept for clusters: a Serve
replica asks for a whole CPU unless told otherwise, so the ingress and the publisher ask
for 0.1 CPU (they are I/O-bound) and each pool replica for POOL_REPLICA_CPUS.
"""

from __future__ import annotations

from typing import Any

from ray import serve
from ray.serve import Application

from actors.deployments import AgentPoolDeployment, PublisherDeployment
from cluster import autoscaling as autoscaling_policy
from cluster.settings import Settings, load_settings
from contracts.dispatch import INGRESS_DEPLOYMENT
from ingress.deployment import IngressDeployment

__all__ = ["APP_NAME", "app_builder", "build_app"]

APP_NAME = "agentcluster"


def build_app(
    settings: Settings,
    *,
    engine_factory: Any = None,
    probe: str | None = None,
    publisher_fail_first: int = 0,
) -> Application:
    """Compose the three deployments; ``engine_factory``/``probe``/``publisher_fail_first`` are test hooks."""
    capacity = settings.pool_capacity()
    env = _replica_env(settings)
    autoscaling: dict[str, Any] = {
        "min_replicas": settings.pool_min_replicas,
        "initial_replicas": max(1, settings.pool_min_replicas),
        "max_replicas": settings.pool_max_replicas,
        "target_ongoing_requests": max(1.0, settings.concurrent_tasks * 0.8),
        "upscale_delay_s": 3.0,
        "downscale_delay_s": 60.0,
    }
    if settings.dispatch == "direct":
        autoscaling["policy"] = {"policy_function": autoscaling_policy.POLICY}
    pool = (
        serve.deployment(name="AgentPool")(AgentPoolDeployment)
        .options(
            max_ongoing_requests=settings.concurrent_tasks,
            autoscaling_config=autoscaling,
            ray_actor_options={"num_cpus": settings.pool_replica_cpus, **env},
            graceful_shutdown_timeout_s=settings.drain_timeout + 5,
            health_check_period_s=5.0,
        )
        .bind(settings, engine_factory, probe)
    )
    publisher = (
        serve.deployment(name="Publisher")(PublisherDeployment)
        .options(
            num_replicas=1,
            max_ongoing_requests=capacity * 2 + 16,
            ray_actor_options={"num_cpus": 0.1, **env},
            health_check_period_s=10.0,
            health_check_timeout_s=30.0,
        )
        .bind(settings, publisher_fail_first)
    )
    return (
        serve.deployment(name=INGRESS_DEPLOYMENT)(IngressDeployment)
        .options(
            num_replicas=1,
            max_ongoing_requests=16,
            ray_actor_options={"num_cpus": 0.1, **env},
            graceful_shutdown_timeout_s=settings.drain_timeout + 10,
            health_check_period_s=10.0,
            health_check_timeout_s=30.0,
        )
        .bind(settings, pool, publisher)
    )


def _replica_env(settings: Settings) -> dict[str, Any]:
    """``runtime_env`` of every replica.

    ``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` is Ray Serve's own switch for high request rates (user code
    on the replica's main loop, buffered request logs); it only matters with ``DISPATCH=serve``.
    Serve reads it at import, so it must be in each replica's environment, not only the driver's.
    """
    if not settings.serve_throughput_optimized:
        return {}
    return {"runtime_env": {"env_vars": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}}}


def app_builder(args: dict[str, Any]) -> Application:
    """Serve app builder: settings from the environment, overridden by ``args`` (lower-case names)."""
    return build_app(load_settings(**args))
