"""The cluster's internal wire: frames between the ingress and the workers that attach to it.

The ingress listens on one TCP port. Every pool replica and the publisher dial in, say who
they are in a :class:`Hello`, and then receive jobs and send results on that connection until
it closes. A closed connection is a lost worker: the ingress fails its outstanding jobs as
:class:`~contracts.errors.ReplicaLostError`, so they are retried and never acked as done.

Why not Serve handle calls: measured on the 2-core machine (``bench/bench_dispatch.py``), one
Serve handle call costs about 3.6 ms of CPU across the processes involved, a plain Ray actor
call 1.2 ms, a round trip on an open gRPC stream 0.34 ms and on this connection 0.04 ms; idle
round trips take 4.4, 2.7, 0.7 and 0.3 ms. A request makes two hops (pool, publisher) against
about 14 ms of agent CPU in a loaded replica, so the handle calls alone took a third of the
machine. Serve still deploys, scales, health-checks and restarts every replica; only the
per-message path goes over the connection.

A frame is ``kind (1 byte) | job id (8 bytes) | length (4 bytes) | payload`` (big-endian); bodies
travel as bytes, structured parts as JSON. A writer sends every frame that is waiting in one
write. Nothing is pickled: the port is reachable from the cluster network, and the
:func:`dispatch_token` in the hello keeps strangers out. TCP keepalive (and, on Linux, a user
timeout) finds a peer that vanished without a reset within about 30 s.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import struct
from dataclasses import asdict, dataclass
from typing import Any

from contracts import errors
from contracts.errors import AgentClusterError, AgentFailedError

__all__ = [
    "CANCEL",
    "DRAINING",
    "ERROR",
    "HELLO",
    "INGRESS_DEPLOYMENT",
    "JOB",
    "LOAD",
    "MAX_PAYLOAD",
    "RESULT",
    "Frame",
    "Hello",
    "close_on_failure",
    "decode_error",
    "dispatch_token",
    "encode_error",
    "encode_frame",
    "join_parts",
    "read_frame",
    "send_forever",
    "split_parts",
    "tune_socket",
]

#: The Serve deployment that hosts the server; workers ask it for the address.
INGRESS_DEPLOYMENT = "Ingress"
#: Largest frame payload accepted (MAX_BODY_BYTES is capped at 64 MiB).
MAX_PAYLOAD = 80 * 1024 * 1024

# Worker -> ingress
HELLO = b"H"  # first frame: a Hello (JSON)
RESULT = b"R"  # a job finished: its result payload
ERROR = b"E"  # a job failed: an encoded error
DRAINING = b"D"  # the worker is stopping: assign it nothing more
# Ingress -> worker
JOB = b"J"  # run this payload
CANCEL = b"C"  # stop running this job; its result is no longer wanted
LOAD = b"L"  # jobs waiting for a free slot, per attached pool replica (autoscaling input)

_HEADER = struct.Struct(">cQI")

#: Every concrete error a worker may send back, by code.
_BY_CODE: dict[str, type[AgentClusterError]] = {
    cls.code: cls
    for cls in (getattr(errors, name) for name in errors.__all__)
    if isinstance(cls, type) and issubclass(cls, AgentClusterError)
}


@dataclass(frozen=True)
class Frame:
    """One decoded frame."""

    kind: bytes
    job_id: int
    payload: bytes


def encode_frame(kind: bytes, job_id: int = 0, payload: bytes = b"") -> bytes:
    """``kind | job_id | length | payload`` as bytes."""
    return _HEADER.pack(kind, job_id, len(payload)) + payload


async def send_forever(outbox: asyncio.Queue[bytes], writer: asyncio.StreamWriter, limit: int = 4 << 20) -> None:
    """The one sender of a connection: each write takes every frame waiting in ``outbox`` (about
    ``limit`` bytes at most), so under load one write carries many frames."""
    while True:
        frames = [await outbox.get()]
        size = len(frames[0])
        while size < limit and not outbox.empty():
            frame = outbox.get_nowait()
            frames.append(frame)
            size += len(frame)
        writer.write(b"".join(frames))
        for _ in frames:
            outbox.task_done()
        await writer.drain()


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """The next frame on a connection; ``IncompleteReadError`` when it closed, ``ValueError`` when
    the peer sent an impossible length."""
    kind, job_id, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if length > MAX_PAYLOAD:
        raise ValueError(f"dispatch frame of {length} bytes is larger than {MAX_PAYLOAD}")
    return Frame(kind, job_id, await reader.readexactly(length) if length else b"")


def tune_socket(writer: asyncio.StreamWriter) -> None:
    """No Nagle delay, and keepalive so that a peer gone without a reset is noticed (~30 s)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", 30_000)):
        if hasattr(socket, option):  # Linux; elsewhere the system's keepalive defaults apply
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def close_on_failure(sender: asyncio.Task[None], writer: asyncio.StreamWriter) -> None:
    """Done-callback of a connection's sending task: a failed write (peer gone) closes the
    connection, so the reading side ends too and the link is torn down in one place."""
    if not sender.cancelled() and sender.exception() is not None:
        writer.close()


