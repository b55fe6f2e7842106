"""The ingress's end of the internal wire: a gRPC server that workers attach to.

Each pool replica and the publisher open one ``Attach`` stream (``contracts/dispatch.py``
describes the frames). :class:`DispatchServer` checks the hello, wraps the stream in a
:class:`WorkerLink` and hands it to the registry of its role (:class:`~ingress.direct.DirectPool`
or :class:`~ingress.direct.DirectPublisher`); when the stream ends, for whatever reason, the link
fails its outstanding jobs with :class:`~contracts.errors.ReplicaLostError` and leaves the
registry. Dead peers are found by HTTP/2 keepalive pings even when no TCP reset arrives.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import grpc

from contracts.dispatch import (
    ATTACH,
    CANCEL,
    DISPATCH_SERVICE,
    DRAINING,
    GRPC_OPTIONS,
    JOB,
    LOAD,
    Frame,
    Hello,
    decode_frames,
    encode_frame,
    next_message,
)
from contracts.errors import ReplicaLostError

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
        """The stream ended: every outstanding job fails as lost (so it is retried)."""
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
        """Its stream ended; the link is already closed."""
        ...


class DispatchServer:
    """The gRPC server of the ingress; ``start()`` returns the address workers dial."""

    def __init__(self, token: str, registries: Mapping[str, LinkRegistry], *, host: str, port: int = 0) -> None:
        self._token = token
        self._registries = registries
        self._host = host
        self._port = port
        self._server: grpc.aio.Server | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        self.address = ""

    async def start(self) -> str:
        """Bind and serve; the address is ``host:port`` with the port actually bound."""
        server = grpc.aio.server(options=GRPC_OPTIONS)
        handler = grpc.stream_stream_rpc_method_handler(self._attach)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(DISPATCH_SERVICE, {ATTACH: handler}),))
        port = server.add_insecure_port(f"{self._host}:{self._port}")
        if port == 0:
            raise OSError(f"cannot listen on {self._host}:{self._port} (DISPATCH_PORT)")
        await server.start()
        self._server = server
        self.address = f"{self._host}:{port}"
        log.info("dispatch server listening", extra={"address": self.address})
        return self.address

    async def stop(self, grace: float = 1.0) -> None:
        """Close every stream (workers redial elsewhere) and stop listening; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)

    async def _attach(self, _requests: Any, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
        try:
            first = await asyncio.wait_for(context.read(), 10.0)
            hello = Hello.decode(decode_frames(first)[0])  # type: ignore[arg-type]
        except Exception as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"expected a HELLO frame: {exc}")
            return
        if not hmac.compare_digest(hello.token, self._token):
            log.warning("worker refused: wrong dispatch token", extra={"replica": hello.replica_id})
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "wrong dispatch token")
            return
        registry = self._registries.get(hello.role)
        if registry is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown worker role {hello.role!r}")
            return
        link = WorkerLink(hello)
        registry.attach(link)
        log.info("worker attached", extra={"role": hello.role, "replica": hello.replica_id, "pid": hello.pid})
        writer = asyncio.create_task(self._write(link, context))
        reason = "stream closed"
        try:
            while True:
                data = await context.read()
                if data is grpc.aio.EOF:
                    break
                for frame in decode_frames(data):  # type: ignore[arg-type]
                    link.receive(frame)
        except asyncio.CancelledError:
            reason = "dispatch server stopped"
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            writer.cancel()
            link.close(f"{hello.role} replica {hello.replica_id} detached ({reason})")
            registry.detach(link)
            log.info("worker detached", extra={"role": hello.role, "replica": hello.replica_id, "reason": reason})

    @staticmethod
    async def _write(link: WorkerLink, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
        # One writer per stream: gRPC allows a single outstanding write on a stream.
        while True:
            message, count = await next_message(link.outbox)
            try:
                await context.write(message)
            finally:
                for _ in range(count):
                    link.outbox.task_done()
