"""5,000 runs through one warm engine leave no sessions behind and do not grow memory.

The replica lives for weeks, and ADK's in-memory session service never forgets on its own;
this is the test that the engine deletes what it creates. Memory is judged, after a warm-up
that fills every cache, by the number of objects the garbage collector tracks (a leak of one
object per run would show as thousands) and by the process RSS, never by timing.
"""

from __future__ import annotations

import asyncio
import gc
import resource
from typing import Any

import pytest

from agents.models import ScriptedModel
from tests.agents.conftest import make_request

TASKS = ("conversation", "appointment", "order", "search")
RUNS = 5_000
WARMUP = 1_000
BATCH = 50


async def _batch(engine: Any, start: int) -> None:
    requests = [
        make_request(
            TASKS[i % 4], f"message {i}", phone=f"+2567{i % 97:08d}", history=(("user", "hi"), ("assistant", "hello"))
        )
        for i in range(start, start + BATCH)
    ]
    results = await asyncio.gather(*(engine.run(request) for request in requests))
    assert all(result.tools_used for result in results)


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() // 1024


@pytest.mark.timeout(900)
async def test_given_one_engine_when_5000_runs_then_no_sessions_remain_and_memory_is_flat(engine_factory: Any) -> None:
    async with engine_factory(ScriptedModel()) as engine:
        for start in range(0, WARMUP, BATCH):
            await _batch(engine, start)
        gc.collect()
        objects_before = len(gc.get_objects())
        rss_before = _rss_kib()
        for start in range(WARMUP, RUNS, BATCH):
            await _batch(engine, start)
            assert engine.sessions.count() == 0
        gc.collect()
        objects_after = len(gc.get_objects())
        rss_after = _rss_kib()
        health = engine.health()
    assert health["runs"] == RUNS and health["failures"] == 0
    assert health["sessions"] == 0 and engine.sessions.buckets() == 0
    # 4,000 runs after warm-up: a leak of one tracked object per run would show as 4,000.
    assert objects_after - objects_before < 1_000, f"{objects_after - objects_before} more live objects"
    assert rss_after - rss_before < 40 * 1024, f"RSS grew by {rss_after - rss_before} KiB"
