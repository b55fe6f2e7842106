"""Run the app on a head and two worker nodes (``ray.cluster_utils.Cluster``), remove a worker
mid-stream, and print a JSON report. Started in a subprocess by ``test_multinode.py`` so that
its Ray cluster does not collide with the session's shared local Ray.

Settings come from the environment (unique queue names set by the test).
"""

from __future__ import annotations

import asyncio
import json
import time

import aio_pika
import ray
from ray import serve
from ray.cluster_utils import Cluster

from cluster import runtime
from cluster.settings import load_settings
from tests.runtime.conftest import make_request


async def _traffic(settings, count: int, remove) -> dict[str, object]:  # type: ignore[no-untyped-def]
    connection = await aio_pika.connect_robust(settings.amqp_url())
    channel = await connection.channel()
    requests = [make_request(f"multi {i} #sleep=0.05", i % 12) for i in range(count)]
    for i, request in enumerate(requests):
        await channel.default_exchange.publish(
            aio_pika.Message(json.dumps(request).encode(), delivery_mode=2), settings.agent_queue
        )
        if i == count // 3:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(remove)
    queue = await channel.get_queue(settings.webhook_queue, ensure=False)
    answered: dict[str, set[str]] = {}
    deadline = time.monotonic() + 240
    while len(answered) < count and time.monotonic() < deadline:
        message = await queue.get(fail=False, no_ack=True)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        reply = json.loads(message.body)
        answered.setdefault(reply["originalMessageId"], set()).add(reply["messageId"])
    await connection.close()
    return {
        "sent": sorted(r["messageId"] for r in requests),
        "answered": sorted(answered),
        "ids_per_request": max((len(v) for v in answered.values()), default=0),
    }


def main() -> None:
    settings = load_settings()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="WARNING", log_to_driver=True)
    runtime.deploy(settings)
    runtime.wait_until_consuming(240)
    pool = serve.get_deployment_handle("AgentPool", app_name="agentcluster")
    nodes = {pool.health.remote().result()["node_id"] for _ in range(20)}
    report = asyncio.run(_traffic(settings, 60, lambda: cluster.remove_node(workers[0])))
    report["replica_nodes"] = sorted(nodes)
    report["head_node"] = cluster.head_node.node_id
    report["worker_nodes"] = [w.node_id for w in workers]
    runtime.shutdown_app(2.0)
    serve.shutdown()
    ray.shutdown()
    cluster.shutdown()
    print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    main()
