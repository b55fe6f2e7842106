"""The queue topology against the real RabbitMQ: exact arguments, clear drift, dead-lettering and retries."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from cluster.broker import declare_topology, delete_topology, queue_state, verify_topology
from cluster.settings import Settings, load_settings
from contracts.errors import TopologyDriftError

pytestmark = pytest.mark.rabbitmq

RABBITMQCTL = shutil.which("rabbitmqctl")


def live_queues(names: set[str]) -> dict[str, dict[str, Any]]:
    """``name → {"arguments": {...}, "durable": bool}`` of the named queues, from rabbitmqctl."""
    assert RABBITMQCTL is not None
    done = subprocess.run(
        [RABBITMQCTL, "-q", "list_queues", "name", "arguments", "durable", "auto_delete", "--formatter", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {
        row["name"]: {
            "arguments": {key: value for key, _type, value in row["arguments"]},
            "durable": row["durable"],
            "auto_delete": row["auto_delete"],
        }
        for row in json.loads(done.stdout)
        if row["name"] in names
    }


def expected_queues(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        q.name: {"arguments": dict(q.arguments), "durable": True, "auto_delete": False}
        for q in settings.topology().queues
    }


def design_md_arguments(settings: Settings) -> dict[str, dict[str, Any]]:
    """The DESIGN.md table, written out independently of contracts.topology."""
    return {
        settings.agent_queue: {"x-message-ttl": 300_000, "x-dead-letter-exchange": settings.dlx_agent},
        settings.webhook_queue: {"x-message-ttl": 60_000, "x-dead-letter-exchange": settings.dlx_webhook},
        settings.dlx_agent: {},
        settings.dlx_webhook: {},
    }


async def predeclare_like_node(connection: AbstractRobustConnection, settings: Settings, agent_ttl: int) -> None:
    """What the Node.js side does: durable queues with x-message-ttl and x-dead-letter-exchange only."""
    channel = await connection.channel()
    await channel.declare_queue(
        settings.agent_queue,
        durable=True,
        arguments={"x-message-ttl": agent_ttl, "x-dead-letter-exchange": settings.dlx_agent},
    )
    await channel.declare_queue(
        settings.webhook_queue,
        durable=True,
        arguments={"x-message-ttl": 60_000, "x-dead-letter-exchange": settings.dlx_webhook},
    )
    await channel.close()


async def get_one(connection: AbstractRobustConnection, queue: str, within: float = 10.0) -> AbstractIncomingMessage:
    """Poll ``queue`` until a message arrives (acked) or fail after ``within`` seconds."""
    channel = await connection.channel()
    try:
        q = await channel.get_queue(queue, ensure=False)
        deadline = asyncio.get_running_loop().time() + within
        while True:
            message = await q.get(no_ack=True, fail=False)
            if message is not None:
                return message
            assert asyncio.get_running_loop().time() < deadline, f"nothing arrived in {queue} within {within}s"
            await asyncio.sleep(0.05)
    finally:
        await channel.close()


async def publish(connection: AbstractRobustConnection, routing_key: str, body: bytes = b'{"hello": 1}') -> None:
    channel = await connection.channel()
    await channel.default_exchange.publish(
        aio_pika.Message(body, message_id="m-1", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=routing_key,
    )
    await channel.close()


@pytest_asyncio.fixture
async def declared(amqp: AbstractRobustConnection, settings: Settings) -> AbstractRobustConnection:
    await declare_topology(amqp, settings.topology())
    return amqp


@pytest_asyncio.fixture
async def short_ttl(amqp: AbstractRobustConnection) -> AsyncIterator[Settings]:
    """A second topology whose ag_queue TTL is scaled down to 200 ms (cleaned up afterwards)."""
    suffix = uuid.uuid4().hex[:8]
    scaled = load_settings(
        agent_queue=f"test.ag.{suffix}",
        webhook_queue=f"test.wb.{suffix}",
        dlx_agent=f"test.dlxa.{suffix}",
        dlx_webhook=f"test.dlxw.{suffix}",
        retry_delay=0.2,
        agent_queue_ttl_ms=200,
    )
    await declare_topology(amqp, scaled.topology())
    yield scaled
    await delete_topology(amqp, scaled.topology())


async def test_given_a_declared_topology_when_declared_again_then_nothing_changes_and_it_verifies(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    await publish(declared, settings.agent_queue)
    await declare_topology(declared, settings.topology())
    await verify_topology(declared, settings.topology())
    assert await queue_state(declared, settings.agent_queue) == (1, 0)


async def test_given_a_declared_topology_when_listing_live_queues_then_the_arguments_are_exactly_design_md(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    if RABBITMQCTL is None:
        pytest.skip("rabbitmqctl is not installed")
    live = await asyncio.to_thread(live_queues, set(expected_queues(settings)))
    assert live == expected_queues(settings)
    for name, arguments in design_md_arguments(settings).items():
        assert live[name]["arguments"] == arguments


async def test_given_queues_predeclared_like_node_when_declaring_and_verifying_then_they_are_accepted(
    amqp: AbstractRobustConnection, settings: Settings
) -> None:
    await predeclare_like_node(amqp, settings, agent_ttl=300_000)
    await declare_topology(amqp, settings.topology())
    await verify_topology(amqp, settings.topology())


async def test_given_ag_queue_predeclared_with_another_ttl_when_declaring_then_drift_names_queue_argument_and_values(
    amqp: AbstractRobustConnection, settings: Settings
) -> None:
    await predeclare_like_node(amqp, settings, agent_ttl=60_000)
    with pytest.raises(TopologyDriftError) as caught:
        await declare_topology(amqp, settings.topology())
    text = str(caught.value)
    assert f"queue '{settings.agent_queue}'" in text
    assert "'x-message-ttl' is 60000 on the broker but the contract expects 300000" in text
    assert "PRECONDITION_FAILED" not in text
    # The drift closed only a throwaway channel: the connection still works.
    assert await queue_state(amqp, settings.agent_queue) == (0, 0)
    with pytest.raises(TopologyDriftError, match=r"'x-message-ttl' is 60000 .* expects 300000"):
        await verify_topology(amqp, settings.topology())
    await publish(amqp, settings.agent_queue)
    assert (await get_one(amqp, settings.agent_queue)).body == b'{"hello": 1}'


async def test_given_a_non_durable_queue_when_verifying_then_drift_names_the_durable_flag(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    channel = await declared.channel()
    await channel.queue_delete(settings.webhook_queue)
    await channel.declare_queue(
        settings.webhook_queue,
        durable=False,
        arguments={"x-message-ttl": 60_000, "x-dead-letter-exchange": settings.dlx_webhook},
    )
    await channel.close()
    with pytest.raises(TopologyDriftError) as caught:
        await verify_topology(declared, settings.topology())
    assert f"queue '{settings.webhook_queue}': argument 'durable' is false" in str(caught.value)
    assert "expects true" in str(caught.value)


async def test_given_a_queue_with_an_extra_argument_when_verifying_then_drift_names_it_as_not_expected(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    channel = await declared.channel()
    await channel.queue_delete(settings.agent_queue)
    await channel.declare_queue(
        settings.agent_queue,
        durable=True,
        arguments={"x-message-ttl": 300_000, "x-dead-letter-exchange": settings.dlx_agent, "x-max-length": 10},
    )
    await channel.close()
    with pytest.raises(TopologyDriftError) as caught:
        await verify_topology(declared, settings.topology())
    assert f"queue '{settings.agent_queue}': argument 'x-max-length' is 10" in str(caught.value)
    assert "expects absent" in str(caught.value)


async def test_given_a_missing_queue_when_verifying_then_the_error_names_it(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    channel = await declared.channel()
    await channel.queue_delete(settings.agent_queue)
    await channel.close()
    with pytest.raises(TopologyDriftError, match=rf"queue '{settings.agent_queue}' does not exist"):
        await verify_topology(declared, settings.topology())
    assert await queue_state(declared, settings.agent_queue) is None  # verify created nothing


async def test_given_nothing_declared_when_verifying_then_it_fails_without_creating_anything(
    amqp: AbstractRobustConnection, settings: Settings
) -> None:
    with pytest.raises(TopologyDriftError, match="does not exist"):
        await verify_topology(amqp, settings.topology())
    for queue in settings.topology().queues:
        assert await queue_state(amqp, queue.name) is None


async def test_given_a_message_on_ag_queue_when_rejected_without_requeue_then_it_is_dead_lettered_as_rejected(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    await publish(declared, settings.agent_queue, b"not json")
    channel = await declared.channel()
    queue = await channel.get_queue(settings.agent_queue, ensure=False)
    message = await queue.get(timeout=5)
    await message.reject(requeue=False)
    await channel.close()
    dead = await get_one(declared, settings.dlx_agent)
    assert dead.body == b"not json"
    assert dead.message_id == "m-1"
    death = dead.headers["x-death"][0]  # type: ignore[index]
    assert death["reason"] == "rejected"
    assert death["queue"] == settings.agent_queue
    assert death["exchange"] == ""
    assert await queue_state(declared, settings.agent_queue) == (0, 0)


async def test_given_a_message_that_outlives_the_ttl_when_it_expires_then_it_is_dead_lettered_as_expired(
    amqp: AbstractRobustConnection, short_ttl: Settings
) -> None:
    await publish(amqp, short_ttl.agent_queue, b"too late")
    dead = await get_one(amqp, short_ttl.dlx_agent, within=10)
    assert dead.body == b"too late"
    death = dead.headers["x-death"][0]  # type: ignore[index]
    assert death["reason"] == "expired"
    assert death["queue"] == short_ttl.agent_queue


async def test_given_a_message_in_a_retry_wait_queue_when_its_delay_passes_then_it_returns_to_ag_queue(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    wait_queue = settings.topology().agent_retry_queue(1)
    assert wait_queue == f"{settings.agent_queue}.retry.200ms"
    started = asyncio.get_running_loop().time()
    await publish(declared, wait_queue, b"retry me")
    back = await get_one(declared, settings.agent_queue, within=10)
    assert asyncio.get_running_loop().time() - started >= 0.15
    assert back.body == b"retry me"
    death = back.headers["x-death"][0]  # type: ignore[index]
    assert (death["reason"], death["queue"]) == ("expired", wait_queue)
    assert await queue_state(declared, wait_queue) == (0, 0)


async def test_given_every_retry_level_when_published_then_each_wait_queue_dead_letters_to_its_work_queue(
    declared: AbstractRobustConnection, settings: Settings
) -> None:
    topology = settings.topology()
    for level in (1, 2, 3):
        await publish(declared, topology.agent_retry_queue(level), f"a{level}".encode())
        await publish(declared, topology.webhook_retry_queue(level), f"w{level}".encode())
    got_agent = {(await get_one(declared, settings.agent_queue)).body for _ in range(3)}
    got_webhook = {(await get_one(declared, settings.webhook_queue)).body for _ in range(3)}
    assert got_agent == {b"a1", b"a2", b"a3"}
    assert got_webhook == {b"w1", b"w2", b"w3"}


async def test_given_the_exported_definitions_when_imported_by_rabbitmq_then_they_verify(
    amqp: AbstractRobustConnection, settings: Settings
) -> None:
    if RABBITMQCTL is None:
        pytest.skip("rabbitmqctl is not installed")
    definitions = settings.topology().definitions("/")
    assert {q["name"] for q in definitions["queues"]} == {q.name for q in settings.topology().queues}
    # Through stdin (no file argument): the broker may not be allowed to read pytest's private tmp_path.
    await asyncio.to_thread(
        subprocess.run,
        [RABBITMQCTL, "-q", "import_definitions", "--format", "json"],
        input=json.dumps(definitions),
        text=True,
        check=True,
        timeout=120,
        capture_output=True,
    )
    deadline = asyncio.get_running_loop().time() + 30
    while True:  # the import is asynchronous
        try:
            await verify_topology(amqp, settings.topology())
            break
        except TopologyDriftError:
            assert asyncio.get_running_loop().time() < deadline, "the imported definitions never appeared"
            await asyncio.sleep(0.2)
    await declare_topology(amqp, settings.topology())  # and the declarer accepts what the import made
    assert await asyncio.to_thread(live_queues, set(expected_queues(settings))) == expected_queues(settings)
    await publish(amqp, settings.agent_queue, b"x")
    assert (await get_one(amqp, settings.agent_queue)).body == b"x"


async def test_given_a_dead_letter_exchange_of_another_type_when_declaring_then_drift_names_the_exchange_type(
    amqp: AbstractRobustConnection, settings: Settings
) -> None:
    channel = await amqp.channel()
    await channel.declare_exchange(settings.dlx_agent, aio_pika.ExchangeType.DIRECT, durable=True)
    await channel.close()
    with pytest.raises(TopologyDriftError) as caught:
        await declare_topology(amqp, settings.topology())
    assert f"exchange '{settings.dlx_agent}': argument 'type' is direct" in str(caught.value)
    assert "expects fanout" in str(caught.value)
    assert await queue_state(amqp, settings.agent_queue) is None  # nothing past the drift was declared
