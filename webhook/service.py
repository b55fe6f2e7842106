"""The webhook service as one object, and the local stack (service + sandbox) for ``make run``.

:class:`WebhookService` owns, in start order: the database, the broker connection and the
topology, the confirmed publisher, the Wasender client, the ``wb_queue`` consumer, the
``dlx_webhook`` re-driver, the ``dlx_agent`` monitor and the HTTP server. ``stop()`` goes in
reverse: stop accepting HTTP, drain the consumers (unacked messages are requeued by the
broker), then close the clients. The constructor does no I/O; using it before ``start()``
fails loudly.

:func:`start_webhook_stack` also starts the local WhatsApp sandbox in-process, points the
service's Wasender URL and admin alerts at it, fills in a random webhook secret and API key
when none are configured, serves the metrics, and returns the bound addresses.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from cluster.broker import connect, declare_topology
from cluster.metrics import WebhookMetrics, serve_metrics
from cluster.settings import Settings
from contracts.errors import ConfigError
from webhook.alerts import AdminAlerter
from webhook.amqp import ConfirmedPublisher
from webhook.app import create_app
from webhook.consumer import ReplyConsumer
from webhook.dlx_monitor import DeadLetterMonitor
from webhook.http import EmbeddedServer
from webhook.inbox import Inbox
from webhook.intake import Intake
from webhook.ledger import Ledger
from webhook.redriver import ReDriver
from webhook.replies import ReplySender
from webhook.sandbox import Sandbox
from webhook.store import Store
from webhook.wasender import WasenderClient

__all__ = ["WebhookService", "WebhookStack", "start_webhook_stack"]


class WebhookService:
    """The spec's Node.js service, in Python: HTTP in, ``ag_queue`` out, ``wb_queue`` in, WhatsApp out."""

    def __init__(
        self,
        settings: Settings,
        metrics: WebhookMetrics,
        *,
        db_schema: str | None = None,
        port: int | None = None,
        prefetch: int = 10,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.topology = settings.topology()
        self.port = settings.webhook_port if port is None else port
        self.prefetch = prefetch
        self.owner = uuid.uuid4().hex
        self.store = Store(settings.webhook_database_url, schema=db_schema)
        self.ledger = Ledger(self.store, self.owner, lease=sum(self.topology.webhook_retry_delays) / 2)
        self._connection: AbstractRobustConnection | None = None
        self._parts: list[Any] = []
        self._server: EmbeddedServer | None = None
        self.app: FastAPI | None = None
        self.url: str | None = None

    def _secret(self, value: Any, name: str) -> str:
        if value is None or not value.get_secret_value():
            raise ConfigError(f"{name}: required by the webhook service")
        return str(value.get_secret_value())

    async def start(self) -> str:
        """Start everything; returns the webhook's base URL."""
        s = self.settings
        secret = self._secret(s.webhook_secret, "WEBHOOK_SECRET")
        api_key = self._secret(s.wasender_api_key, "WASENDER_API_KEY")
        await self.store.start()
        self._connection = connection = await connect(s, name="agentcluster-webhook")
        await declare_topology(connection, self.topology)
        publisher = ConfirmedPublisher(connection)
        client = WasenderClient(s.wasender_api_url, api_key, rate=s.wasender_send_rate)
        alerter = AdminAlerter(client, alert_url=s.admin_alert_url, admin_phone=s.admin_phone)
        sender = ReplySender(self.ledger, client, alerter, self.metrics)
        self.alerter = alerter
        consumer = ReplyConsumer(connection, self.topology.webhook_queue, sender, self.metrics, prefetch=self.prefetch)
        redriver = ReDriver(connection, self.topology, publisher, self.ledger, alerter, max_retries=s.max_retries)
        monitor = DeadLetterMonitor(connection, self.topology, publisher, self.ledger)
        self.consumer = consumer
        for part in (publisher, client, consumer, redriver, monitor):
            await part.start()
            self._parts.append(part)
        inbox = Inbox(self.store, max_retries=s.max_retries)
        intake = Intake(inbox, publisher, self.topology.agent_queue, self.metrics)
        self.app = create_app(intake, self.store, secret, self.health)
        self._server = EmbeddedServer(self.app, s.webhook_host, self.port, name="webhook")
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        """Stop HTTP, drain and stop the consumers, close the clients (reverse start order)."""
        if self._server is not None:
            await self._server.stop()
            self._server = None
        for part in reversed(self._parts):
            if isinstance(part, ReplyConsumer | ReDriver | DeadLetterMonitor):
                await part.stop(self.settings.drain_timeout)
            else:
                await part.stop()
        self._parts.clear()
        if self.store.started:
            await self.ledger.release_pending()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        await self.store.stop()

    async def health(self) -> dict[str, Any]:
        """``ok`` while the broker connection is open and every consumer is consuming."""
        connected = self._connection is not None and not self._connection.is_closed
        consumers = {
            part.queue_name: part.consuming
            for part in self._parts
            if isinstance(part, ReplyConsumer | ReDriver | DeadLetterMonitor)
        }
        ok = connected and bool(consumers) and all(consumers.values())
        return {"status": "ok" if ok else "degraded", "broker": connected, "consumers": consumers}


@dataclass
class WebhookStack:
    """A running webhook service and local sandbox, with their addresses."""

    webhook_url: str
    sandbox_url: str
    metrics_url: str | None
    settings: Settings
    service: WebhookService
    sandbox: Sandbox

    async def stop(self) -> None:
        """Stop the service, then the sandbox."""
        await self.service.stop()
        await self.sandbox.stop()


async def start_webhook_stack(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    serve_metrics_http: bool = True,
) -> WebhookStack:
    """Start the sandbox and the webhook service wired to it; returns their addresses.

    The lead's ``agentcluster run --local-stack`` calls this after the cluster is up.
    """
    updates: dict[str, Any] = {}
    if settings.webhook_secret is None:
        updates["webhook_secret"] = SecretStr(secrets.token_urlsafe(24))
    if settings.wasender_api_key is None:
        updates["wasender_api_key"] = SecretStr(secrets.token_urlsafe(24))
    settings = settings.model_copy(update=updates) if updates else settings
    api_key = settings.wasender_api_key.get_secret_value() if settings.wasender_api_key else ""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    sandbox = Sandbox(api_key, webhook_secret=secret)
    sandbox_url = await sandbox.start(settings.webhook_host, settings.sandbox_port)
    settings = settings.model_copy(
        update={"wasender_api_url": sandbox_url, "admin_alert_url": settings.admin_alert_url or f"{sandbox_url}/alerts"}
    )
    registry = registry or CollectorRegistry()
    service = WebhookService(settings, WebhookMetrics(registry))
    try:
        webhook_url = await service.start()
    except BaseException:
        await service.stop()
        await sandbox.stop()
        raise
    sandbox.webhook_url = webhook_url
    metrics_url = None
    if serve_metrics_http:
        port = serve_metrics(settings.webhook_metrics_port, registry, addr=settings.webhook_host)
        metrics_url = f"http://{settings.webhook_host}:{port}/metrics"
    return WebhookStack(webhook_url, sandbox_url, metrics_url, settings, service, sandbox)
