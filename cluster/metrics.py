"""Prometheus metrics, as injected objects with a registry passed in.

Names are a contract: the Grafana dashboard and alert rules in ``cluster/`` rely on them.
Tests build these objects on a fresh ``CollectorRegistry`` and read values back; production
serves one registry per process with :func:`serve_metrics`.

Cluster (default port 9464) and webhook (default port 9465) metrics are separate objects so
each process registers only what it updates.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["PROCESSING_BUCKETS", "BrokerMetrics", "ClusterMetrics", "WebhookMetrics", "serve_metrics"]

#: Seconds; up to the 300 s processing deadline so avg/p95/p99 can be computed.
PROCESSING_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0, 300.0)


class ClusterMetrics:
    """What the ingress, the pool and the publisher count."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.consumed = Counter(
            "agentcluster_messages_consumed",
            "Messages consumed from ag_queue",
            ["queue", "task_type"],
            registry=registry,
        )
        self.published = Counter(
            "agentcluster_messages_published",
            "Replies published to wb_queue",
            ["queue", "status"],
            registry=registry,
        )
        self.processing = Histogram(
            "agentcluster_processing_seconds",
            "Agent run time per request",
            ["task_type"],
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        )
        self.failures = Counter(
            "agentcluster_failures", "Failed agent runs and deliveries by error type", ["type"], registry=registry
        )
        self.tools_used = Counter("agentcluster_tools_used", "Tool calls by tool", ["tool"], registry=registry)
        self.retries = Counter("agentcluster_retries", "Requests sent to a retry wait queue", registry=registry)
        self.dead_letters = Counter(
            "agentcluster_dead_letters", "Requests dead-lettered to dlx_agent by reason", ["reason"], registry=registry
        )
        self.in_flight = Gauge("agentcluster_in_flight", "Requests held by the ingress", registry=registry)
        self.breaker_open = Gauge(
            "agentcluster_breaker_open", "1 while the model circuit breaker is open", registry=registry
        )
        self.tokens = Counter("agentcluster_tokens", "Model tokens used", ["task_type"], registry=registry)
        self.workers_attached = Gauge(
            "agentcluster_workers_attached",
            "Pool replicas and publishers attached to the ingress (DISPATCH=direct)",
            ["role"],
            registry=registry,
        )


class WebhookMetrics:
    """What the webhook side counts."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.published = Counter("webhook_published", "Requests published to ag_queue", registry=registry)
        self.publish_failures = Counter(
            "webhook_publish_failures", "Requests that could not be published to ag_queue", registry=registry
        )
        self.replies_consumed = Counter(
            "webhook_replies_consumed", "Replies consumed from wb_queue", ["status"], registry=registry
        )
        self.send_failures = Counter(
            "webhook_send_failures", "Failed sends to the Wasender API by reason", ["reason"], registry=registry
        )
        self.queue_latency = Histogram(
            "webhook_queue_latency_seconds",
            "Request timestamp to reply sent",
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        )


class BrokerMetrics:
    """Queue depth and consumers, filled by passive declares (no management plugin needed)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.depth = Gauge("agentcluster_queue_depth", "Ready messages in a queue", ["queue"], registry=registry)
        self.consumers = Gauge("agentcluster_queue_consumers", "Consumers of a queue", ["queue"], registry=registry)
        self.unacked = Gauge(
            "agentcluster_queue_unacked",
            "Unacknowledged messages (only with the management API)",
            ["queue"],
            registry=registry,
        )


def serve_metrics(port: int, registry: CollectorRegistry, addr: str = "0.0.0.0") -> int:
    """Serve ``/metrics`` over HTTP; returns the bound port (``port=0`` picks a free one)."""
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return int(server.server_address[1])
