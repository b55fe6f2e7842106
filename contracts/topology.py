"""The queue topology of DESIGN.md as data: one source for declare, verify and export.

The Node.js side declares ``ag_queue`` and ``wb_queue`` too, with exactly
``x-message-ttl`` and ``x-dead-letter-exchange``. Any extra or different argument makes one
of the two declarers fail with 406 PRECONDITION_FAILED, so the main queues carry those two
arguments and nothing else.

Retries never use per-message TTLs (a message with a long TTL at the head of a queue blocks
every shorter one behind it). Each delay level has its own wait queue with a queue-wide TTL
that dead-letters back to the work queue through the default exchange::

    ag_queue.retry.30s   x-message-ttl=30000   x-dead-letter-exchange=""  x-dead-letter-routing-key=ag_queue
    ag_queue.retry.60s   x-message-ttl=60000   ...
    ag_queue.retry.120s  x-message-ttl=120000  ...

``wb_queue`` gets the same ladder for the webhook side's re-driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Binding", "ExchangeSpec", "QueueSpec", "Topology", "delay_label", "retry_delays"]


@dataclass(frozen=True)
class ExchangeSpec:
    """A durable exchange."""

    name: str
    type: str = "fanout"
    durable: bool = True


@dataclass(frozen=True)
class QueueSpec:
    """A durable queue and the exact arguments it is declared with."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    durable: bool = True


@dataclass(frozen=True)
class Binding:
    """A queue bound to an exchange."""

    exchange: str
    queue: str
    routing_key: str = ""


def retry_delays(first: float, backoff: float, levels: int) -> tuple[float, ...]:
    """Delays in seconds of each retry level: ``first``, ``first*backoff``, ..."""
    return tuple(first * backoff**level for level in range(max(levels, 1)))


def delay_label(seconds: float) -> str:
    """Human-readable queue-name suffix of a delay: ``30s``, ``2m``, ``250ms``."""
    ms = round(seconds * 1000)
    if ms % 60_000 == 0 and ms >= 600_000:
        return f"{ms // 60_000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


@dataclass(frozen=True)
class Topology:
    """Every exchange, queue and binding the project relies on."""

    agent_queue: str = "ag_queue"
    webhook_queue: str = "wb_queue"
    dlx_agent: str = "dlx_agent"
    dlx_webhook: str = "dlx_webhook"
    agent_ttl_ms: int = 300_000
    webhook_ttl_ms: int = 60_000
    agent_retry_delays: tuple[float, ...] = (30.0, 60.0, 120.0)
    webhook_retry_delays: tuple[float, ...] = (30.0, 60.0, 120.0)

    def agent_retry_queue(self, retry_count: int) -> str:
        """Wait queue for the retry numbered ``retry_count`` (1-based); the last level repeats."""
        level = min(max(retry_count, 1), len(self.agent_retry_delays)) - 1
        return f"{self.agent_queue}.retry.{delay_label(self.agent_retry_delays[level])}"

    def webhook_retry_queue(self, retry_count: int) -> str:
        """Wait queue of the webhook re-driver for its retry numbered ``retry_count``."""
        level = min(max(retry_count, 1), len(self.webhook_retry_delays)) - 1
        return f"{self.webhook_queue}.retry.{delay_label(self.webhook_retry_delays[level])}"

    @property
    def monitor_queue(self) -> str:
        """The webhook side's own copy of the agent dead letters (bound to ``dlx_agent``).

        Not in :attr:`queues`: the webhook declares it when its monitor starts, so nothing
        collects copies while no monitor runs.
        """
        return f"{self.dlx_agent}.monitor"

    @property
    def exchanges(self) -> tuple[ExchangeSpec, ...]:
        """The two dead-letter exchanges (fanout, durable)."""
        return (ExchangeSpec(self.dlx_agent), ExchangeSpec(self.dlx_webhook))

    @property
    def main_queues(self) -> tuple[QueueSpec, ...]:
        """``ag_queue`` and ``wb_queue``, shared with the Node.js side."""
        return (
            QueueSpec(
                self.agent_queue,
                {"x-message-ttl": self.agent_ttl_ms, "x-dead-letter-exchange": self.dlx_agent},
            ),
            QueueSpec(
                self.webhook_queue,
                {"x-message-ttl": self.webhook_ttl_ms, "x-dead-letter-exchange": self.dlx_webhook},
            ),
        )

    @property
    def dead_letter_queues(self) -> tuple[QueueSpec, ...]:
        """One queue behind each dead-letter exchange, named like it."""
        return (QueueSpec(self.dlx_agent), QueueSpec(self.dlx_webhook))

    @property
    def retry_queues(self) -> tuple[QueueSpec, ...]:
        """The wait queues of both retry ladders."""
        specs: dict[str, QueueSpec] = {}
        for target, delays in (
            (self.agent_queue, self.agent_retry_delays),
            (self.webhook_queue, self.webhook_retry_delays),
        ):
            for delay in delays:
                name = f"{target}.retry.{delay_label(delay)}"
                specs[name] = QueueSpec(
                    name,
                    {
                        "x-message-ttl": round(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": target,
                    },
                )
        return tuple(specs.values())

    @property
    def queues(self) -> tuple[QueueSpec, ...]:
        """Every queue, dead-letter queues first so nothing dead-letters into the void."""
        return self.dead_letter_queues + self.main_queues + self.retry_queues

    @property
    def bindings(self) -> tuple[Binding, ...]:
        """Each dead-letter exchange feeds its queue."""
        return (Binding(self.dlx_agent, self.dlx_agent), Binding(self.dlx_webhook, self.dlx_webhook))

    def definitions(self, vhost: str = "/") -> dict[str, Any]:
        """A RabbitMQ definitions document (``rabbitmqctl import_definitions``)."""
        return {
            "vhosts": [{"name": vhost}],
            "exchanges": [
                {
                    "name": ex.name,
                    "vhost": vhost,
                    "type": ex.type,
                    "durable": ex.durable,
                    "auto_delete": False,
                    "internal": False,
                    "arguments": {},
                }
                for ex in self.exchanges
            ],
            "queues": [
                {
                    "name": q.name,
                    "vhost": vhost,
                    "durable": q.durable,
                    "auto_delete": False,
                    "arguments": dict(q.arguments),
                }
                for q in self.queues
            ],
            "bindings": [
                {
                    "source": b.exchange,
                    "vhost": vhost,
                    "destination": b.queue,
                    "destination_type": "queue",
                    "routing_key": b.routing_key,
                    "arguments": {},
                }
                for b in self.bindings
            ],
        }
