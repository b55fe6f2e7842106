"""Load benchmark (not a test) of ``POST /webhook`` on loopback: latency p50/p99 and requests/s.

Runs the real service as a child process (``agentcluster webhook``, real RabbitMQ, SQLite by
default or ``--database-url``) so the load generator does not share its event loop, then
posts signed Wasender events from ``--concurrency`` concurrent clients. Each request is the
full intake path: signature check, parse, store contact + message, build context, publish
to ``ag_queue`` with a publisher confirm, answer 200. No agent consumes, so nothing is sent.
Bounded: ``--requests`` (default 1000) after a warm-up, and never longer than ``--max-seconds``.
Queue names are unique and deleted afterwards.

    .venv/bin/python -m bench.bench_webhook --requests 1000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

import httpx

from cluster.broker import connect, delete_topology
from cluster.settings import load_settings
from webhook.sandbox import inbound_event

SECRET = "bench-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_service(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cluster.cli", "webhook", env=env, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    if not line.startswith(b"webhook"):
        raise RuntimeError(f"webhook service did not start: {line!r}")
    return proc


async def _load(url: str, total: int, concurrency: int, max_seconds: float, contacts: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30.0) as http:

        async def worker() -> None:
            for n in counter:
                if time.monotonic() > deadline:
                    return
                phone = f"+2567{n % contacts:08d}"
                event = inbound_event(phone, f"Hello, is my order {n} ready?", name=f"Customer {n % contacts}")
                started = time.perf_counter()
                response = await http.post("/webhook", json=event, headers={"X-Webhook-Signature": SECRET})
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"POST /webhook answered {response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), to report CPU per request."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _pg_database(url: str, name: str, *, create: bool) -> str:
    """Create (or drop) a throwaway database next to ``url``; returns its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'{"CREATE" if create else "DROP"} DATABASE "{name}"'))
    await engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    pg_name = f"bench_webhook_{suffix}"
    database_url = await _pg_database(args.database_url, pg_name, create=True) if args.database_url else None
    tmp = tempfile.mkdtemp(prefix="bench-webhook-")
    port = _free_port()
    names = {
        "AGENT_QUEUE": f"bench.ag.{suffix}",
        "WEBHOOK_QUEUE": f"bench.wb.{suffix}",
        "DLX_AGENT": f"bench.dlxa.{suffix}",
        "DLX_WEBHOOK": f"bench.dlxw.{suffix}",
    }
    env = {
        **os.environ,
        **names,
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_METRICS_PORT": "0",
        "WEBHOOK_SECRET": SECRET,
        "WASENDER_API_KEY": "bench-key",
        "WEBHOOK_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/webhook.db",
        "LOG_LEVEL": "WARNING",
    }
    proc = await _start_service(env)
    try:
        url = f"http://127.0.0.1:{port}"
        await _load(url, args.warmup, args.concurrency, args.max_seconds, args.contacts)
        cpu_before = _cpu_seconds(proc.pid)
        latencies, elapsed = await _load(url, args.requests, args.concurrency, args.max_seconds, args.contacts)
        cpu = _cpu_seconds(proc.pid) - cpu_before
    finally:
        proc.terminate()
        await proc.wait()
        await _cleanup(names)
        if args.database_url:
            await _pg_database(args.database_url, pg_name, create=False)
    return {
        "requests": len(latencies),
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_pct(latencies, 0.50) * 1000, 2),
        "p99_ms": round(_pct(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "service_cpu_ms_per_request": round(cpu / len(latencies) * 1000, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "database": "postgresql" if args.database_url and "postgres" in args.database_url else "sqlite",
    }


async def _cleanup(names: dict[str, str]) -> None:
    settings = load_settings(**{key.lower(): value for key, value in names.items()})
    connection = await connect(settings, name="bench-cleanup")
    try:
        await delete_topology(connection, settings.topology())
    finally:
        await connection.close()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--contacts", type=int, default=200, help="distinct customers the events come from")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop each phase after this long")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to use instead of SQLite (a throwaway database is created and dropped there), "
        "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    return parser.parse_args()


if __name__ == "__main__":
    result = asyncio.run(main(_parse()))
    print(" ".join(f"{key}={value}" for key, value in result.items()))
