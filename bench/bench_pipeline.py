"""Throughput and overhead of the pipeline, side by side with its baselines, in one run.

Rows (all against the local RabbitMQ, each on its own unique queues):

(a) relay      consume → publish with confirm → ack, no agent: the broker's ceiling here
(b) worker     one plain aio-pika process running the same AgentEngine, N in flight
(c) pipeline   this project: Ingress → AgentPool (Ray Serve) → Publisher
(s) seed       the spec's shape: one process, prefetch 1 (the baseline users start from)

Each row runs with the zero-latency scripted model; (b), (c) and (s) also with a model that
takes 2 s per run (the scripted agent makes two model calls, a tool call and the answer, of
1 s each) at 128 in flight, where the ideal is 128 / 2 s = 64 messages/s, and the pipeline
once more at half that load: closed-loop (64 in flight, so each wave of 64 runs starts and
ends in the same instant, the worst case) and open-loop (32 arrivals/s, evenly spaced, about
64 in flight on average, the way customers write), and once one request at a time, the floor
of the path. "Beyond model" is end-to-end latency (publish →
reply consumed) minus the model's own 2 s; "beyond agent run" subtracts the whole agent run
instead (the reply's ``processingTime``), leaving what the queueing and dispatch path adds.

    .venv/bin/python -m bench.bench_pipeline            # full run (~6 minutes)
    .venv/bin/python -m bench.bench_pipeline --quick    # smaller counts
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika

from cluster.broker import connect, declare_topology, delete_topology
from cluster.settings import Settings, load_settings
from contracts.codec import decode_request, encode, success_reply

LATENCY_MODEL = "chaos:scripted?latency=1.0"  # two model calls per run: 2 s of model time
MODEL_SECONDS = 2.0


def _settings(model: str, **extra: Any) -> Settings:
    sfx = uuid.uuid4().hex[:8]
    return load_settings(
        agent_queue=f"bench.ag.{sfx}",
        webhook_queue=f"bench.wb.{sfx}",
        dlx_agent=f"bench.dlxa.{sfx}",
        dlx_webhook=f"bench.dlxw.{sfx}",
        model=model,
        metrics_port=0,
        log_level="WARNING",
        log_format="text",
        database_url=f"sqlite+aiosqlite:///var/bench-{sfx}.db",
        **extra,
    )


def _request(i: int) -> bytes:
    now = int(time.time())
    phone = f"+2567{i % 500:08d}"
    return json.dumps(
        {
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "taskType": "conversation",
            "contact": {"remoteJid": f"{phone[1:]}@s.whatsapp.net", "phoneNumber": phone, "name": "Bench"},
            "message": {"text": f"hello {i}", "messageId": f"wa-{i}", "timestamp": now},
            "context": {"conversationHistory": [], "sessionData": {}},
            "metadata": {"priority": "normal", "retryCount": 0, "maxRetries": 3},
        }
    ).encode()


async def _drive(settings: Settings, count: int, in_flight: int, rate: float | None = None) -> dict[str, float]:
    """Keep ``in_flight`` requests outstanding until ``count`` replies; measure rate and latency.

    With ``rate`` the load is open-loop instead: one request every ``1 / rate`` seconds whatever the
    replies do (``in_flight`` is then only a safety cap), the way customer messages arrive.
    """
    connection = await connect(settings, name="bench-driver")
    channel = await connection.channel(publisher_confirms=False)
    replies = await channel.get_queue(settings.webhook_queue, ensure=False)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    dispatch: list[float] = []  # end-to-end minus the agent run itself (the reply's processingTime)
    done = asyncio.Event()
    window = asyncio.Semaphore(in_flight)

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        started = sent_at.pop(message.correlation_id or "", None)
        if started is not None:
            latency = time.perf_counter() - started
            latencies.append(latency)
            agent = json.loads(message.body).get("agentMetadata", {}).get("processingTime")
            if agent is not None:
                dispatch.append(latency - float(agent))
            window.release()
        await message.ack()
        if len(latencies) >= count:
            done.set()

    await replies.consume(on_reply)
    started = time.perf_counter()
    for i in range(count):
        if rate is not None:
            await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        await window.acquire()
        body = _request(i)
        message_id = json.loads(body)["messageId"]
        sent_at[message_id] = time.perf_counter()
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=2, message_id=message_id), settings.agent_queue
        )
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - started
    await connection.close()
    latencies.sort()
    dispatch.sort()
    return {
        "rate": count / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "dispatch_p50": statistics.median(dispatch) if dispatch else float("nan"),
        "dispatch_p99": dispatch[min(len(dispatch) - 1, int(len(dispatch) * 0.99))] if dispatch else float("nan"),
    }


async def _worker(settings: Settings, prefetch: int, engine: Any | None) -> Callable[[], Awaitable[None]]:
    """A plain aio-pika consumer: run the engine (or nothing), publish with confirm, ack."""
    connection = await connect(settings, name="bench-worker")
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=prefetch)
    queue = await channel.get_queue(settings.agent_queue, ensure=False)

    async def handle(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        request = decode_request(message.body)
        if engine is None:
            body = message.body
        else:
            result = await engine.run(request)
            body = encode(success_reply(request, result.text, result.metadata()))
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=2, correlation_id=request.message_id), settings.webhook_queue
        )
        await message.ack()

    await queue.consume(handle)

    async def close() -> None:
        await connection.close()

    return close


async def _run_plain(model: str, prefetch: int, count: int, in_flight: int, with_engine: bool) -> dict[str, float]:
    from agents.engine import AgentEngine

    settings = _settings(model)
    setup = await connect(settings, name="bench-setup")
    await declare_topology(setup, settings.topology())
    engine = None
    if with_engine:
        engine = AgentEngine(settings)
        await engine.start()
    close = await _worker(settings, prefetch, engine)
    try:
        return await _drive(settings, count, in_flight)
    finally:
        await close()
        if engine is not None:
            await engine.stop()
        await _cleanup(setup, settings)


async def _run_pipeline(
    model: str, count: int, in_flight: int, concurrent: int, rate: float | None = None
) -> dict[str, float]:
    from cluster import runtime

    settings = _settings(
        model, pool_min_replicas=2, pool_max_replicas=2, concurrent_tasks=concurrent, pool_replica_cpus=0.5
    )
    setup = await connect(settings, name="bench-setup")
    await declare_topology(setup, settings.topology())
    await asyncio.to_thread(runtime.deploy, settings)
    await asyncio.to_thread(runtime.wait_until_consuming, 300)
    try:
        await _drive(settings, min(count, 100), in_flight)  # warm-up: replicas, JIT caches, sessions
        return await _drive(settings, count, in_flight, rate)
    finally:
        await asyncio.to_thread(runtime.shutdown_app, 2.0)
        await _cleanup(setup, settings)


async def _cleanup(connection: Any, settings: Settings) -> None:
    await delete_topology(connection, settings.topology())
    await connection.close()


def _row(name: str, result: dict[str, float], model_time: float) -> str:
    over50 = max(0.0, result["p50"] - model_time) * 1000
    over99 = max(0.0, result["p99"] - model_time) * 1000
    d50, d99 = result["dispatch_p50"] * 1000, result["dispatch_p99"] * 1000
    return f"| {name} | {result['rate']:.1f} | {over50:.1f} | {over99:.1f} | {d50:.1f} | {d99:.1f} |"


async def main(quick: bool) -> None:
    from cluster import runtime

    n = 300 if quick else 1000
    n_slow = 256 if quick else 512
    await asyncio.to_thread(runtime.init_ray, None, num_cpus=4, dashboard=False)
    ideal = 128 / MODEL_SECONDS
    results: dict[str, dict[str, float]] = {}
    print("running (a) relay", flush=True)
    results["relay"] = await _run_plain("scripted", 64, n * 2, 64, with_engine=False)
    print("running (b) worker, zero-latency model", flush=True)
    results["worker0"] = await _run_plain("scripted", 64, n, 64, with_engine=True)
    print("running (s) seed prefetch-1, zero-latency model", flush=True)
    results["seed0"] = await _run_plain("scripted", 1, n // 2, 1, with_engine=True)
    print("running (c) pipeline, zero-latency model", flush=True)
    results["pipe0"] = await _run_pipeline("scripted", n, 64, 32)
    print("running (b) worker, 2 s model, 128 in flight", flush=True)
    results["worker2"] = await _run_plain(LATENCY_MODEL, 128, n_slow, 128, with_engine=True)
    print("running (s) seed prefetch-1, 2 s model", flush=True)
    results["seed2"] = await _run_plain(LATENCY_MODEL, 1, 5, 1, with_engine=True)
    print("running (c) pipeline, 2 s model, 128 in flight", flush=True)
    results["pipe2"] = await _run_pipeline(LATENCY_MODEL, n_slow, 128, 64)
    print("running (c) pipeline, 2 s model, half load (64 in flight)", flush=True)
    results["pipe2half"] = await _run_pipeline(LATENCY_MODEL, n_slow // 2, 64, 64)
    print("running (c) pipeline, 2 s model, half load paced (32 arrivals/s)", flush=True)
    results["pipe2paced"] = await _run_pipeline(LATENCY_MODEL, n_slow // 2, 128, 64, rate=ideal / 2)
    print("running (c) pipeline, 2 s model, one at a time", flush=True)
    results["pipe2one"] = await _run_pipeline(LATENCY_MODEL, 10, 1, 64)

    print()
    print("| row | messages/s | beyond model p50 ms | beyond model p99 ms | beyond agent run p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    print(_row("(a) relay, no agent", results["relay"], 0.0))
    print(_row("(s) seed prefetch-1, zero-latency model", results["seed0"], 0.0))
    print(_row("(b) one aio-pika process, zero-latency model", results["worker0"], 0.0))
    print(_row("(c) pipeline, zero-latency model", results["pipe0"], 0.0))
    print(_row("(s) seed prefetch-1, 2 s model", results["seed2"], MODEL_SECONDS))
    print(_row("(b) one aio-pika process, 2 s model, 128 in flight", results["worker2"], MODEL_SECONDS))
    print(_row("(c) pipeline, 2 s model, 128 in flight", results["pipe2"], MODEL_SECONDS))
    print(_row("(c) pipeline, 2 s model, half load (64 in flight)", results["pipe2half"], MODEL_SECONDS))
    print(_row("(c) pipeline, 2 s model, half load paced (32 arrivals/s)", results["pipe2paced"], MODEL_SECONDS))
    print(_row("(c) pipeline, 2 s model, one at a time", results["pipe2one"], MODEL_SECONDS))
    print()
    print(f"(c)/(b) zero-latency: {results['pipe0']['rate'] / results['worker0']['rate']:.2f}x")
    print(f"(c)/(s) zero-latency: {results['pipe0']['rate'] / results['seed0']['rate']:.1f}x")
    print(f"(c) 2 s model vs ideal {ideal:.0f}/s: {results['pipe2']['rate'] / ideal * 100:.0f}%")
    print(f"(b) 2 s model vs ideal {ideal:.0f}/s: {results['worker2']['rate'] / ideal * 100:.0f}%")
    print(f"(c)/(s) 2 s model: {results['pipe2']['rate'] / results['seed2']['rate']:.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller message counts")
    asyncio.run(main(parser.parse_args().quick))
