"""One agent pool replica: a warm :class:`~agents.engine.AgentEngine` and nothing else.

The replica receives the raw ``ag_queue`` body (already validated by the ingress, decoded
again here because bytes are cheaper to ship between processes than a model object), runs
the agent and returns a :class:`PoolResult` holding the encoded reply. It never publishes:
agents return results, only the publisher publishes.

Errors leave as the project's own picklable errors, so the ingress can tell a retryable
failure (model 429/5xx/timeout) from a permanent one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cluster.settings import Settings
from contracts.codec import decode_request, encode, reply_id, success_reply
from contracts.dispatch import join_parts, split_parts
from contracts.errors import AgentClusterError, AgentFailedError, AgentTimeoutError
from contracts.models import ReplyStatus

__all__ = ["AgentPoolReplica", "PoolResult"]

log = logging.getLogger(__name__)


def _node_id() -> str | None:
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # outside Ray (unit tests)
        return None


@dataclass(frozen=True)
class PoolResult:
    """What one run hands back to the ingress: the reply and what metrics need."""

    reply: bytes
    reply_id: str
    status: str
    task_type: str
    tools_used: tuple[str, ...]
    tokens_used: int
    processing_time: float

    def to_bytes(self) -> bytes:
        """As a RESULT payload on the ingress stream: a JSON header, then the reply itself."""
        header = {name: getattr(self, name) for name in _RESULT_FIELDS}
        return join_parts(header, self.reply)

    @classmethod
    def from_bytes(cls, payload: bytes) -> PoolResult:
        """The inverse of :meth:`to_bytes`."""
        header, reply = split_parts(payload)
        return cls(
            reply=reply,
            reply_id=str(header["reply_id"]),
            status=str(header["status"]),
            task_type=str(header["task_type"]),
            tools_used=tuple(str(tool) for tool in header["tools_used"]),
            tokens_used=int(header["tokens_used"]),
            processing_time=float(header["processing_time"]),
        )


_RESULT_FIELDS = ("reply_id", "status", "task_type", "tools_used", "tokens_used", "processing_time")


class AgentPoolReplica:
    """Holds one warm engine; ``start()`` builds it, ``run()`` uses it.

    ``engine_factory(settings)`` replaces the real :class:`~agents.engine.AgentEngine` (tests
    and benchmarks); ``probe`` is the name of a Ray actor told when a contact's run begins
    and ends, so tests can assert per-contact single flight from inside the pool.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: Callable[[Settings], Any] | None = None,
        probe: str | None = None,
    ) -> None:
        self._settings = settings
        self._limits = settings.decode_limits()
        self._engine_factory = engine_factory
        self._probe_name = probe
        self._probe: Any = None
        self._engine: Any = None
        self.runs = 0
        self.running = 0

    async def start(self) -> None:
        """Build the engine: agents, runners, DB pool, HTTP client, knowledge index."""
        if self._engine_factory is not None:
            self._engine = self._engine_factory(self._settings)
        else:
            from agents.engine import AgentEngine

            self._engine = AgentEngine(self._settings)
        await self._engine.start()
        # The warm state (agents, runners, pools, indexes, imported modules) lives as long as the
        # replica: move it out of the collector's generations so the full collections that a busy
        # replica triggers stop rescanning it (measured: about 5 % less CPU per run, bench_engine).
        gc.freeze()
        if self._probe_name:
            import ray

            self._probe = ray.get_actor(self._probe_name)

    async def stop(self) -> None:
        """Release the engine's connections."""
        if self._engine is not None:
            await self._engine.stop()
            self._engine = None

    def health(self) -> dict[str, object]:
        """The engine's health plus this replica's counters."""
        engine = self._engine.health() if self._engine is not None else {"started": False}
        return {**engine, "runs": self.runs, "running": self.running, "pid": os.getpid(), "node_id": _node_id()}

    async def run(self, body: bytes) -> PoolResult:
        """Run the agent for one request body and return the encoded reply."""
        if self._engine is None:
            raise RuntimeError("AgentPoolReplica.start() was not called")
        request = decode_request(body, self._limits)
        jid = request.contact.remote_jid
        self.running += 1
        if self._probe is not None:
            await self._probe.begin.remote(jid, request.message_id)
        try:
            result = await self._engine.run(request)
        except AgentClusterError:
            raise
        except TimeoutError:
            raise AgentTimeoutError(f"agent run exceeded {self._settings.max_processing_time}s") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an engine bug must not look like a dead replica
            log.exception("agent run failed unexpectedly", extra={"message_id": request.message_id})
            raise AgentFailedError(f"{type(exc).__name__}: {exc}") from None
        finally:
            self.running -= 1
            self.runs += 1
            if self._probe is not None:
                await self._probe.end.remote(jid, request.message_id)
        reply = success_reply(request, result.text, result.metadata(), partial=result.status is ReplyStatus.PARTIAL)
        return PoolResult(
            reply=encode(reply),
            reply_id=reply_id(request.message_id),
            status=reply.status.value,
            task_type=request.task_type.value,
            tools_used=tuple(result.tools_used),
            tokens_used=int(result.tokens_used),
            processing_time=float(result.processing_time),
        )

    async def run_encoded(self, body: bytes) -> bytes:
        """:meth:`run` for the ingress stream: the result as a RESULT payload."""
        return (await self.run(body)).to_bytes()
