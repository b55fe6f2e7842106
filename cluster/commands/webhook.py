"""``agentcluster webhook``: run the webhook service (HTTP, consumers, re-driver, DLQ monitor, metrics).

With ``--with-sandbox`` it also runs the local WhatsApp sandbox in-process and points the
service at it (what ``make run`` does). SIGTERM or Ctrl-C stops it gracefully: HTTP stops
accepting, in-flight replies finish within DRAIN_TIMEOUT, unacked ones go back to the queue.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from prometheus_client import CollectorRegistry

from cluster.logs import configure_logging
from cluster.metrics import WebhookMetrics, serve_metrics
from cluster.settings import Settings, load_settings
from webhook.service import WebhookService, start_webhook_stack

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``webhook``."""
    parser = subparsers.add_parser(
        "webhook",
        help="run the webhook service (WhatsApp in, ag_queue out, wb_queue in, WhatsApp out)",
        description=(
            "POST /webhook for Wasender events, the wb_queue consumer, the dlx_webhook re-driver and the "
            "dlx_agent monitor, with metrics on WEBHOOK_METRICS_PORT."
        ),
    )
    parser.add_argument(
        "--with-sandbox", action="store_true", help="also run the local WhatsApp sandbox and send through it"
    )
    parser.set_defaults(func=_run)


async def _serve(settings: Settings, with_sandbox: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if with_sandbox:
        stack = await start_webhook_stack(settings)
        print(f"webhook  {stack.webhook_url}/webhook", flush=True)
        print(f"sandbox  {stack.sandbox_url}  (LOCAL stand-in for WhatsApp: GET /sent, POST /inbound)", flush=True)
        print(f"metrics  {stack.metrics_url}", flush=True)
        await stop.wait()
        await stack.stop()
        return
    registry = CollectorRegistry()
    service = WebhookService(settings, WebhookMetrics(registry))
    try:
        url = await service.start()
        port = serve_metrics(settings.webhook_metrics_port, registry, addr=settings.webhook_host)
        print(f"webhook  {url}/webhook   metrics http://{settings.webhook_host}:{port}/metrics", flush=True)
        await stop.wait()
    finally:
        await service.stop()


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_serve(settings, args.with_sandbox))
    return 0
