"""Start, deploy, watch and stop the cluster from a driver process.

Used by ``agentcluster run|status|stop`` and by the tests. Ray is joined with
``address`` (``auto`` or ``ray://…``/``host:port``) or started as a local head; Serve runs
without an HTTP proxy (the cluster's front door is RabbitMQ, not HTTP).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import ray
from ray import serve

from cluster.app import APP_NAME, build_app
from cluster.settings import Settings

__all__ = ["deploy", "drain", "ingress_status", "init_ray", "shutdown_app", "wait_until_consuming"]

log = logging.getLogger("agentcluster.runtime")


def init_ray(address: str | None = None, *, num_cpus: float | None = None, dashboard: bool = True) -> dict[str, Any]:
    """Join or start Ray; returns the context's addresses (dashboard URL may be empty)."""
    if ray.is_initialized():
        return {"dashboard_url": "", "address": ray.get_runtime_context().gcs_address}
    kwargs: dict[str, Any] = {"ignore_reinit_error": True, "logging_level": logging.WARNING, "log_to_driver": False}
    if address:
        kwargs["address"] = address
    else:
        kwargs["num_cpus"] = num_cpus
        kwargs["include_dashboard"] = dashboard
        kwargs["dashboard_host"] = "127.0.0.1"
    context = ray.init(**kwargs)
    address_info: dict[str, Any] = getattr(context, "address_info", {}) or {}
    return {"dashboard_url": context.dashboard_url or "", "address": address_info.get("gcs_address", "")}


def deploy(settings: Settings, **hooks: Any) -> Any:
    """Deploy (or update) the application; returns the ingress handle."""
    serve.start(proxy_location="Disabled")
    return serve.run(build_app(settings, **hooks), name=APP_NAME, route_prefix=None)


def ingress_status(timeout: float = 10.0) -> dict[str, object]:
    """The ingress replica's status snapshot."""
    handle = serve.get_deployment_handle("Ingress", app_name=APP_NAME)
    return dict(handle.status.remote().result(timeout_s=timeout))


def wait_until_consuming(timeout: float = 120.0) -> dict[str, object]:
    """Block until the ingress reports it is consuming; raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            last = ingress_status()
            if last.get("consuming"):
                return last
        except Exception as exc:  # not deployed yet
            last = {"error": str(exc)}
        time.sleep(0.5)
    raise TimeoutError(f"ingress not consuming after {timeout}s: {last}")


def drain(timeout: float | None = None) -> dict[str, int]:
    """Graceful stop of the ingress: stop consuming, requeue waiting, finish running."""
    handle = serve.get_deployment_handle("Ingress", app_name=APP_NAME)
    wait = (timeout or 30.0) + 30.0
    return dict(handle.drain.remote(timeout).result(timeout_s=wait))


def shutdown_app(timeout: float | None = None) -> dict[str, int]:
    """Drain, then delete the application (replicas release their connections)."""
    if APP_NAME not in serve.status().applications:
        return {}
    try:
        counts = drain(timeout)
    except Exception as exc:  # the ingress is gone already: its replicas requeued on exit
        log.warning("drain failed: %s", exc)
        counts = {}
    serve.delete(APP_NAME)
    return counts
