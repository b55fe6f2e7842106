"""``agentcluster run``: declare the topology, deploy the app on Ray, serve until stopped."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from cluster.settings import Settings, load_settings

__all__ = ["register"]

DESCRIPTION = """\
Deploy the agent cluster: one ingress consuming ag_queue, an autoscaling pool of warm
ADK agents, one publisher on wb_queue.

Without --address a local Ray head is started in this process (development); with
--address auto (or host:port) the app is deployed onto a running Ray cluster such as one
made by `ray start --head` or `ray up cluster/config.yaml`. The queue topology is declared
and verified first; a drift from the contract stops start-up with a message naming the
queue and the argument. Ctrl-C or SIGTERM drains: consumption stops, running work finishes
within DRAIN_TIMEOUT, the rest is requeued. Nothing is lost."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    parser = subparsers.add_parser(
        "run",
        help="deploy the cluster and serve until Ctrl-C",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--address", help="Ray cluster to join ('auto' or host:port); default: start a local head")
    parser.add_argument("--num-cpus", type=float, default=None, help="logical CPUs of a local head (default: all)")
    parser.add_argument("--detach", action="store_true", help="deploy and exit; stop later with `agentcluster stop`")
    parser.add_argument(
        "--local-stack",
        action="store_true",
        help="also run the webhook service and the local WhatsApp sandbox in this process (what `make run` does)",
    )
    parser.set_defaults(func=_run)


def _step(text: str) -> None:
    print(f"  • {text}", flush=True)


def _run(args: argparse.Namespace) -> int:
    from cluster import runtime
    from cluster.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format if not sys.stderr.isatty() else "text")
    print(f"agentcluster: model={settings.model} database={_safe_db(settings.database_url)}", flush=True)
    _step(f"RabbitMQ {settings.amqp_url_safe()}: declaring and verifying the topology")
    asyncio.run(_prepare_broker(settings))
    _step("Ray: " + (f"joining {args.address}" if args.address else "starting a local head (takes a few seconds)"))
    started = time.monotonic()
    # Ray is started from the main thread so that it can install its own signal handlers.
    info = runtime.init_ray(args.address, num_cpus=args.num_cpus)
    _step(f"Ray ready in {time.monotonic() - started:.1f}s; deploying Ingress, AgentPool, Publisher")
    runtime.deploy(settings)
    status = runtime.wait_until_consuming(300.0)
    dashboard = info.get("dashboard_url") or ""
    print(f"agentcluster: consuming {settings.agent_queue} → replies on {settings.webhook_queue}")
    print(f"  dashboard  {'http://' + dashboard if dashboard and '://' not in dashboard else dashboard or '-'}")
    host = "127.0.0.1" if not args.address else "<ingress node>"
    print(f"  metrics    http://{host}:{status.get('metrics_port')}/metrics")
    if args.detach:
        print("deployed; stop with `agentcluster stop`")
        return 0
    return asyncio.run(_serve(settings, args))


async def _prepare_broker(settings: Settings) -> None:
    from cluster.broker import connect, declare_topology, verify_topology

    connection = await connect(settings, name="agentcluster-run")
    try:
        await declare_topology(connection, settings.topology())
        await verify_topology(connection, settings.topology())
    finally:
        await connection.close()


async def _app_gone() -> None:
    """Return when the application has been deleted (e.g. by `agentcluster stop`)."""
    from ray import serve

    from cluster.app import APP_NAME

    while True:
        await asyncio.sleep(5.0)
        try:
            apps = await asyncio.to_thread(lambda: serve.status().applications)
        except Exception:
            continue
        if APP_NAME not in apps:
            return


async def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from cluster import runtime

    stack = None
    if args.local_stack:
        from webhook.service import start_webhook_stack

        stack = await start_webhook_stack(settings)
        print(f"  webhook    {stack.webhook_url}/webhook")
        print(f"  sandbox    {stack.sandbox_url}/sent   (local stand-in for the Wasender API)")
        if stack.metrics_url:
            print(f"  webhook metrics {stack.metrics_url}")
        print("  try it:    .venv/bin/agentcluster demo   (in another terminal)")
    print("Ctrl-C to drain and stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.create_task(stop.wait())
    gone = asyncio.create_task(_app_gone())
    await asyncio.wait({stopper, gone}, return_when=asyncio.FIRST_COMPLETED)
    counts: dict[str, int] = {}
    if gone.done():
        print("agentcluster: the application was stopped elsewhere", flush=True)
    else:
        gone.cancel()
        print("\nagentcluster: draining…", flush=True)
        counts = await asyncio.to_thread(runtime.shutdown_app, settings.drain_timeout)
    if stack is not None:
        await stack.stop()
    print(f"agentcluster: stopped {counts}".rstrip())
    return 0


def _safe_db(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://***@{tail}" if at else url
