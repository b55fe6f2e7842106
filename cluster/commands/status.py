"""``agentcluster status``: is the cluster consuming, how busy is it, how deep are the queues."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from cluster.settings import Settings, load_settings

__all__ = ["collect", "register", "render"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status``."""
    parser = subparsers.add_parser(
        "status",
        help="health, in-flight work, breaker and queue depths",
        description="Print whether the ingress is consuming, pool replicas, requests in flight, the circuit "
        "breaker and the depth of every queue. Exit code 0 when healthy (consuming, breaker closed), 1 otherwise.",
    )
    parser.add_argument("--address", default="auto", help="Ray cluster (default: auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_status)


async def _queues(settings: Settings) -> dict[str, dict[str, int] | None]:
    from cluster.broker import connect, queue_state

    connection = await connect(settings, name="agentcluster-status")
    try:
        out: dict[str, dict[str, int] | None] = {}
        for queue in settings.topology().queues:
            state = await queue_state(connection, queue.name)
            out[queue.name] = None if state is None else {"messages": state[0], "consumers": state[1]}
        return out
    finally:
        await connection.close()


def collect(settings: Settings, address: str) -> dict[str, Any]:
    """Everything ``status`` prints, as one dict (``healthy`` included)."""
    from ray import serve

    from cluster import runtime
    from cluster.app import APP_NAME

    report: dict[str, Any] = {"queues": asyncio.run(_queues(settings))}
    try:
        runtime.init_ray(address)
        app = serve.status().applications.get(APP_NAME)
        report["app"] = app.status.value if app else "NOT_DEPLOYED"
        if app:
            report["deployments"] = {
                name: {"status": d.status.value, "replicas": dict(d.replica_states)}
                for name, d in app.deployments.items()
            }
            report["ingress"] = runtime.ingress_status()
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    ingress = report.get("ingress")
    report["healthy"] = bool(
        isinstance(ingress, dict) and ingress.get("consuming") and ingress.get("breaker") == "closed"
    )
    return report


def render(report: dict[str, Any]) -> list[str]:
    """The lines ``status`` prints for a report of :func:`collect`."""
    ingress = report.get("ingress") or {}
    lines = [f"app: {report.get('app', 'unknown')}   healthy: {'yes' if report['healthy'] else 'NO'}"]
    if report.get("error"):
        lines.append(f"error: {report['error']}")
    for name, dep in (report.get("deployments") or {}).items():
        lines.append(f"  {name:<10} {dep['status']:<10} replicas {dep['replicas']}")
    if isinstance(ingress, dict) and ingress:
        keys = ("consuming", "breaker", "in_flight", "waiting", "consumed", "replied", "retried", "dead_lettered")
        lines.append("  ingress    " + "  ".join(f"{k}={ingress.get(k)}" for k in keys))
        dispatch = ingress.get("dispatch") or {}
        if dispatch.get("mode") == "direct":
            publisher = "attached" if dispatch.get("publisher_attached") else "NOT attached"
            lines.append(
                f"  dispatch   direct on {dispatch.get('address')}  publisher {publisher}"
                f"  waiting for a slot={dispatch.get('waiting_for_slot')}"
            )
            for replica in dispatch.get("replicas", []):
                state = " draining" if replica.get("draining") else ""
                lines.append(
                    f"    pool replica {replica['replica']} pid {replica['pid']}: "
                    f"{replica['running']}/{replica['capacity']} running, {replica['done']} done{state}"
                )
    lines.append("queues:")
    for name, state in report["queues"].items():
        text = "missing" if state is None else f"{state['messages']:>6} messages  {state['consumers']} consumers"
        lines.append(f"  {name:<28} {text}")
    return lines


def _status(args: argparse.Namespace) -> int:
    settings = load_settings()
    report = collect(settings, args.address)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print("\n".join(render(report)))
    return 0 if report["healthy"] else 1
