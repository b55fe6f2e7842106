"""Scale across nodes: ``ray.cluster_utils.Cluster`` with a head and two workers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from cluster.broker import delete_topology
from cluster.settings import Settings
from tests.conftest import require_service, unique_settings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.ray]


def test_given_three_nodes_then_replicas_spread_and_removing_a_worker_loses_nothing(tmp_path: Path) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    settings = unique_settings(tmp_path)
    env = {
        **os.environ,
        "AGENT_QUEUE": settings.agent_queue,
        "WEBHOOK_QUEUE": settings.webhook_queue,
        "DLX_AGENT": settings.dlx_agent,
        "DLX_WEBHOOK": settings.dlx_webhook,
        "RETRY_DELAY": "0.2",
        "MODEL": "chaos:scripted",
        "POOL_MIN_REPLICAS": "2",
        "POOL_MAX_REPLICAS": "2",
        "POOL_REPLICA_CPUS": "0.6",
        "CONCURRENT_TASKS": "4",
        "METRICS_PORT": "0",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'business.db'}",
        "LOG_FORMAT": "text",
    }
    root = Path(__file__).resolve().parents[2]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.runtime.multinode"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        asyncio.run(_delete_topology(settings))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    report = json.loads(lines[-1].removeprefix("REPORT "))

    assert len(report["replica_nodes"]) == 2, "two pool replicas on two different nodes"
    assert set(report["replica_nodes"]) <= set(report["worker_nodes"]) | {report["head_node"]}
    assert report["answered"] == report["sent"], "a request was lost when a worker node was removed"
    assert report["ids_per_request"] == 1


async def _delete_topology(settings: Settings) -> None:
    """The cluster in the subprocess declared these queues; leave the broker as it was."""
    connection = await aio_pika.connect_robust(settings.amqp_url())
    try:
        await delete_topology(connection, settings.topology())
    finally:
        await connection.close()
