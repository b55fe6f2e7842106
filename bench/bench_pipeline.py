"""Throughput and overhead of the pipeline, side by side with its baselines, in one run.

Rows (all against the local RabbitMQ, each on its own unique queues):

(a) relay      consume → publish with confirm → ack, no agent: the broker's ceiling here
(b) worker     one plain aio-pika process running the same AgentEngine, N in flight
(b2) processes two such processes on one queue: two engines, no dispatch, the ceiling on 2 cores
(c) pipeline   this project: Ingress → AgentPool (Ray Serve) → Publisher, with the default
               DISPATCH=direct and, for comparison, DISPATCH=serve (a Serve handle call per hop)
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

    .venv/bin/python -m bench.bench_pipeline            # full run (~8 minutes)
    .venv/bin/python -m bench.bench_pipeline --quick    # smaller counts
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from pydantic import SecretStr

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

    A closed loop starts with ``in_flight`` requests published in the same instant, a wave no
    steady load ever has; when ``count`` is at least three times ``in_flight`` the first
    ``in_flight`` replies are the start-up and are left out of every figure (rate and latency
    alike), for every row the same way.
    """
    connection = await connect(settings, name="bench-driver")
    channel = await connection.channel(publisher_confirms=False)
    replies = await channel.get_queue(settings.webhook_queue, ensure=False)
    sent_at: dict[str, float] = {}
    #: (arrival time, end-to-end latency, latency minus the agent run's own processingTime)
    samples: list[tuple[float, float, float]] = []
    done = asyncio.Event()
    window = asyncio.Semaphore(in_flight)

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        started = sent_at.pop(message.correlation_id or "", None)
        if started is not None:
            now = time.perf_counter()
            agent = json.loads(message.body).get("agentMetadata", {}).get("processingTime")
            samples.append((now, now - started, now - started - float(agent or 0.0)))
            window.release()
        await message.ack()
        if len(samples) >= count:
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
    await connection.close()
    skip = in_flight if rate is None and count >= 3 * in_flight else 0
    begin = samples[skip - 1][0] if skip else started
    steady = samples[skip:]
    latencies = sorted(sample[1] for sample in steady)
    dispatch = sorted(sample[2] for sample in steady)
    return {
        "rate": len(steady) / (steady[-1][0] - begin),
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "dispatch_p50": statistics.median(dispatch),
        "dispatch_p99": dispatch[min(len(dispatch) - 1, int(len(dispatch) * 0.99))],
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


def _process_worker(values: dict[str, Any], prefetch: int, ready: Any) -> None:
    """Entry point of one engine process of the (b2) row (secrets come from its environment)."""
    settings = load_settings(**values)

    async def serve() -> None:
        from agents.engine import AgentEngine

        engine = AgentEngine(settings)
        await engine.start()
        await _worker(settings, prefetch, engine)
        ready.set()
        await asyncio.Event().wait()  # until killed

    asyncio.run(serve())


def _plain_values(settings: Settings) -> dict[str, Any]:
    """The settings without their secrets, which a dump would mask: a child reads those itself."""
    return {name: value for name, value in settings.model_dump().items() if not isinstance(value, SecretStr)}


async def _run_processes(model: str, processes: int, count: int, in_flight: int) -> dict[str, float]:
    """(b2): ``processes`` plain aio-pika engine processes on one queue, no dispatch at all."""
    context = multiprocessing.get_context("spawn")
    settings = _settings(model)
    setup = await connect(settings, name="bench-setup")
    await declare_topology(setup, settings.topology())
    workers = []
    try:
        for _ in range(processes):
            ready = context.Event()
            worker = context.Process(
                target=_process_worker, args=(_plain_values(settings), in_flight // processes, ready), daemon=True
            )
            worker.start()
            workers.append(worker)
            await asyncio.to_thread(ready.wait, 120)
        await _drive(settings, min(count, 100), in_flight)
        return await _drive(settings, count, in_flight)
    finally:
        for worker in workers:
            worker.kill()
        await _cleanup(setup, settings)


async def _run_pipeline(
    model: str, count: int, in_flight: int, concurrent: int, rate: float | None = None, dispatch: str = "direct"
) -> dict[str, float]:
    from cluster import runtime

    settings = _settings(
        model,
        pool_min_replicas=2,
        pool_max_replicas=2,
        concurrent_tasks=concurrent,
        pool_replica_cpus=0.5,
        dispatch=dispatch,
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

    n = 600 if quick else 1500
    n_slow = 512 if quick else 1024
    await asyncio.to_thread(runtime.init_ray, None, num_cpus=4, dashboard=False)
    ideal = 128 / MODEL_SECONDS
    runs: list[tuple[str, str, float, Callable[[], Awaitable[dict[str, float]]]]] = [
        ("relay", "(a) relay, no agent", 0.0, lambda: _run_plain("scripted", 64, n * 2, 64, with_engine=False)),
        (
            "seed0",
            "(s) seed prefetch-1, zero-latency model",
            0.0,
            lambda: _run_plain("scripted", 1, n // 3, 1, with_engine=True),
        ),
        (
            "worker0",
            "(b) one aio-pika process, zero-latency model, 64 in flight",
            0.0,
            lambda: _run_plain("scripted", 64, n, 64, with_engine=True),
        ),
        (
            "procs0",
            "(b2) two aio-pika processes, no dispatch, zero-latency model, 64 in flight",
            0.0,
            lambda: _run_processes("scripted", 2, n, 64),
        ),
        ("pipe0", "(c) pipeline, zero-latency model, 64 in flight", 0.0, lambda: _run_pipeline("scripted", n, 64, 32)),
        (
            "serve0",
            "(c) with DISPATCH=serve, zero-latency model, 64 in flight",
            0.0,
            lambda: _run_pipeline("scripted", n, 64, 32, dispatch="serve"),
        ),
        (
            "seed2",
            "(s) seed prefetch-1, 2 s model",
            MODEL_SECONDS,
            lambda: _run_plain(LATENCY_MODEL, 1, 5, 1, with_engine=True),
        ),
        (
            "worker2",
            "(b) one aio-pika process, 2 s model, 128 in flight",
            MODEL_SECONDS,
            lambda: _run_plain(LATENCY_MODEL, 128, n_slow, 128, with_engine=True),
        ),
        (
            "pipe2",
            "(c) pipeline, 2 s model, 128 in flight",
            MODEL_SECONDS,
            lambda: _run_pipeline(LATENCY_MODEL, n_slow, 128, 64),
        ),
        (
            "serve2",
            "(c) with DISPATCH=serve, 2 s model, 128 in flight",
            MODEL_SECONDS,
            lambda: _run_pipeline(LATENCY_MODEL, n_slow, 128, 64, dispatch="serve"),
        ),
        (
            "pipe2paced",
            "(c) pipeline, 2 s model, half load (32 arrivals/s)",
            MODEL_SECONDS,
            lambda: _run_pipeline(LATENCY_MODEL, n_slow // 2, 128, 64, rate=ideal / 2),
        ),
        (
            "pipe2half",
            "(c) pipeline, 2 s model, 64 in flight (closed loop)",
            MODEL_SECONDS,
            lambda: _run_pipeline(LATENCY_MODEL, n_slow // 2, 64, 64),
        ),
        (
            "pipe2one",
            "(c) pipeline, 2 s model, one at a time",
            MODEL_SECONDS,
            lambda: _run_pipeline(LATENCY_MODEL, 10, 1, 64),
        ),
    ]
    results: dict[str, dict[str, float]] = {}
    for position, (key, label, _, run) in enumerate(runs, start=1):
        print(f"[{position}/{len(runs)}] {label}", flush=True)
        results[key] = await run()

    print()
    print("| row | messages/s | beyond model p50 ms | beyond model p99 ms | beyond agent run p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for key, label, model_time, _ in runs:
        print(_row(label, results[key], model_time))
    print()

    def rate(key: str) -> float:
        return results[key]["rate"]

    print(f"(c)/(b) zero-latency: {rate('pipe0') / rate('worker0'):.2f}x")
    print(f"(c)/(b2) zero-latency, against two engines with no dispatch: {rate('pipe0') / rate('procs0'):.2f}x")
    print(f"(c)/(b) zero-latency with DISPATCH=serve: {rate('serve0') / rate('worker0'):.2f}x")
    print(f"(c) direct / serve dispatch, zero-latency: {rate('pipe0') / rate('serve0'):.2f}x")
    print(f"(c)/(s) zero-latency: {rate('pipe0') / rate('seed0'):.1f}x")
    print(f"(c) 2 s model vs ideal {ideal:.0f}/s: {rate('pipe2') / ideal * 100:.0f}%")
    print(f"(c) 2 s model with DISPATCH=serve vs ideal: {rate('serve2') / ideal * 100:.0f}%")
    print(f"(b) 2 s model vs ideal {ideal:.0f}/s: {rate('worker2') / ideal * 100:.0f}%")
    print(f"(c)/(s) 2 s model: {rate('pipe2') / rate('seed2'):.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller message counts")
    asyncio.run(main(parser.parse_args().quick))
