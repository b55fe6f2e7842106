"""The ingress's ports over attached workers (``DISPATCH=direct``, the default).

:class:`DirectPool` is the :class:`~ingress.ports.PoolPort` over the pool replicas attached to
the :class:`~ingress.dispatch.DispatchServer`: each run goes to the replica with the most free
slots, and never more than a replica's ``CONCURRENT_TASKS`` at once; with every slot taken the
caller waits, as it would in a Serve handle's queue. :class:`DirectPublisher` is the
:class:`~ingress.ports.PublisherPort` over the one publisher.

Serve's autoscaler cannot see these runs (they are not Serve requests), so the pool reports its
own load (``record_autoscaling_stats``) and ``cluster.autoscaling.pool_policy`` sizes it: each
replica counts its running jobs plus its share of the jobs waiting here, which this port sends
it every ``load_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from actors.pool import PoolResult
from contracts.dispatch import ERROR, RESULT, Frame, decode_error, join_parts
from contracts.errors import PublishError, ReplicaLostError
from ingress.dispatch import WorkerLink

__all__ = ["DirectPool", "DirectPublisher"]


@dataclass
class _Job:
    body: bytes
    future: asyncio.Future[Frame]
    link: WorkerLink | None = None
    job_id: int = 0


class DirectPool:
    """Runs request bodies on attached pool replicas; ``start()`` begins the load reports.

    Runs are handed out in one place, :meth:`_pump`, in arrival order: whenever a slot may have
    freed (a result, a replica attached, a run cancelled) the oldest waiting run goes to the
    replica with the most free slots.
    """

    def __init__(self, *, load_interval: float = 1.0) -> None:
        self._links: list[WorkerLink] = []
        self._queue: deque[_Job] = deque()
        self._load_interval = load_interval
        self._reporter: asyncio.Task[None] | None = None

    # --- LinkRegistry

    def attach(self, link: WorkerLink) -> None:
        """A pool replica attached: its slots are free now."""
        self._links.append(link)
        self._pump()

    def detach(self, link: WorkerLink) -> None:
        """A pool replica's connection ended (its jobs already failed as lost)."""
        if link in self._links:
            self._links.remove(link)

    @property
    def attached(self) -> int:
        """Pool replicas attached now."""
        return len(self._links)

    # --- PoolPort

    async def run(self, body: bytes) -> PoolResult:
        """Run one body on the least busy replica; raises the replica's error, or ReplicaLostError."""
        job = _Job(body, asyncio.get_running_loop().create_future())
        job.future.add_done_callback(self._freed)
        self._queue.append(job)
        self._pump()
        try:
            frame = await job.future
        except asyncio.CancelledError:
            if job.link is None:
                with contextlib.suppress(ValueError):  # _pump may have dropped it already
                    self._queue.remove(job)
            else:
                job.link.cancel(job.job_id)
                self._pump()
            raise
        if frame.kind == RESULT:
            return PoolResult.from_bytes(frame.payload)
        if frame.kind == ERROR:
            raise decode_error(frame.payload)
        raise ReplicaLostError(f"unexpected frame {frame.kind!r} from a pool replica")

    def _freed(self, _future: asyncio.Future[Frame]) -> None:
        self._pump()

    def _pump(self) -> None:
        while self._queue:
            link = max(self._links, key=lambda candidate: candidate.free, default=None)
            if link is None or link.free <= 0:
                return
            job = self._queue.popleft()
            if job.future.done():
                continue
            job.link = link
            job.job_id, _ = link.submit(job.body, job.future)

    # --- load reports and status

    def start(self) -> None:
        """Begin telling replicas the backlog (their autoscaling input)."""
        if self._reporter is None:
            self._reporter = asyncio.create_task(self._report_load())

    async def stop(self) -> None:
        """Stop the load reports."""
        if self._reporter is not None:
            self._reporter.cancel()
            await asyncio.gather(self._reporter, return_exceptions=True)
            self._reporter = None

    async def _report_load(self) -> None:
        while True:
            await asyncio.sleep(self._load_interval)
            links = [link for link in self._links if not link.draining]
            share = len(self._queue) / len(links) if links else 0.0
            for link in links:
                link.send_load(share)

    def status(self) -> dict[str, Any]:
        """Attached replicas, their load, and the runs waiting for a slot."""
        return {
            "replicas": [link.describe() for link in self._links],
            "free_slots": sum(link.free for link in self._links),
            "waiting_for_slot": len(self._queue),
        }


class DirectPublisher:
    """Publishes through the attached publisher; each call returns after the broker's confirm.

    ``attach_wait`` is how long a publish waits for a publisher to (re)attach before failing
    with :class:`~contracts.errors.PublishError` (the ingress then retries, then requeues).
    """

    def __init__(self, *, timeout: float = 30.0, attach_wait: float = 5.0) -> None:
        self._links: list[WorkerLink] = []
        self._attached = asyncio.Event()
        self._timeout = timeout
        self._attach_wait = attach_wait

    def attach(self, link: WorkerLink) -> None:
        """The publisher attached (a restarted one replaces the old)."""
        self._links.append(link)
        self._attached.set()

    def detach(self, link: WorkerLink) -> None:
        """The publisher's connection ended."""
        if link in self._links:
            self._links.remove(link)
        if not self._links:
            self._attached.clear()

    @property
    def attached(self) -> bool:
        """Whether a publisher is attached now."""
        return bool(self._links)

    async def publish_reply(self, body: bytes, reply_id: str, correlation_id: str) -> None:
        """See :meth:`actors.publisher.ReplyPublisher.publish_reply`."""
        await self._call({"op": "reply", "reply_id": reply_id, "correlation_id": correlation_id}, body)

    async def publish_retry(self, body: bytes, message_id: str, retry_count: int) -> str:
        """See :meth:`actors.publisher.ReplyPublisher.publish_retry`; returns the wait queue."""
        queue = await self._call({"op": "retry", "message_id": message_id, "retry_count": retry_count}, body)
        return queue.decode()

    async def publish_dead_letter(self, body: bytes, message_id: str | None, reason: str, code: str) -> None:
        """See :meth:`actors.publisher.ReplyPublisher.publish_dead_letter`."""
        await self._call({"op": "dead", "message_id": message_id, "reason": reason, "code": code}, body)

    async def _call(self, header: dict[str, Any], body: bytes) -> bytes:
        if not self._links:
            try:
                await asyncio.wait_for(self._attached.wait(), self._attach_wait)
            except TimeoutError:
                raise PublishError("the publisher is not attached to the ingress") from None
        link = self._links[-1]
        try:
            job_id, future = link.submit(join_parts(header, body))
        except ReplicaLostError as exc:
            raise PublishError(str(exc)) from None
        try:
            frame = await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            link.cancel(job_id)
            raise PublishError(f"the publisher did not answer within {self._timeout}s") from None
        except ReplicaLostError as exc:
            raise PublishError(f"publish outcome unknown: {exc}") from None
        if frame.kind == ERROR:
            raise decode_error(frame.payload)
        return frame.payload
