"""``agentcluster sandbox``: run the LOCAL WhatsApp sandbox (a Wasender stand-in) on its own.

Listens on ``WEBHOOK_HOST:SANDBOX_PORT``, accepts sends with ``WASENDER_API_KEY`` and posts
signed inbound events to the webhook at ``WEBHOOK_HOST:WEBHOOK_PORT`` with ``WEBHOOK_SECRET``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from cluster.logs import configure_logging
from cluster.settings import Settings, load_settings
from contracts.errors import ConfigError
from webhook.sandbox import Sandbox

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sandbox``."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the local WhatsApp sandbox (a stand-in for the Wasender API)",
        description=(
            "A LOCAL stand-in for the Wasender API: records sends (GET /sent), posts signed inbound "
            "events to the webhook (POST /inbound), fails on demand (POST /fail). Sends nothing to WhatsApp."
        ),
    )
    parser.add_argument("--port", type=int, help="port (default SANDBOX_PORT)")
    parser.set_defaults(func=_run)


async def _serve(settings: Settings, port: int) -> None:
    if settings.wasender_api_key is None:
        raise ConfigError("WASENDER_API_KEY: required (the key the sandbox accepts)")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    sandbox = Sandbox(
        settings.wasender_api_key.get_secret_value(),
        webhook_url=f"http://{settings.webhook_host}:{settings.webhook_port}",
        webhook_secret=secret,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await sandbox.start(settings.webhook_host, port)
    print(f"LOCAL WhatsApp sandbox (not WhatsApp) on {url}: GET /sent, POST /inbound, POST /fail", flush=True)
    await stop.wait()
    await sandbox.stop()


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_serve(settings, args.port or settings.sandbox_port))
    return 0
