"""The Ingress over the real RabbitMQ with in-memory pool and publisher fakes: one test per outcome row.

Deliveries really come from a unique ``ag_queue`` on the local broker; the pool and the
publisher are :mod:`tests.ingress.fakes`, which log every run and publish into one event
log, and aio-pika's ack/nack/reject are wrapped to log every settlement there too. So each
test can say in which order things happened (e.g. the ack only after the publish returned)
without any timing assumption. Waiting is bounded polling.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from ray.exceptions import RayTaskError

from cluster.broker import delete_topology
from cluster.metrics import ClusterMetrics
from cluster.settings import Settings
from contracts.codec import decode_request
from contracts.errors import (
    AgentFailedError,
    AgentTimeoutError,
    ModelUnavailableError,
    ReplicaLostError,
)
from ingress.service import Ingress
from tests.conftest import require_service, unique_settings
from tests.ingress.fakes import EventLog, FakePool, FakePublisher, Gate, make_request, record_settlements

pytestmark = [pytest.mark.rabbitmq]

REPLY_THEN_ACK = ["run", "publish_reply:start", "publish_reply:end", "ack"]
GIVE_UP = [
    "publish_reply:start",
    "publish_reply:end",
    "publish_dead_letter:start",
    "publish_dead_letter:end",
    "ack",
]


async def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Harness:
    """One Ingress on its own queues, its fakes, and the test's own connection."""

    def __init__(
        self,
        settings: Settings,
        ingress: Ingress,
        pool: FakePool,
        publisher: FakePublisher,
        log: EventLog,
        registry: CollectorRegistry,
        connection: aio_pika.abc.AbstractRobustConnection,
    ) -> None:
        self.settings, self.ingress, self.pool, self.publisher = settings, ingress, pool, publisher
        self.log, self.registry, self.connection = log, registry, connection
        self.drained: dict[str, int] | None = None

    async def publish(
        self, request: Mapping[str, Any] | bytes, *, message_id: str | None = None, timestamp: datetime | None = None
    ) -> str:
        """Publish one request to ag_queue (persistent, confirmed); returns its AMQP message id."""
        body = request if isinstance(request, bytes) else json.dumps(request).encode()
        mid = message_id or (None if isinstance(request, bytes) else str(request["messageId"]))
        channel = await self.connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                body,
                message_id=mid,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                timestamp=timestamp,
            ),
            self.settings.agent_queue,
        )
        await channel.close()
        return mid or ""

    async def settled(self, message_id: str, kind: str = "ack", count: int = 1) -> None:
        """Wait until the delivery ``message_id`` was settled ``count`` times by ``kind``."""
        await eventually(lambda: self.log.count(kind, message_id) >= count, f"{kind} x{count} of {message_id}")

    async def drain(self, timeout: float = 10.0) -> dict[str, int]:
        """Stop the ingress (idempotent); afterwards every unacked delivery is back in its queue."""
        if self.drained is None:
            self.drained = await self.ingress.drain(timeout)
        return self.drained

    async def depth(self, queue: str) -> int:
        """Ready messages in ``queue``."""
        channel = await self.connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        await channel.close()
        return declared.declaration_result.message_count or 0

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the ingress's fresh registry (0 when absent)."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def reply(self, request_id: str) -> dict[str, Any]:
        """The one reply that was published for ``request_id``."""
        replies = self.publisher.succeeded("publish_reply", request_id)
        assert len(replies) == 1, f"expected one reply for {request_id}, got {len(replies)}"
        return replies[0].json()


Start = Callable[..., Awaitable[Harness]]


