"""The internal wire on a real TCP server over loopback: DirectPool/DirectPublisher ↔ IngressLink.

No Ray here: the workers are :class:`~actors.link.IngressLink` objects in this process, with
scripted handlers, attached to a real :class:`~ingress.dispatch.DispatchServer`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import pytest_asyncio

from actors.link import IngressLink
from actors.pool import PoolResult
from cluster.autoscaling import LOAD_METRIC, pool_policy
from contracts import errors
from contracts.dispatch import (
    ERROR,
    JOB,
    RESULT,
    Hello,
    decode_error,
    dispatch_token,
    encode_error,
    encode_frame,
    join_parts,
    read_frame,
    split_parts,
)
from contracts.errors import (
    AgentClusterError,
    ModelUnavailableError,
    PoisonMessageError,
    PublishError,
    ReplicaLostError,
)
from ingress.direct import DirectPool, DirectPublisher
from ingress.dispatch import DispatchServer

TOKEN = dispatch_token("amqp://guest:guest@localhost:5672/", "test.ag")


def result_for(body: bytes) -> bytes:
    """What a scripted pool replica answers: the body echoed as the reply."""
    return PoolResult(
        reply=body,
        reply_id=f"reply-{body.decode()}",
        status="success",
        task_type="conversation",
        tools_used=("get_business_info",),
        tokens_used=7,
        processing_time=0.01,
    ).to_bytes()


@dataclass
class Worker:
    """A scripted pool replica: records concurrency, can be held, can fail."""

    name: str
    delay: float = 0.0
    running: int = 0
    peak: int = 0
    seen: list[bytes] = field(default_factory=list)
    cancelled: list[bytes] = field(default_factory=list)
    gate: asyncio.Event | None = None
    fail_with: AgentClusterError | None = None

    async def handle(self, body: bytes) -> bytes:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.seen.append(body)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delay)
            if self.fail_with is not None:
                raise self.fail_with
            return result_for(body)
        except asyncio.CancelledError:
            self.cancelled.append(body)
            raise
        finally:
            self.running -= 1


class Hub:
    """A dispatch server with its two registries, and helpers to attach workers to it."""

    def __init__(self) -> None:
        self.pool = DirectPool(load_interval=0.05)
        self.publisher = DirectPublisher(timeout=5.0, attach_wait=0.3)
        self.server = DispatchServer(TOKEN, {"pool": self.pool, "publisher": self.publisher}, host="127.0.0.1")
        self.links: list[IngressLink] = []

    async def locate(self) -> str:
        return self.server.address

    async def attach(
        self,
        role: str,
        handler: Callable[[bytes], Awaitable[bytes]],
        *,
        capacity: int = 2,
        token: str = TOKEN,
        name: str = "w",
        wait: bool = True,
    ) -> IngressLink:
        hello = Hello(role=role, token=token, replica_id=name, node_id="node", pid=1, capacity=capacity)
        link = IngressLink(hello, handler, self.locate, redial_max=0.2)
        self.links.append(link)
        await link.start()
        if wait:
            await asyncio.wait_for(link.connected.wait(), 5.0)
            await until(lambda: any(item.hello.replica_id == name for item in self._links(role)))
        return link

    def _links(self, role: str) -> list[object]:
        registry = self.pool if role == "pool" else self.publisher
        return list(registry._links)  # type: ignore[attr-defined]


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest_asyncio.fixture
async def hub() -> AsyncIterator[Hub]:
    hub = Hub()
    await hub.server.start()
    hub.pool.start()
    yield hub
    for link in hub.links:
        await link.drain(0.5)
    await hub.pool.stop()
    await hub.server.stop()


# --- the frame codec -------------------------------------------------------------------------


async def test_given_several_frames_in_one_write_when_read_then_each_comes_back_whole() -> None:
    data = encode_frame(JOB, 1, b"one") + encode_frame(RESULT, 2, b"") + encode_frame(ERROR, 2**40, b"x" * 70_000)
    reader = asyncio.StreamReader()
    reader.feed_data(data[:-1])
    reader.feed_eof()

    frames = [await read_frame(reader), await read_frame(reader)]
    with pytest.raises(asyncio.IncompleteReadError):
        await read_frame(reader)  # the last one lost its final byte: the connection closed mid-frame

    assert [(f.kind, f.job_id, f.payload) for f in frames] == [(JOB, 1, b"one"), (RESULT, 2, b"")]


async def test_given_an_impossible_length_when_read_then_the_frame_is_refused() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"J" + (1).to_bytes(8, "big") + (2**32 - 1).to_bytes(4, "big"))

    with pytest.raises(ValueError, match="larger than"):
        await read_frame(reader)


@pytest.mark.parametrize(
    "cls",
    sorted(
        (c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, AgentClusterError)),
        key=lambda c: c.__name__,
    ),
)
def test_given_each_error_class_when_sent_as_a_frame_then_the_same_class_and_reason_arrive(
    cls: type[AgentClusterError],
) -> None:
    error = cls("the reason")

    back = decode_error(encode_error(error))

    assert type(back) is cls and back.reason == "the reason" and back.retryable is cls.retryable


def test_given_an_unknown_code_or_a_foreign_exception_when_decoded_then_retryability_is_kept() -> None:
    assert isinstance(decode_error(b'{"code": "NEW", "reason": "r", "retryable": true}'), errors.RetryableError)
    assert isinstance(decode_error(b'{"code": "NEW", "reason": "r", "retryable": false}'), errors.PermanentError)
    foreign = decode_error(encode_error(KeyError("x")))
    assert isinstance(foreign, errors.AgentFailedError) and "KeyError" in foreign.reason


def test_given_a_pool_result_and_a_header_when_encoded_then_they_round_trip() -> None:
    result = PoolResult.from_bytes(result_for(b"body with\nnewlines"))
    assert result.reply == b"body with\nnewlines" and result.tools_used == ("get_business_info",)
    assert split_parts(join_parts({"op": "reply", "n": 1}, b"a\nb")) == ({"op": "reply", "n": 1}, b"a\nb")


def test_given_the_same_settings_then_the_same_token_and_another_queue_another_token() -> None:
    assert dispatch_token("amqp://u:p@h/", "ag") == dispatch_token("amqp://u:p@h/", "ag")
    assert dispatch_token("amqp://u:p@h/", "ag") != dispatch_token("amqp://u:q@h/", "ag")
    assert dispatch_token("amqp://u:p@h/", "ag") != dispatch_token("amqp://u:p@h/", "ag2")


# --- the pool over the stream ----------------------------------------------------------------


async def test_given_two_replicas_when_many_runs_then_all_answer_and_no_replica_exceeds_its_capacity(
    hub: Hub,
) -> None:
    first, second = Worker("a", delay=0.02), Worker("b", delay=0.02)
    await hub.attach("pool", first.handle, capacity=2, name="a")
    await hub.attach("pool", second.handle, capacity=3, name="b")

    results = await asyncio.gather(*(hub.pool.run(f"{i}".encode()) for i in range(40)))

    assert [r.reply for r in results] == [f"{i}".encode() for i in range(40)]
    assert results[0].reply_id == "reply-0" and results[0].tokens_used == 7
    assert first.peak <= 2 and second.peak <= 3
    assert first.seen and second.seen, "both replicas took work"
    assert hub.pool.status()["waiting_for_slot"] == 0


async def test_given_one_slot_when_runs_queue_then_they_start_in_arrival_order(hub: Hub) -> None:
    worker = Worker("a", delay=0.01)
    await hub.attach("pool", worker.handle, capacity=1, name="a")

    await asyncio.gather(*(hub.pool.run(f"{i}".encode()) for i in range(15)))

    assert worker.seen == [f"{i}".encode() for i in range(15)]


async def test_given_a_replica_error_when_run_then_the_same_typed_error_is_raised(hub: Hub) -> None:
    worker = Worker("a", fail_with=ModelUnavailableError("429 from the provider"))
    await hub.attach("pool", worker.handle, name="a")

    with pytest.raises(ModelUnavailableError, match="429"):
        await hub.pool.run(b"x")


async def test_given_a_replica_lost_mid_run_then_its_runs_fail_as_lost_and_others_carry_on(hub: Hub) -> None:
    held = Worker("held", gate=asyncio.Event())
    link = await hub.attach("pool", held.handle, capacity=2, name="held")
    runs = [asyncio.create_task(hub.pool.run(f"{i}".encode())) for i in range(2)]
    await until(lambda: held.running == 2)

    assert link._task is not None
    link._task.cancel()  # the replica vanishes: its stream closes without a word
    outcomes = await asyncio.gather(*runs, return_exceptions=True)
    healthy = Worker("healthy")
    await hub.attach("pool", healthy.handle, name="healthy")
    after = await hub.pool.run(b"after")

    assert all(isinstance(outcome, ReplicaLostError) for outcome in outcomes), outcomes
    assert after.reply == b"after" and healthy.seen == [b"after"]


async def test_given_a_run_cancelled_by_the_ingress_then_the_replica_stops_it_and_the_slot_frees(hub: Hub) -> None:
    worker = Worker("a", gate=asyncio.Event())
    await hub.attach("pool", worker.handle, capacity=1, name="a")
    run = asyncio.create_task(hub.pool.run(b"slow"))
    await until(lambda: worker.running == 1)

    run.cancel()
    await until(lambda: worker.cancelled == [b"slow"])
    assert worker.gate is not None
    worker.gate.set()
    again = await asyncio.wait_for(hub.pool.run(b"next"), 5.0)

    assert again.reply == b"next"


async def test_given_a_draining_replica_then_its_running_jobs_answer_and_it_gets_no_new_ones(hub: Hub) -> None:
    old, new = Worker("old", gate=asyncio.Event()), Worker("new")
    old_link = await hub.attach("pool", old.handle, capacity=2, name="old")
    running = [asyncio.create_task(hub.pool.run(f"r{i}".encode())) for i in range(2)]
    await until(lambda: old.running == 2)

    drain = asyncio.create_task(old_link.drain(5.0))
    await until(lambda: all(link.draining for link in hub.pool._links if link.hello.replica_id == "old"))
    await hub.attach("pool", new.handle, capacity=2, name="new")
    later = await hub.pool.run(b"later")
    assert old.gate is not None
    old.gate.set()
    finished = await asyncio.gather(*running)
    await drain

    assert [r.reply for r in finished] == [b"r0", b"r1"], "running work answered before the replica left"
    assert later.reply == b"later" and new.seen == [b"later"] and b"later" not in old.seen


async def test_given_a_wrong_token_then_the_worker_is_refused_with_the_reason_and_gets_no_work(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker("stranger")
    caplog.set_level("INFO", logger="agentcluster.dispatch")
    await hub.attach("pool", worker.handle, token="not-the-token", name="stranger", wait=False)
    await until(lambda: "wrong dispatch token" in caplog.text and "RefusedError" in caplog.text)

    assert hub.pool.status()["replicas"] == []
    assert worker.seen == []


async def test_given_runs_waiting_for_a_slot_then_replicas_hear_their_share_of_the_backlog(hub: Hub) -> None:
    worker = Worker("a", gate=asyncio.Event())
    link = await hub.attach("pool", worker.handle, capacity=1, name="a")
    runs = [asyncio.create_task(hub.pool.run(f"{i}".encode())) for i in range(4)]

    await until(lambda: link.backlog == 3.0)
    assert worker.gate is not None
    worker.gate.set()
    await asyncio.gather(*runs)
    await until(lambda: link.backlog == 0.0)


# --- the publisher over the stream -----------------------------------------------------------


async def test_given_the_publisher_attached_then_each_command_arrives_and_its_answer_returns(hub: Hub) -> None:
    commands: list[tuple[dict[str, object], bytes]] = []

    async def execute(payload: bytes) -> bytes:
        header, body = split_parts(payload)
        commands.append((header, body))
        if header["op"] == "dead":
            raise PublishError("returned unroutable")
        return b"ag.retry.1" if header["op"] == "retry" else b""

    await hub.attach("publisher", execute, capacity=100, name="pub")

    await hub.publisher.publish_reply(b"{reply}", "reply-id", "request-id")
    queue = await hub.publisher.publish_retry(b"{request}", "request-id", 1)
    with pytest.raises(PublishError, match="unroutable"):
        await hub.publisher.publish_dead_letter(b"{request}", "request-id", "why", "CODE")

    assert queue == "ag.retry.1"
    assert commands[0] == ({"op": "reply", "reply_id": "reply-id", "correlation_id": "request-id"}, b"{reply}")
    assert commands[1][0] == {"op": "retry", "message_id": "request-id", "retry_count": 1}
    assert commands[2][0]["reason"] == "why"


async def test_given_no_publisher_attached_when_publishing_then_a_publish_error_says_so(hub: Hub) -> None:
    with pytest.raises(PublishError, match="not attached"):
        await hub.publisher.publish_reply(b"{}", "r", "c")


async def test_given_the_publisher_lost_mid_publish_then_the_outcome_is_a_retryable_publish_error(hub: Hub) -> None:
    gate = asyncio.Event()

    async def stuck(payload: bytes) -> bytes:
        await gate.wait()
        return b""

    link = await hub.attach("publisher", stuck, name="pub")
    publish = asyncio.create_task(hub.publisher.publish_reply(b"{}", "r", "c"))
    await asyncio.sleep(0.2)
    assert link._task is not None
    link._task.cancel()

    with pytest.raises(PublishError, match="outcome unknown") as raised:
        await publish
    assert raised.value.retryable


# --- autoscaling -----------------------------------------------------------------------------


def test_given_reported_load_when_the_policy_runs_then_replicas_follow_load_over_target() -> None:
    config = SimpleNamespace(get_target_ongoing_requests=lambda: 4.0)
    load = {LOAD_METRIC: {"r1": 6.0, "r2": 6.0}}
    busy = SimpleNamespace(aggregated_metrics=load, target_num_replicas=2, config=config)
    silent = SimpleNamespace(aggregated_metrics={}, target_num_replicas=2, config=config)

    assert pool_policy(busy)[0] == 3.0  # type: ignore[arg-type]
    assert pool_policy(silent)[0] == 2  # type: ignore[arg-type]


def test_given_a_poison_error_from_a_replica_then_it_stays_permanent() -> None:
    back = decode_error(encode_error(PoisonMessageError("taskType: bad")))
    assert isinstance(back, PoisonMessageError) and not back.retryable
