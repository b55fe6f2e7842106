"""The single ``ag_queue`` consumer: decode, schedule, dispatch, and settle every delivery.

Every delivery ends in exactly one explicit outcome, never a library default:

=====================  ===============================================================
what happened          outcome
=====================  ===============================================================
answered               reply published with confirm → ack
poison (bad bytes)     error reply when the contact is readable → dead letter with reason
older than queue TTL   error reply → dead letter ``expired`` (never run)
transient failure      copy with ``retryCount+1`` to the retry wait queue → ack; once
                       ``maxRetries`` is spent: error reply → dead letter with reason
permanent failure      error reply → dead letter with reason
publisher unavailable  publish retried after 0.2 s, 1 s, 3 s; then nack + requeue
                       (nothing is acked that was not confirmed)
shutdown / breaker     nack + requeue (no retry is burned)
=====================  ===============================================================

"Dead letter with reason" means a confirmed publish to ``dlx_agent`` carrying the reason in
headers, then an ack; if that publish fails the delivery is rejected without requeue, so the
broker dead-letters it (with ``x-death`` only).

A request whose reply was confirmed but whose ack was lost (connection dropped) comes back
redelivered; the ingress remembers recently confirmed request ids and acks such a
redelivery without running the agent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel, AbstractRobustConnection

from cluster.broker import connect, declare_topology, queue_state, verify_topology
from cluster.logs import mask_phone
from cluster.metrics import ClusterMetrics
from cluster.settings import Settings
from contracts.codec import decode_request, encode, error_reply
from contracts.errors import (
    AgentClusterError,
    AgentTimeoutError,
    ModelUnavailableError,
    PoisonMessageError,
    RetryableError,
)
from contracts.models import AgentRequest, timestamp_seconds
from ingress.breaker import BreakerState, CircuitBreaker
from ingress.ports import PoolPort, PublisherPort, classify
from ingress.scheduler import LaneScheduler, Ticket

__all__ = ["Ingress", "Job"]

log = logging.getLogger("agentcluster.ingress")

_ENQUEUED_AT = "x-agentcluster-enqueued-at"
_COMPLETED_MEMORY = 10_000
#: Pauses between attempts to publish a reply before the delivery is requeued.
_PUBLISH_BACKOFF = (0.2, 1.0, 3.0)
#: How long a drain waits, after its timeout, for requests that already have their outcome.
_SETTLE_TIMEOUT = 10.0


@dataclass
class Job:
    """One decoded delivery waiting for, or being run by, a worker."""

    message: AbstractIncomingMessage
    request: AgentRequest
    received_at: float


class Ingress:
    """Consumes ``ag_queue`` and settles each delivery; ``start()``, ``drain()``, ``status()``."""

    def __init__(
        self,
        settings: Settings,
        pool: PoolPort,
        publisher: PublisherPort,
        metrics: ClusterMetrics,
        *,
        watchdog_interval: float = 2.0,
    ) -> None:
        self._settings = settings
        self._topology = settings.topology()
        self._limits = settings.decode_limits()
        self._pool = pool
        self._publisher = publisher
        self._metrics = metrics
        self._watchdog_interval = watchdog_interval
        self._breaker = CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown)
        self._scheduler: LaneScheduler[Job] = LaneScheduler()
        self._completed: OrderedDict[str, None] = OrderedDict()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._workers: list[asyncio.Task[None]] = []
        #: Workers whose request has its outcome and is being published, retried or dead-lettered.
        self._settling: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._paused_until: float | None = None
        self.counts = {"consumed": 0, "replied": 0, "retried": 0, "dead_lettered": 0, "requeued": 0, "duplicates": 0}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, declare and verify the topology, start the workers and consume."""
        self._connection = await connect(self._settings, name=f"agentcluster-ingress {self._topology.agent_queue}")
        await declare_topology(self._connection, self._topology)
        await verify_topology(self._connection, self._topology)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._settings.effective_prefetch())
        self._channel = channel  # type: ignore[assignment]
        self._queue = await channel.get_queue(self._topology.agent_queue, ensure=False)
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self._settings.pool_capacity())]
        await self._consume()
        self._watchdog = asyncio.create_task(self._watch())
        log.info(
            "ingress consuming",
            extra={"queue": self._topology.agent_queue, "prefetch": self._settings.effective_prefetch()},
        )

    async def drain(self, timeout: float | None = None) -> dict[str, int]:
        """Stop consuming, requeue what has not started, let running work finish, close.

        Work still running after ``timeout`` seconds is cancelled and requeued; a request that
        already has its answer gets up to ``_SETTLE_TIMEOUT`` more seconds for the publish and the
        ack, since requeueing it could answer it twice. Nothing is dead-lettered by a stop.
        """
        timeout = self._settings.drain_timeout if timeout is None else timeout
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self._cancel_consumer()
        requeued = await self._requeue_waiting()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            settling = len(self._settling)
            log.warning("drain timeout: requeueing %d running requests", self._running - settling)
            for worker in self._workers:
                if worker not in self._settling:
                    worker.cancel()
            if settling:
                # These have their answer and are publishing it: cancelling now would requeue a
                # request whose reply may already be confirmed (answered twice on redelivery).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), _SETTLE_TIMEOUT)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
        return {"requeued_waiting": requeued, **self.counts}

    def check_alive(self) -> None:
        """Raise when a worker or the watchdog has died (a bug: Serve should restart us)."""
        for task in [*self._workers, *([self._watchdog] if self._watchdog else [])]:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"ingress task died: {task.exception()!r}")

    def status(self) -> dict[str, object]:
        """A snapshot for ``agentcluster status`` and health checks."""
        return {
            "consuming": self._consumer_tag is not None,
            "stopping": self._stopping,
            "breaker": self._breaker.state.value,
            "breaker_failures": self._breaker.consecutive_failures,
            "in_flight": self._running,
            "waiting": self._scheduler.waiting,
            "contacts": self._scheduler.lanes,
            "prefetch": self._settings.effective_prefetch(),
            "workers": len(self._workers),
            "connected": self._connection is not None and not self._connection.is_closed,
            **self.counts,
        }

    # ------------------------------------------------------------------ consuming

    async def _consume(self) -> None:
        if self._queue is None or self._consumer_tag is not None or self._stopping:
            return
        self._consumer_tag = await self._queue.consume(self._on_message)

    async def _cancel_consumer(self) -> None:
        tag, self._consumer_tag = self._consumer_tag, None
        if tag is not None and self._queue is not None:
            try:
                await self._queue.cancel(tag)
            except Exception as exc:  # the channel may already be gone; the broker forgets it then
                log.debug("consumer cancel failed: %s", exc)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        """Decode at the edge; hand valid requests to the scheduler, settle the rest now."""
        self.counts["consumed"] += 1
        try:
            request = decode_request(message.body, self._limits)
        except PoisonMessageError as exc:
            self._metrics.consumed.labels(self._topology.agent_queue, "invalid").inc()
            self._spawn(self._settle_poison(message, exc))
            return
        self._metrics.consumed.labels(self._topology.agent_queue, request.task_type.value).inc()
        log.info(
            "📥 Consumed from ag_queue",
            extra={
                "message_id": request.message_id,
                "contact": mask_phone(request.contact.phone_number),
                "task_type": request.task_type.value,
                "retry_count": request.metadata.retry_count,
            },
        )
        if self._stopping:
            await self._requeue(message)
            return
        self._metrics.in_flight.inc()
        job = Job(message, request, time.time())
        self._scheduler.submit(request.contact.remote_jid, request.metadata.priority.rank, job)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ workers

    async def _worker(self) -> None:
        while True:
            ticket: Ticket[Job] = await self._scheduler.next()
            self._running += 1
            self._idle.clear()
            try:
                await self._process(ticket.item)
            except asyncio.CancelledError:
                await self._requeue(ticket.item.message)
                raise
            except Exception:
                log.exception(
                    "unexpected ingress error; requeueing", extra={"message_id": ticket.item.request.message_id}
                )
                await self._requeue(ticket.item.message)
            finally:
                self._settling.discard(asyncio.current_task())  # type: ignore[arg-type]
                self._running -= 1
                self._metrics.in_flight.dec()
                self._scheduler.done(ticket)
                if self._running == 0:
                    self._idle.set()

    async def _process(self, job: Job) -> None:
        request, message = job.request, job.message
        if request.message_id in self._completed:
            self.counts["duplicates"] += 1
            await self._ack(message)
            return
        if self._breaker.state is BreakerState.OPEN:
            # Delivered in the window between opening the breaker and the broker honouring the
            # cancel: back to the queue rather than burning a retry on a provider that is down.
            await self._requeue(message)
            return
        age = time.time() - self._enqueued_at(job)
        if age * 1000 > self._topology.agent_ttl_ms:
            await self._give_up(
                job, AgentTimeoutError(f"expired: waited {age:.1f}s, longer than the queue TTL"), "expired"
            )
            return
        try:
            result = await asyncio.wait_for(self._pool.run(message.body), self._settings.max_processing_time + 30)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._settling.add(asyncio.current_task())  # type: ignore[arg-type]
            error = classify(exc) if not isinstance(exc, TimeoutError) else AgentTimeoutError("pool call timed out")
            await self._failed(job, error)
            return
        self._settling.add(asyncio.current_task())  # type: ignore[arg-type]
        self._breaker.record_success()
        self._metrics.breaker_open.set(0)
        self._record_result(result)
        if not await self._publish_reply(result.reply, result.reply_id, request.message_id):
            await self._requeue(message)
            return
        self._remember(request.message_id)
        self._metrics.published.labels(self._topology.webhook_queue, result.status).inc()
        self.counts["replied"] += 1
        log.info(
            "📤 Published to wb_queue",
            extra={
                "message_id": result.reply_id,
                "original_message_id": request.message_id,
                "processing_time": round(result.processing_time, 3),
                "tools_used": list(result.tools_used),
                "status": result.status,
            },
        )
        await self._ack(message)

    async def _publish_reply(self, body: bytes, reply_id: str, request_id: str) -> bool:
        """Publish a reply, retrying a failed publish a few times before giving the delivery back.

        The agent's answer is kept while the publisher recovers (a broker hiccup, a publisher
        replica restarting): requeueing at once would run the agent again, and again, for as
        long as the publisher is down.
        """
        for attempt, pause in enumerate((*_PUBLISH_BACKOFF, None)):
            try:
                await self._publisher.publish_reply(body, reply_id, request_id)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._metrics.failures.labels("PUBLISH_FAILED").inc()
                log.warning("reply publish failed (attempt %d): %s", attempt + 1, exc, extra={"message_id": request_id})
                if pause is None or self._stopping:
                    return False
                await asyncio.sleep(pause)
        return False

    def _record_result(self, result: Any) -> None:
        self._metrics.processing.labels(result.task_type).observe(result.processing_time)
        self._metrics.tokens.labels(result.task_type).inc(result.tokens_used)
        for tool in result.tools_used:
            self._metrics.tools_used.labels(tool).inc()

    def _enqueued_at(self, job: Job) -> float:
        """When the delivery entered ag_queue: our retry header, the AMQP timestamp, or the request's."""
        headers = job.message.headers or {}
        stamped = headers.get(_ENQUEUED_AT)
        if isinstance(stamped, int | float):
            return float(stamped) / 1000.0
        if job.message.timestamp is not None:
            return job.message.timestamp.timestamp()
        return timestamp_seconds(job.request.timestamp)

    # ------------------------------------------------------------------ outcomes

    async def _failed(self, job: Job, error: AgentClusterError) -> None:
        self._metrics.failures.labels(error.code).inc()
        if isinstance(error, ModelUnavailableError):
            if self._breaker.record_failure():
                await self._open_breaker()
        if not isinstance(error, RetryableError):
            await self._give_up(job, error, error.code)
            return
        meta = job.request.metadata
        if meta.retry_count >= meta.max_retries:
            reason = f"{error.code}: gave up after {meta.retry_count} retries: {error}"
            await self._give_up(job, error, "retries_exhausted", reason=reason)
            return
        retry = job.request.model_copy(
            update={"metadata": meta.model_copy(update={"retry_count": meta.retry_count + 1})}
        )
        try:
            queue = await self._publisher.publish_retry(encode(retry), job.request.message_id, meta.retry_count + 1)
        except Exception as exc:
            log.warning("retry publish failed; requeueing: %s", exc, extra={"message_id": job.request.message_id})
            await self._requeue(job.message)
            return
        self._metrics.retries.inc()
        self.counts["retried"] += 1
        log.info(
            "request parked for retry",
            extra={
                "message_id": job.request.message_id,
                "retry_count": meta.retry_count + 1,
                "queue": queue,
                "error": error.code,
            },
        )
        await self._ack(job.message)

    async def _give_up(self, job: Job, error: AgentClusterError, label: str, reason: str | None = None) -> None:
        """Error reply, then dead letter with the reason, then ack."""
        request = job.request
        reply = error_reply(request.message_id, request.contact, error)
        if not await self._publish_reply(encode(reply), reply.message_id, request.message_id):
            await self._requeue(job.message)
            return
        self._remember(request.message_id)
        self._metrics.published.labels(self._topology.webhook_queue, "error").inc()
        await self._dead_letter(job.message, request.message_id, reason or f"{error.code}: {error}", error.code, label)

    async def _settle_poison(self, message: AbstractIncomingMessage, exc: PoisonMessageError) -> None:
        log.warning("poison message dead-lettered: %s", exc.reason, extra={"message_id": exc.message_id})
        self._metrics.failures.labels(exc.code).inc()
        if exc.contact is not None and exc.message_id is not None:
            reply = error_reply(exc.message_id, exc.contact, exc)
            try:
                await self._publisher.publish_reply(encode(reply), reply.message_id, exc.message_id)
                self._metrics.published.labels(self._topology.webhook_queue, "error").inc()
            except Exception as publish_exc:  # best effort: a poison message is never retried
                log.warning("error reply for poison message not published: %s", publish_exc)
        await self._dead_letter(message, exc.message_id, f"{exc.code}: {exc.reason}", exc.code, "invalid")

    async def _dead_letter(
        self, message: AbstractIncomingMessage, message_id: str | None, reason: str, code: str, label: str
    ) -> None:
        self._metrics.dead_letters.labels(label).inc()
        self.counts["dead_lettered"] += 1
        try:
            await self._publisher.publish_dead_letter(message.body, message_id, reason, code)
        except Exception as exc:
            log.warning("dead-letter publish failed, rejecting instead: %s", exc, extra={"message_id": message_id})
            try:
                await message.reject(requeue=False)
            except Exception as reject_exc:
                log.warning("reject failed (the broker will redeliver): %s", reject_exc)
            return
        await self._ack(message)

    async def _ack(self, message: AbstractIncomingMessage) -> None:
        try:
            await message.ack()
        except Exception as exc:  # channel gone: the broker redelivers; _completed makes that harmless
            log.warning("ack failed (will be redelivered): %s", exc)

    async def _requeue(self, message: AbstractIncomingMessage) -> None:
        self.counts["requeued"] += 1
        try:
            await message.nack(requeue=True)
        except Exception as exc:
            log.debug("requeue failed (the broker requeues on channel close): %s", exc)

    async def _requeue_waiting(self) -> int:
        waiting = self._scheduler.drain_waiting()
        for job in waiting:
            self._metrics.in_flight.dec()
            await self._requeue(job.message)
        return len(waiting)

    def _remember(self, message_id: str) -> None:
        self._completed[message_id] = None
        if len(self._completed) > _COMPLETED_MEMORY:
            self._completed.popitem(last=False)

    # ------------------------------------------------------------------ breaker and watchdog

    async def _open_breaker(self) -> None:
        self._metrics.breaker_open.set(1)
        log.warning(
            "model circuit breaker open: pausing consumption for %.1fs",
            self._breaker.cooldown,
            extra={"failures": self._breaker.consecutive_failures},
        )
        await self._cancel_consumer()
        await self._requeue_waiting()

    async def _watch(self) -> None:
        """Resume after the breaker cooldown; re-consume when the broker lost our consumer."""
        while not self._stopping:
            await asyncio.sleep(self._watchdog_interval)
            try:
                await self._check_consumer()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watchdog check failed: %s", exc)

    async def _check_consumer(self) -> None:
        state = self._breaker.state
        if state is BreakerState.OPEN:
            return
        if self._consumer_tag is None:
            log.info("resuming consumption (breaker %s)", state.value)
            await self._consume()
            return
        if self._connection is None or self._connection.is_closed or self._channel is None:
            return
        if self._channel.is_closed:
            return  # the robust connection is reconnecting and will restore the consumer
        found = await queue_state(self._connection, self._topology.agent_queue)
        if found is None or found[1] == 0:
            log.warning("ag_queue has no consumer (server-side cancel or queue lost); consuming again")
            await declare_topology(self._connection, self._topology)
            await self._cancel_consumer()  # forget the stale tag so a reconnect does not restore it too
            await self._consume()
