"""What one hop between two cluster processes costs: the reason for ``DISPATCH=direct``.

A message makes two hops inside the cluster (ingress → pool replica → ingress, ingress →
publisher → ingress). This measures one such hop, a 1.5 KB body out and back, four ways,
side by side in one run:

serve    a Ray Serve handle call from one replica to another (``DISPATCH=serve``)
actor    a plain Ray actor method call between two actor processes
grpc     a round trip on an open gRPC bidirectional stream between two actor processes, many
         calls in flight per stream, one gRPC message per call
direct   this project's wire: DispatchServer ↔ IngressLink, many jobs in flight per connection,
         a writer sending every frame that waits in one write (``DISPATCH=direct``)

For each: CPU per call summed over every process on the machine (``/proc/stat``, so Ray's own
processes count), with 64 calls in flight; and the round-trip latency of calls made one at a
time with a 3 ms pause between them (the idle case).

    .venv/bin/python -m bench.bench_dispatch            # about 2 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ray
from ray import serve

BODY = b"x" * 1500
TOKEN = "bench"


def _busy_seconds() -> float:
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


async def _measure(call: Callable[[], Awaitable[Any]], calls: int, idle_calls: int) -> dict[str, float]:
    """CPU per call at 64 in flight, then idle round trips; runs inside the calling process."""
    window = asyncio.Semaphore(64)

    async def one() -> None:
        async with window:
            await call()

    await asyncio.gather(*(one() for _ in range(200)))  # warm-up
    busy, started = _busy_seconds(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    elapsed = time.perf_counter() - started
    cpu = _busy_seconds() - busy
    latencies = []
    for _ in range(idle_calls):
        await asyncio.sleep(0.003)
        begin = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - begin)
    latencies.sort()
    return {
        "rate": calls / elapsed,
        "cpu_ms": cpu / calls * 1000,
        "idle_p50_ms": statistics.median(latencies) * 1000,
        "idle_p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


# --- serve: replica to replica through a handle -------------------------------------------------


@serve.deployment(num_replicas=2, max_ongoing_requests=100, ray_actor_options={"num_cpus": 0.5})
class ServeEcho:
    async def run(self, body: bytes) -> bytes:
        return body


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class ServeCaller:
    def __init__(self, echo: Any) -> None:
        self._echo = echo

    async def measure(self, calls: int, idle_calls: int) -> dict[str, float]:
        return await _measure(lambda: self._echo.run.remote(BODY), calls, idle_calls)


# --- actor, grpc, direct: between plain actor processes ----------------------------------------


@ray.remote(num_cpus=0.5)
class Echo:
    """The far end: answers actor calls, a gRPC stream, and jobs from the direct dispatcher."""

    def __init__(self) -> None:
        self._link: Any = None
        self._grpc: Any = None

    async def run(self, body: bytes) -> bytes:
        return body

    async def attach(self, address: str, name: str) -> None:
        from actors.link import IngressLink
        from contracts.dispatch import Hello

        async def handler(body: bytes) -> bytes:
            return body

        async def locate() -> str:
            return address

        hello = Hello(role="pool", token=TOKEN, replica_id=name, node_id="", pid=os.getpid(), capacity=64)
        self._link = IngressLink(hello, handler, locate)
        await self._link.start()
        await asyncio.wait_for(self._link.connected.wait(), 30)

    async def serve_grpc(self) -> int:
        import grpc

        async def echo(_requests: Any, context: Any) -> None:
            while True:
                message = await context.read()
                if message is grpc.aio.EOF:
                    return
                await context.write(message)

        self._grpc = grpc.aio.server()
        handler = grpc.stream_stream_rpc_method_handler(echo)
        self._grpc.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", {"Run": handler}),))
        port = self._grpc.add_insecure_port("127.0.0.1:0")
        await self._grpc.start()
        return int(port)


@ray.remote(num_cpus=0.1)
class Caller:
    async def actor(self, echoes: list[Any], calls: int, idle_calls: int) -> dict[str, float]:
        turn = iter(range(10**9))
        return await _measure(lambda: echoes[next(turn) % len(echoes)].run.remote(BODY), calls, idle_calls)

    async def grpc(self, ports: list[int], calls: int, idle_calls: int) -> dict[str, float]:
        import grpc

        # Pipelined like the direct wire: many calls in flight per stream, one writer per stream
        # (gRPC allows one outstanding write), replies matched to calls by an 8-byte id.
        pending: dict[int, asyncio.Future[bytes]] = {}
        queues: list[asyncio.Queue[bytes]] = []

        async def write(stream: Any, queue: asyncio.Queue[bytes]) -> None:
            while True:
                await stream.write(await queue.get())

        async def read(stream: Any) -> None:
            while True:
                message = await stream.read()
                if message is grpc.aio.EOF:
                    return
                pending.pop(int.from_bytes(message[:8], "big")).set_result(message)

        tasks = []
        for port in ports:
            stream = grpc.aio.insecure_channel(f"127.0.0.1:{port}").stream_stream("/bench.Echo/Run")()
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            queues.append(queue)
            tasks += [asyncio.create_task(write(stream, queue)), asyncio.create_task(read(stream))]
        ids = iter(range(1, 10**12))

        async def call() -> None:
            call_id = next(ids)
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            pending[call_id] = future
            queues[call_id % len(queues)].put_nowait(call_id.to_bytes(8, "big") + BODY)
            await future

        try:
            return await _measure(call, calls, idle_calls)
        finally:
            for task in tasks:
                task.cancel()

    async def direct(self, echoes: list[Any], calls: int, idle_calls: int) -> dict[str, float]:
        from ingress.direct import DirectPool
        from ingress.dispatch import DispatchServer

        pool = DirectPool()

        class Nothing:
            def attach(self, link: Any) -> None: ...
            def detach(self, link: Any) -> None: ...

        server = DispatchServer(TOKEN, {"pool": pool, "publisher": Nothing()}, host="127.0.0.1")
        address = await server.start()
        await asyncio.gather(*(echo.attach.remote(address, f"echo-{i}") for i, echo in enumerate(echoes)))
        links = pool._links

        async def call() -> None:
            link = max(links, key=lambda candidate: candidate.free)
            _, future = link.submit(BODY)
            await future

        try:
            return await _measure(call, calls, idle_calls)
        finally:
            await server.stop()


def main(calls: int, idle_calls: int) -> None:
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    results: dict[str, dict[str, float]] = {}
    print("[1/4] serve: Serve handle call, replica to replica", flush=True)
    serve.start(proxy_location="Disabled")
    handle = serve.run(ServeCaller.bind(ServeEcho.bind()), name="bench-dispatch", route_prefix=None)
    results["serve"] = handle.measure.remote(calls, idle_calls).result(timeout_s=600)
    serve.delete("bench-dispatch")
    echoes = [Echo.options(max_concurrency=1000).remote() for _ in range(2)]  # type: ignore[attr-defined]
    caller = Caller.options(max_concurrency=1000).remote()  # type: ignore[attr-defined]
    print("[2/4] actor: plain Ray actor call", flush=True)
    results["actor"] = ray.get(caller.actor.remote(echoes, calls, idle_calls))
    print("[3/4] grpc: open gRPC stream", flush=True)
    ports = ray.get([echo.serve_grpc.remote() for echo in echoes])
    results["grpc"] = ray.get(caller.grpc.remote(ports, calls, idle_calls))
    print("[4/4] direct: DirectPool over DispatchServer/IngressLink", flush=True)
    results["direct"] = ray.get(caller.direct.remote(echoes, calls, idle_calls))
    ray.shutdown()

    print()
    print("| hop | calls/s at 64 in flight | CPU per call, all processes | idle round trip p50 | p99 |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        cells = [f"{r['rate']:.0f}"] + [f"{r[key]:.2f} ms" for key in ("cpu_ms", "idle_p50_ms", "idle_p99_ms")]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for name in ("serve", "actor", "grpc"):
        ratio = results[name]["cpu_ms"] / results["direct"]["cpu_ms"]
        print(f"CPU per hop, {name} / direct: {ratio:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="calls at 64 in flight per row")
    parser.add_argument("--idle-calls", type=int, default=300, help="one-at-a-time calls per row")
    args = parser.parse_args()
    main(args.calls, args.idle_calls)