@pytest_asyncio.fixture
async def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Start]:
    """``await start(script=..., fail=..., **settings)`` runs an Ingress on fresh queues; all deleted after."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    started: list[Harness] = []

    async def _start(
        script: Mapping[str, Any] | None = None,
        fail: Mapping[str, int] | None = None,
        *,
        watchdog_interval: float = 0.2,
        lose_first_ack: tuple[str, ...] = (),
        **overrides: Any,
    ) -> Harness:
        values: dict[str, Any] = {
            "concurrent_tasks": 2,
            "pool_min_replicas": 1,
            "pool_max_replicas": 1,
            "prefetch": 10,
            "breaker_threshold": 50,
            "max_processing_time": 30.0,
            **overrides,
        }
        settings = unique_settings(tmp_path, **values)
        log = EventLog()
        record_settlements(monkeypatch, log, lose_first_ack)
        pool, publisher = FakePool(script, log), FakePublisher(log, fail)
        registry = CollectorRegistry()
        ingress = Ingress(settings, pool, publisher, ClusterMetrics(registry), watchdog_interval=watchdog_interval)
        connection = await aio_pika.connect_robust(settings.amqp_url())
        harness = Harness(settings, ingress, pool, publisher, log, registry, connection)
        started.append(harness)
        await ingress.start()
        return harness

    yield _start
    for harness in started:
        await harness.drain()
        await delete_topology(harness.connection, harness.settings.topology())
        await harness.connection.close()


def ray_wrapped(cause: BaseException) -> BaseException:
    """What a Serve handle raises when the replica raised ``cause``."""
    return RayTaskError("AgentPool.run", "Traceback ...", cause).as_instanceof_cause()


# ---------------------------------------------------------------------------- answered


async def test_given_a_request_when_the_agent_answers_then_the_reply_is_confirmed_before_the_ack(
    start: Start,
) -> None:
    h = await start()
    request = make_request("What are your opening hours?")

    mid = await h.publish(request)
    await h.settled(mid)
    await h.drain()

    assert h.log.kinds(mid) == REPLY_THEN_ACK
    reply = h.reply(mid)
    assert (reply["status"], reply["originalMessageId"]) == ("success", mid)
    assert reply["response"]["text"] == "answer to What are your opening hours?"
    assert h.ingress.counts["replied"] == 1
    assert await h.depth(h.settings.agent_queue) == 0, "acked: nothing came back when the channel closed"


async def test_given_many_requests_of_three_contacts_when_answered_then_one_at_a_time_per_contact_in_order(
    start: Start,
) -> None:
    h = await start(concurrent_tasks=3)
    requests = [make_request(f"message {n} of contact {c}", c) for n in range(4) for c in range(3)]

    for request in requests:
        await h.publish(request)
    for request in requests:
        await h.settled(request["messageId"])

    assert h.pool.max_running_per_contact == 1
    for contact in range(3):
        mine = [r["messageId"] for r in requests if r["contact"]["phoneNumber"].endswith(f"{contact:05d}")]
        replied = [c.extra["correlation_id"] for c in h.publisher.succeeded("publish_reply")]
        assert [m for m in replied if m in mine] == mine, "one contact's replies leave in arrival order"


async def test_given_one_failed_reply_publish_then_it_is_retried_without_rerunning_the_agent(start: Start) -> None:
    h = await start(fail={"publish_reply": 1})
    request = make_request("Hello")

    mid = await h.publish(request)
    await h.settled(mid)
    await h.drain()

    assert h.log.kinds(mid) == [
        "run",
        "publish_reply:start",
        "publish_reply:failed",
        "publish_reply:start",
        "publish_reply:end",
        "ack",
    ], "the answer is kept while the publisher recovers; acked only after the confirmed publish"
    assert h.reply(mid)["status"] == "success"


async def test_given_the_publisher_down_beyond_the_retries_when_the_request_comes_back_then_it_is_answered_once(
    start: Start,
) -> None:
    h = await start(fail={"publish_reply": 4})
    request = make_request("Hello")

    mid = await h.publish(request)
    await h.settled(mid)
    await h.drain()

    assert h.log.kinds(mid) == [
        "run",
        *["publish_reply:start", "publish_reply:failed"] * 4,
        "nack:requeue",
        "run",
        "publish_reply:start",
        "publish_reply:end",
        "ack",
    ], "requeued (not acked) while the reply was unconfirmed; acked only after the confirmed publish"
    assert h.reply(mid)["status"] == "success"
    assert h.publisher.succeeded("publish_dead_letter") == [] and h.publisher.succeeded("publish_retry") == []
    assert [(k, r) for k, m, r in h.log.settled if m == mid] == [("nack:requeue", False), ("ack", True)]
    assert await h.depth(h.settings.agent_queue) == 0


# ---------------------------------------------------------------------------- transient and permanent


@pytest.mark.parametrize(
    "error",
    [
        ModelUnavailableError("429 from the provider"),
        AgentTimeoutError("run exceeded its deadline"),
        ReplicaLostError("replica died"),
        RuntimeError("something unknown"),
        ray_wrapped(ModelUnavailableError("503 from the provider")),
    ],
    ids=["model-unavailable", "timeout", "replica-lost", "unknown", "ray-wrapped"],
)
async def test_given_a_transient_failure_with_retries_left_then_a_copy_with_retry_count_plus_one_is_parked_and_acked(
    start: Start, error: BaseException
) -> None:
    h = await start(script={"flaky": error})
    request = make_request("flaky", retry_count=1, max_retries=3)

    mid = await h.publish(request)
    await h.settled(mid)

    assert h.log.kinds(mid) == ["run", "publish_retry:start", "publish_retry:end", "ack"]
    (retry,) = h.publisher.succeeded("publish_retry")
    assert (retry.message_id, retry.extra["retry_count"]) == (mid, 2)
    expected = json.loads(json.dumps(request))
    expected["metadata"]["retryCount"] = 2
    assert decode_request(retry.body) == decode_request(json.dumps(expected).encode()), "only retryCount changed"
    assert h.publisher.succeeded("publish_reply") == [] and h.publisher.succeeded("publish_dead_letter") == []
    assert h.metric("agentcluster_retries_total") == 1


async def test_given_the_retry_publish_fails_then_the_request_is_requeued_without_burning_a_retry(
    start: Start,
) -> None:
    h = await start(script={"flaky": [ReplicaLostError("replica died"), "ok"]}, fail={"publish_retry": 1})
    request = make_request("flaky", retry_count=0)

    mid = await h.publish(request)
    await h.settled(mid)

    assert h.log.kinds(mid) == [
        "run",
        "publish_retry:start",
        "publish_retry:failed",
        "nack:requeue",
        *REPLY_THEN_ACK,
    ]
    assert h.reply(mid)["status"] == "success"


async def test_given_a_transient_failure_with_retries_spent_then_an_error_reply_and_a_dead_letter_with_reason(
    start: Start,
) -> None:
    h = await start(script={"still down": ModelUnavailableError("503 from the provider")})
    request = make_request("still down", retry_count=2, max_retries=2)

    mid = await h.publish(request)
    await h.settled(mid)

    assert h.log.kinds(mid) == ["run", *GIVE_UP]
    reply = h.reply(mid)
    assert (reply["status"], reply["error"]["code"], reply["originalMessageId"]) == ("error", "MODEL_UNAVAILABLE", mid)
    (dead,) = h.publisher.succeeded("publish_dead_letter")
    assert dead.message_id == mid and dead.body == json.dumps(request).encode()
    assert dead.extra["code"] == "MODEL_UNAVAILABLE"
    assert "gave up after 2 retries" in dead.extra["reason"] and "503 from the provider" in dead.extra["reason"]
    assert h.publisher.succeeded("publish_retry") == []
    assert h.metric("agentcluster_dead_letters_total", reason="retries_exhausted") == 1


@pytest.mark.parametrize(
    "error",
    [AgentFailedError("the tool refused for good"), ray_wrapped(AgentFailedError("the tool refused for good"))],
    ids=["direct", "ray-wrapped"],
)
async def test_given_a_permanent_failure_then_an_error_reply_and_a_dead_letter_without_any_retry(
    start: Start, error: BaseException
) -> None:
    h = await start(script={"book me": error})
    request = make_request("book me", retry_count=0, max_retries=3)

    mid = await h.publish(request)
    await h.settled(mid)

    assert h.log.kinds(mid) == ["run", *GIVE_UP]
    assert h.reply(mid)["error"]["code"] == "AGENT_FAILED"
    (dead,) = h.publisher.succeeded("publish_dead_letter")
    assert (dead.extra["code"], dead.extra["reason"]) == ("AGENT_FAILED", "AGENT_FAILED: the tool refused for good")
    assert h.publisher.succeeded("publish_retry") == []


async def test_given_the_dead_letter_publish_fails_then_the_delivery_is_rejected_and_the_broker_dead_letters_it(
    start: Start,
) -> None:
    h = await start(script={"book me": AgentFailedError("no")}, fail={"publish_dead_letter": 1})
    request = make_request("book me")

    mid = await h.publish(request)
    await h.settled(mid, "reject:drop")
    await h.drain()

    assert h.log.kinds(mid) == [
        "run",
        "publish_reply:start",
        "publish_reply:end",
        "publish_dead_letter:start",
        "publish_dead_letter:failed",
        "reject:drop",
    ]
    assert await h.depth(h.settings.dlx_agent) == 1, "the broker dead-lettered it to dlx_agent"
    assert await h.depth(h.settings.agent_queue) == 0


# ---------------------------------------------------------------------------- poison


async def test_given_an_invalid_request_with_a_readable_contact_then_an_error_reply_and_a_dead_letter(
    start: Start,
) -> None:
    h = await start()
    request = make_request("hello")
    request["taskType"] = "dance"

    mid = await h.publish(request)
    await h.settled(mid)

    assert h.log.kinds(mid) == GIVE_UP, "never run"
    reply = h.reply(mid)
    assert (reply["status"], reply["error"]["code"]) == ("error", "INVALID_MESSAGE")
    assert reply["contact"]["remoteJid"] == request["contact"]["remoteJid"]
    (dead,) = h.publisher.succeeded("publish_dead_letter")
    assert dead.extra["code"] == "INVALID_MESSAGE" and dead.extra["reason"].startswith("INVALID_MESSAGE: taskType")
    assert h.pool.runs == []
    assert h.metric("agentcluster_dead_letters_total", reason="invalid") == 1


async def test_given_unreadable_bytes_then_only_a_dead_letter_and_an_ack(start: Start) -> None:
    h = await start()
    body = b"\xff\xfe not utf-8 at all"

    await h.publish(body, message_id="raw-poison")
    await h.settled("raw-poison")

    assert [kind for kind, _ in h.log.events] == ["publish_dead_letter:start", "publish_dead_letter:end", "ack"]
    (dead,) = h.publisher.succeeded("publish_dead_letter")
    assert (dead.body, dead.message_id, dead.extra["code"]) == (body, None, "INVALID_MESSAGE")
    assert "invalid UTF-8" in dead.extra["reason"]
    assert h.publisher.succeeded("publish_reply") == [] and h.pool.runs == []


# ---------------------------------------------------------------------------- expired


@pytest.mark.parametrize("stamp", ["amqp-timestamp", "request-timestamp"])
async def test_given_a_request_older_than_the_queue_ttl_then_it_is_not_run_but_answered_and_dead_lettered_expired(
    start: Start, stamp: str
) -> None:
    h = await start(agent_queue_ttl_ms=20_000)
    request = make_request("too late")
    old = time.time() - 120
    if stamp == "request-timestamp":
        request["timestamp"] = int(old)

    mid = await h.publish(request, timestamp=datetime.fromtimestamp(old, UTC) if stamp == "amqp-timestamp" else None)
    await h.settled(mid)

    assert h.log.kinds(mid) == GIVE_UP
    assert h.pool.runs == []
    assert h.reply(mid)["error"]["code"] == "PROCESSING_TIMEOUT"
    (dead,) = h.publisher.succeeded("publish_dead_letter")
    assert "expired" in dead.extra["reason"]
    assert h.metric("agentcluster_dead_letters_total", reason="expired") == 1


# ---------------------------------------------------------------------------- duplicates


async def test_given_an_answered_request_whose_ack_was_lost_when_redelivered_then_acked_without_running_again(
    start: Start,
) -> None:
    request = make_request("Hello")
    h = await start(lose_first_ack=(request["messageId"],))

    mid = await h.publish(request)
    await h.settled(mid)
    await h.drain()

    assert h.log.kinds(mid) == ["run", "publish_reply:start", "publish_reply:end", "ack:lost", "ack"]
    assert [(k, r) for k, m, r in h.log.settled if m == mid] == [("ack", False), ("ack", True)]
    assert h.pool.runs == [mid] and len(h.publisher.succeeded("publish_reply")) == 1
    assert h.ingress.counts["duplicates"] == 1
    assert await h.depth(h.settings.agent_queue) == 0


# ---------------------------------------------------------------------------- drain


async def test_given_waiting_and_running_work_when_drained_then_waiting_is_requeued_and_running_finishes(
    start: Start,
) -> None:
    gates = {"a1": Gate(), "b1": Gate()}
    h = await start(script=gates, concurrent_tasks=2)
    a = [make_request(f"a{n}", 1) for n in (1, 2, 3)]
    b1, c1 = make_request("b1", 2), make_request("c1", 3)
    for request in [*a, b1, c1]:
        await h.publish(request)
    await eventually(
        lambda: all(g.started.is_set() for g in gates.values()) and h.ingress.status()["waiting"] == 3,
        "a1 and b1 running, a2, a3 (behind a1) and c1 (ready, no worker free) waiting",
    )

    drain = asyncio.create_task(h.drain(30.0))
    waiting = [a[1]["messageId"], a[2]["messageId"], c1["messageId"]]
    await eventually(lambda: all(h.log.count("nack:requeue", m) == 1 for m in waiting), "waiting requeued")
    assert not drain.done(), "drain waits for the running work"
    assert h.ingress.status()["consuming"] is False
    for gate in gates.values():
        gate.release.set()
    result = await drain

    assert result["requeued_waiting"] == 3
    for running in (a[0]["messageId"], b1["messageId"]):
        assert h.log.kinds(running) == REPLY_THEN_ACK
    for mid in waiting:
        assert h.log.kinds(mid) == ["nack:requeue"], "never run"
    assert h.publisher.succeeded("publish_dead_letter") == [] and h.publisher.succeeded("publish_retry") == []
    assert not any(kind.endswith(":drop") for kind, _, _ in h.log.settled)
    assert await h.depth(h.settings.agent_queue) == 3
    assert await h.depth(h.settings.dlx_agent) == 0


async def test_given_running_work_past_the_drain_timeout_when_drained_then_it_is_cancelled_and_requeued(
    start: Start,
) -> None:
    stuck = Gate()
    h = await start(script={"slow": stuck})
    request = make_request("slow")

    mid = await h.publish(request)
    await eventually(stuck.started.is_set, "the run started")
    result = await h.drain(0.2)

    assert h.log.kinds(mid) == ["run", "nack:requeue"]
    assert result["dead_lettered"] == 0 and h.publisher.calls == []
    assert await h.depth(h.settings.agent_queue) == 1, "back in ag_queue for the next ingress"


async def test_given_an_answer_being_published_past_the_drain_timeout_when_drained_then_it_is_acked_not_requeued(
    start: Start,
) -> None:
    h = await start()
    confirm = asyncio.Event()
    publish = h.publisher.publish_reply

    async def slow_confirm(body: bytes, reply_id: str, correlation_id: str) -> None:
        await confirm.wait()  # the broker has not confirmed yet when the drain times out
        await publish(body, reply_id, correlation_id)

    h.publisher.publish_reply = slow_confirm  # type: ignore[method-assign]
    request = make_request("answer me")
    mid = await h.publish(request)
    await eventually(lambda: h.log.count("run", mid) == 1, "the run finished")

    drain = asyncio.create_task(h.drain(0.1))
    await asyncio.sleep(0.3)  # past the drain timeout
    confirm.set()
    result = await drain

    assert h.log.kinds(mid) == ["run", "publish_reply:start", "publish_reply:end", "ack"]
    assert result["requeued"] == 0 and await h.depth(h.settings.agent_queue) == 0, "answered once, not requeued"


async def test_given_contacts_waiting_for_a_worker_then_urgent_runs_before_high_before_normal(start: Start) -> None:
    blocker = Gate()
    h = await start(script={"blocker": blocker}, concurrent_tasks=1)
    await h.publish(make_request("blocker", 0))
    await eventually(blocker.started.is_set, "the only worker is busy")
    waiting = [
        make_request("n1", 1, priority="normal"),
        make_request("h1", 2, priority="high"),
        make_request("n2", 3, priority="normal"),
        make_request("u1", 4, priority="urgent"),
        make_request("h2", 5, priority="high"),
    ]
    for request in waiting:
        await h.publish(request)
    await eventually(lambda: h.ingress.status()["waiting"] == len(waiting), "all delivered")

    blocker.release.set()
    for request in waiting:
        await h.settled(request["messageId"])

    by_id = {r["messageId"]: r["message"]["text"] for r in waiting}
    assert [by_id[m] for m in h.pool.runs[1:]] == ["u1", "h1", "h2", "n1", "n2"]


# ---------------------------------------------------------------------------- breaker


async def test_given_provider_failures_reach_the_threshold_then_consuming_pauses_and_resumes_after_the_cooldown(
    start: Start,
) -> None:
    first = Gate(then=ModelUnavailableError("503 from the provider"))
    h = await start(
        script={"down-1": first, "down-2": ModelUnavailableError("503 from the provider")},
        concurrent_tasks=1,
        breaker_threshold=2,
        breaker_cooldown=1.0,
        watchdog_interval=0.05,
    )
    down1, down2 = make_request("down-1", 1), make_request("down-2", 2)
    c_first, c_second = make_request("c-first", 3), make_request("c-second", 3)
    for request in (down1, down2, c_first, c_second):
        await h.publish(request)
    await eventually(lambda: first.started.is_set() and h.ingress.status()["waiting"] == 3, "all four delivered")
    at_open: dict[str, object] = {}

    def snapshot(method: str, message_id: str | None) -> None:
        if method == "publish_retry" and message_id == down2["messageId"]:
            at_open.update(h.ingress.status())

    h.publisher.on_call = snapshot
    first.release.set()
    c1, c2 = c_first["messageId"], c_second["messageId"]
    await h.settled(c2)

    assert (at_open["breaker"], at_open["consuming"], at_open["waiting"]) == ("open", False, 0)
    assert h.log.kinds(c1) == ["nack:requeue", *REPLY_THEN_ACK], "requeued while open, answered after"
    assert h.log.kinds(c2) == ["nack:requeue", *REPLY_THEN_ACK]
    assert h.log.events.index(("ack", c1)) < h.log.events.index(("run", c2)), "one contact, in order"
    for down in (down1, down2):
        assert h.log.kinds(down["messageId"]) == ["run", "publish_retry:start", "publish_retry:end", "ack"]
    status = h.ingress.status()
    assert (status["consuming"], status["breaker"], status["waiting"], status["contacts"]) == (True, "closed", 0, 0)
    assert h.publisher.succeeded("publish_dead_letter") == []


async def test_given_a_half_open_breaker_when_the_next_run_fails_then_it_pauses_again_and_a_later_success_closes_it(
    start: Start,
) -> None:
    h = await start(
        script={"down": ModelUnavailableError("503 from the provider")},
        breaker_threshold=1,
        breaker_cooldown=1.0,
        watchdog_interval=0.05,
    )
    states: dict[str, dict[str, object]] = {}

    def snapshot(method: str, message_id: str | None) -> None:
        states.setdefault(f"{method}:{message_id}", dict(h.ingress.status()))

    h.publisher.on_call = snapshot
    first, second, third = make_request("down", 1), make_request("down", 2), make_request("fine", 3)

    await h.publish(first)
    await h.settled(first["messageId"])
    await h.publish(second)
    await h.settled(second["messageId"])
    await h.publish(third)
    await h.settled(third["messageId"])

    for request in (first, second):
        state = states[f"publish_retry:{request['messageId']}"]
        assert (state["breaker"], state["consuming"]) == ("open", False)
    assert h.log.kinds(third["messageId"]) == REPLY_THEN_ACK
    assert (h.ingress.status()["breaker"], h.ingress.status()["consuming"]) == ("closed", True)
    assert h.metric("agentcluster_breaker_open") == 0