def join_parts(header: dict[str, Any], body: bytes = b"") -> bytes:
    """A JSON header line followed by raw bytes (JSON never contains a raw newline)."""
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def split_parts(payload: bytes) -> tuple[dict[str, Any], bytes]:
    """The inverse of :func:`join_parts`."""
    head, _, body = payload.partition(b"\n")
    header = json.loads(head)
    if not isinstance(header, dict):
        raise ValueError("dispatch header is not a JSON object")
    return header, body


@dataclass(frozen=True)
class Hello:
    """What a worker says when it attaches."""

    role: str  # "pool" or "publisher"
    token: str
    replica_id: str
    node_id: str
    pid: int
    capacity: int  # jobs it runs at once (CONCURRENT_TASKS for a pool replica)

    def encode(self) -> bytes:
        """As a HELLO frame."""
        return encode_frame(HELLO, 0, json.dumps(asdict(self)).encode())

    @classmethod
    def decode(cls, frame: Frame) -> Hello:
        """From a HELLO frame; raises ``ValueError`` when it is not one."""
        if frame.kind != HELLO:
            raise ValueError("the first frame of a worker must be HELLO")
        data = json.loads(frame.payload)
        return cls(
            role=str(data["role"]),
            token=str(data["token"]),
            replica_id=str(data["replica_id"]),
            node_id=str(data.get("node_id", "")),
            pid=int(data.get("pid", 0)),
            capacity=max(1, int(data["capacity"])),
        )


def encode_error(exc: BaseException) -> bytes:
    """An error as an ERROR payload; anything outside the error tree becomes AGENT_FAILED."""
    if not isinstance(exc, AgentClusterError):
        exc = AgentFailedError(f"{type(exc).__name__}: {exc}")
    return json.dumps({"code": exc.code, "reason": exc.reason, "retryable": exc.retryable}).encode()


def decode_error(payload: bytes) -> AgentClusterError:
    """The error an ERROR payload describes, as the same class of the error tree."""
    data = json.loads(payload)
    cls = _BY_CODE.get(str(data.get("code")))
    reason = str(data.get("reason", ""))
    if cls is None:  # a newer worker's code: keep what matters, whether to retry
        cls = errors.RetryableError if data.get("retryable") else errors.PermanentError
    return cls(reason)


def dispatch_token(secret: str, agent_queue: str) -> str:
    """The token every worker shows in its hello: an HMAC of the broker URL (password included).

    Derived, not configured: whoever can read the broker credentials can already put requests
    on ``ag_queue``, and a redeploy with the same settings keeps the same token.
    """
    return hmac.new(secret.encode(), f"agentcluster-dispatch|{agent_queue}".encode(), hashlib.sha256).hexdigest()
