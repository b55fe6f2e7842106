"""CPU time of one agent engine run, with the offline model and the zero-latency scripted model.

The runtime sizes its pool from this figure: a replica's throughput is bounded by CPU
seconds per run once model latency is taken care of by concurrency. Each run is timed with
``time.process_time()`` (CPU of this process, all threads: aiosqlite's worker included), one
run at a time, after a warm-up; the table reports the median and the 90th percentile.

    python -m bench.bench_engine            # 300 runs per case
    python -m bench.bench_engine --runs 1000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from google.adk.models.base_llm import BaseLlm

from agents import AgentEngine
from agents.models import RuleBasedModel, ScriptedModel
from cluster.settings import load_settings
from contracts.models import AgentRequest

__all__ = ["main", "measure"]

CASES: list[tuple[str, str, str]] = [
    ("offline", "conversation", "What time do you open on Saturday?"),
    ("offline", "appointment", "Is there space for a haircut next Monday?"),
    ("offline", "order", "Where is my order ORD-1002?"),
    ("offline", "search", "What is your refund policy?"),
    ("scripted", "conversation", "hello"),
    ("scripted", "order", "my orders"),
]


def _request(task: str, text: str) -> AgentRequest:
    return AgentRequest.model_validate(
        {
            "messageId": str(uuid.uuid4()),
            "timestamp": int(time.time()),
            "taskType": task,
            "contact": {"remoteJid": "256703722777@s.whatsapp.net", "phoneNumber": "+256703722777", "name": "John"},
            "message": {"text": text, "messageId": "bench", "timestamp": int(time.time())},
            "context": {
                "conversationHistory": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
            },
        }
    )


async def measure(model: BaseLlm, task: str, text: str, runs: int, database: Path) -> list[float]:
    """CPU seconds of each of ``runs`` sequential runs (after 20 warm-up runs)."""
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{database}", log_format="text")
    engine = AgentEngine(settings, model)
    await engine.start()
    try:
        for _ in range(20):
            await engine.run(_request(task, text))
        samples = []
        for _ in range(runs):
            request = _request(task, text)
            start = time.process_time()
            await engine.run(request)
            samples.append(time.process_time() - start)
        return samples
    finally:
        await engine.stop()


async def _main(runs: int) -> None:
    print(f"{'model':<10} {'task':<13} {'median ms':>10} {'p90 ms':>8}  runs={runs}")
    with tempfile.TemporaryDirectory() as tmp:
        for index, (kind, task, text) in enumerate(CASES):
            model: BaseLlm = RuleBasedModel() if kind == "offline" else ScriptedModel()
            samples = sorted(await measure(model, task, text, runs, Path(tmp) / f"bench{index}.db"))
            median = statistics.median(samples) * 1000
            p90 = samples[int(len(samples) * 0.9) - 1] * 1000
            print(f"{kind:<10} {task:<13} {median:>10.2f} {p90:>8.2f}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="timed runs per case (default 300)")
    asyncio.run(_main(parser.parse_args().runs))


if __name__ == "__main__":
    main()
