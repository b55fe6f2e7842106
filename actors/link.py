"""A worker's end of the internal wire: attach to the ingress, run its jobs, send their outcomes.

Pool replicas and the publisher each hold one :class:`IngressLink`. It finds the ingress
(``locate``, a Serve handle call in the cluster), connects, says hello, and then runs every JOB
frame as a task of ``handler(payload) -> bytes``, answering RESULT or ERROR. When the
connection breaks (the ingress restarted, a network blip) the running jobs are cancelled, since
the ingress has already failed them as lost and retries them, and the link dials again with
backoff. ``drain()`` is the graceful end: DRAINING, let running jobs answer, close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from contracts.dispatch import (
    CANCEL,
    DRAINING,
    ERROR,
    JOB,
    LOAD,
    RESULT,
    Frame,
    Hello,
    close_on_failure,
    decode_error,
    encode_error,
    encode_frame,
    read_frame,
    send_forever,
    tune_socket,
)

__all__ = ["IngressLink", "RefusedError"]

log = logging.getLogger("agentcluster.dispatch")

Handler = Callable[[bytes], Awaitable[bytes]]


@dataclass
class _Session:
    """One attachment. Jobs answer into their own session only: job ids restart with every
    attachment, so an outcome must never reach the connection of a later one."""

    writer: asyncio.StreamWriter
    outbox: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    jobs: dict[int, asyncio.Task[None]] = field(default_factory=dict)


class RefusedError(ConnectionError):
    """Raised when the ingress refused this worker (it says why)."""


class IngressLink:
    """Keeps one worker attached to the ingress; ``start()``, ``drain()``."""

    def __init__(
        self,
        hello: Hello,
        handler: Handler,
        locate: Callable[[], Awaitable[str]],
        *,
        redial_max: float = 5.0,
    ) -> None:
        self._hello = hello
        self._handler = handler
        self._locate = locate
        self._redial_max = redial_max
        self._session: _Session | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.connected = asyncio.Event()
        #: Jobs waiting for a slot at the ingress, per pool replica (from LOAD frames).
        self.backlog = 0.0

    @property
    def running(self) -> int:
        """Jobs running now."""
        return len(self._session.jobs) if self._session else 0

    async def start(self) -> None:
        """Begin dialing in the background (returns at once; the ingress may not be up yet)."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep_attached())

    async def drain(self, timeout: float) -> None:
        """Ask for no more jobs, let the running ones answer (at most ``timeout`` s), detach."""
        self._stopping = True
        session = self._session
        if session is not None:
            session.outbox.put_nowait(encode_frame(DRAINING))
            deadline = asyncio.get_running_loop().time() + timeout
            # Loop: a job sent before the ingress read DRAINING may still arrive and start.
            while session.jobs and (left := deadline - asyncio.get_running_loop().time()) > 0:
                await asyncio.wait(list(session.jobs.values()), timeout=left)
            try:
                await asyncio.wait_for(session.outbox.join(), 5.0)
            except TimeoutError:
                log.warning("drain: outcomes not sent within 5 s", extra={"replica": self._hello.replica_id})
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _keep_attached(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                address = await asyncio.wait_for(self._locate(), 30.0)
                await self._attach(address)
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info(
                    "not attached to the ingress (%s: %s); dialing again in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                    extra={"replica": self._hello.replica_id},
                )
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._redial_max)

    async def _attach(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        tune_socket(writer)
        session = _Session(writer)
        writer.write(self._hello.encode())
        sender = asyncio.create_task(send_forever(session.outbox, writer))
        sender.add_done_callback(lambda task: close_on_failure(task, writer))
        self._session = session
        self.connected.set()
        log.info("attached to the ingress", extra={"address": address, "role": self._hello.role})
        try:
            while True:
                try:
                    frame = await read_frame(reader)
                except asyncio.IncompleteReadError:
                    return
                if frame.kind == ERROR and frame.job_id == 0:
                    raise RefusedError(decode_error(frame.payload).reason)
                self._receive(session, frame)
        finally:
            self.connected.clear()
            self._session = None
            self.backlog = 0.0
            sender.cancel()
            for job in list(session.jobs.values()):  # failed as lost at the ingress, which retries them
                job.cancel()
            writer.close()

    def _receive(self, session: _Session, frame: Frame) -> None:
        if frame.kind == JOB:
            session.jobs[frame.job_id] = asyncio.create_task(self._run(session, frame.job_id, frame.payload))
        elif frame.kind == CANCEL:
            job = session.jobs.get(frame.job_id)
            if job is not None:
                job.cancel()
        elif frame.kind == LOAD:
            self.backlog = float(frame.payload)

    async def _run(self, session: _Session, job_id: int, payload: bytes) -> None:
        try:
            frame = encode_frame(RESULT, job_id, await self._handler(payload))
        except asyncio.CancelledError:
            session.jobs.pop(job_id, None)
            raise
        except Exception as exc:
            frame = encode_frame(ERROR, job_id, encode_error(exc))
        session.outbox.put_nowait(frame)
        session.jobs.pop(job_id, None)
