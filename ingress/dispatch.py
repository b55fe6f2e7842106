"""The ingress's end of the internal wire: a TCP server that workers attach to.

Each pool replica and the publisher open one connection (``contracts/dispatch.py`` describes the
frames). :class:`DispatchServer` checks the hello, wraps the connection in a :class:`WorkerLink`
and hands it to the registry of its role (:class:`~ingress.direct.DirectPool` or
:class:`~ingress.direct.DirectPublisher`); when the connection ends, for whatever reason, the
link fails its outstanding jobs with :class:`~contracts.errors.ReplicaLostError` and leaves the
registry. A refused worker gets one ERROR frame that says why, then the connection closes.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
from collections.abc import Mapping
from typing import Protocol

from contracts.dispatch import (
    CANCEL,
    DRAINING,
    ERROR,
    JOB,
    LOAD,
    Frame,
    Hello,
    close_on_failure,
    encode_error,
    encode_frame,
    read_frame,
    send_forever,
    tune_socket,
)
from contracts.errors import AgentFailedError, ReplicaLostError

__all__ = ["DispatchServer", "LinkRegistry", "WorkerLink"]

log = logging.getLogger("agentcluster.dispatch")


class WorkerLink:
    """One attached worker: who it is, its outstanding jobs, and the frames waiting to go out."""

    def __init__(self, hello: Hello) -> None:
        self.hello = hello
        self.draining = False
        self.closed = False
        self.done = 0
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Frame]] = {}
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()

    @property
    def running(self) -> int:
        """Jobs sent and not yet answered."""
        return len(self._pending)

    @property
    def free(self) -> int:
        """Jobs it may still take now (none while draining or closed)."""
        if self.draining or self.closed:
            return 0
        return self.hello.capacity - len(self._pending)

    def submit(self, payload: bytes, future: asyncio.Future[Frame] | None = None) -> tuple[int, asyncio.Future[Frame]]:
        """Queue a job; ``future`` (or a new one) resolves to its RESULT or ERROR frame."""
        if self.closed:
            raise ReplicaLostError(f"{self.hello.role} replica {self.hello.replica_id} is detached")
        job_id = next(self._ids)
        if future is None:
            future = asyncio.get_running_loop().create_future()
        self._pending[job_id] = future
        self.outbox.put_nowait(encode_frame(JOB, job_id, payload))
        return job_id, future

    def cancel(self, job_id: int) -> None:
        """Stop waiting for a job and tell the worker it may stop running it."""
        if self._pending.pop(job_id, None) is not None and not self.closed:
            self.outbox.put_nowait(encode_frame(CANCEL, job_id))

    def send_load(self, backlog: float) -> None:
        """Tell a pool replica how many jobs wait for a slot, per replica."""
        if not self.closed:
            self.outbox.put_nowait(encode_frame(LOAD, 0, f"{backlog:.3f}".encode()))

    def receive(self, frame: Frame) -> None:
        """A frame from the worker: a job's outcome, or notice that it is draining."""
        if frame.kind == DRAINING:
            self.draining = True
            return
        future = self._pending.pop(frame.job_id, None)
        if future is not None and not future.done():
            self.done += 1
            future.set_result(frame)

    def close(self, reason: str) -> None:
        """The connection ended: every outstanding job fails as lost (so it is retried)."""
        self.closed = True
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ReplicaLostError(reason))

    def describe(self) -> dict[str, object]:
        """For ``agentcluster status``."""
        return {
            "replica": self.hello.replica_id,
            "node_id": self.hello.node_id,
            "pid": self.hello.pid,
            "running": self.running,
            "capacity": self.hello.capacity,
            "done": self.done,
            "draining": self.draining,
        }


class LinkRegistry(Protocol):
    """Where the links of one role go (the pool, the publisher)."""

    def attach(self, link: WorkerLink) -> None:
        """A worker of this role attached."""
        ...

    def detach(self, link: WorkerLink) -> None:
        """Its connection ended; the link is already closed."""
        ...


class DispatchServer:
    """The ingress's listener; ``start()`` returns the address workers dial."""

    def __init__(self, token: str, registries: Mapping[str, LinkRegistry], *, host: str, port: int = 0) -> None:
        self._token = token
        self._registries = registries
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.address = ""

    async def start(self) -> str:
        """Bind and serve; the address is ``host:port`` with the port actually bound."""
        try:
            self._server = await asyncio.start_server(self._attach, self._host, self._port)
        except OSError as exc:
            raise OSError(f"cannot listen on {self._host}:{self._port} (DISPATCH_PORT): {exc}") from None
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"{self._host}:{port}"
        log.info("dispatch server listening", extra={"address": self.address})
        return self.address

    async def stop(self) -> None:
        """Stop listening and close every connection (workers dial again); idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._connections):
            writer.close()
        await server.wait_closed()

    async def _attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tune_socket(writer)
        self._connections.add(writer)
        try:
            hello = await self._greet(reader, writer)
            if hello is not None:
                await self._serve(hello, reader, writer)
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _greet(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Hello | None:
        try:
            hello = Hello.decode(await asyncio.wait_for(read_frame(reader), 10.0))
        except Exception as exc:
            reason = f"expected a HELLO frame ({type(exc).__name__}: {exc})"
        else:
            if not hmac.compare_digest(hello.token, self._token):
                reason = "wrong dispatch token (the worker runs with other broker settings)"
            elif hello.role not in self._registries:
                reason = f"unknown worker role {hello.role!r}"
            else:
                return hello
        log.warning("worker refused: %s", reason)
        await self._refuse(writer, reason)
        return None

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, reason: str) -> None:
        writer.write(encode_frame(ERROR, 0, encode_error(AgentFailedError(f"ingress refused the worker: {reason}"))))
        try:
            await writer.drain()
        except ConnectionError:
            pass

    async def _serve(self, hello: Hello, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        registry = self._registries[hello.role]
        link = WorkerLink(hello)
        registry.attach(link)
        log.info("worker attached", extra={"role": hello.role, "replica": hello.replica_id, "pid": hello.pid})
        sender = asyncio.create_task(send_forever(link.outbox, writer))
        sender.add_done_callback(lambda task: close_on_failure(task, writer))
        reason = "connection closed"
        try:
            while True:
                link.receive(await read_frame(reader))
        except asyncio.IncompleteReadError:
            pass
        except asyncio.CancelledError:
            reason = "dispatch server stopped"
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            sender.cancel()
            link.close(f"{hello.role} replica {hello.replica_id} detached ({reason})")
            registry.detach(link)
            log.info("worker detached", extra={"role": hello.role, "replica": hello.replica_id, "reason": reason})
