"""The Wasender API client: ``POST /api/send-message`` with a Bearer key, a send rate, and 429s.

Failures are sorted by what they mean for the customer, because that decides whether a
retry can send the same text twice::

    WasenderError (AgentClusterError)
    ├── WasenderUnavailableError (RetryableError)  nothing was delivered: connection refused,
    │                                              5xx, or still rate-limited after waiting
    ├── WasenderRejectedError (PermanentError)     4xx other than 429 (bad number, bad key):
    │                                              retrying cannot help
    └── DeliveryUnknownError (PermanentError)      the request may have reached Wasender
                                                   (timeout or connection lost after sending):
                                                   never retried, so never sent twice

A 429 is honoured in the client: it waits ``retry_after`` (body) or ``Retry-After``
(header), pushes the shared rate limiter back by as much, and tries again, up to
``max_rate_limited`` times and never for longer than ``max_retry_after`` seconds at once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from contracts.errors import AgentClusterError, PermanentError, RetryableError

__all__ = [
    "DeliveryUnknownError",
    "RateLimiter",
    "WasenderClient",
    "WasenderError",
    "WasenderRejectedError",
    "WasenderUnavailableError",
]


class WasenderError(AgentClusterError):
    """Raised when a send did not succeed; ``kind`` labels the failure metric."""

    code = "SEND_FAILED"
    kind = "error"


class WasenderUnavailableError(WasenderError, RetryableError):
    """Raised when Wasender refused, failed (5xx) or rate-limited a send that was not delivered."""

    code = "WASENDER_UNAVAILABLE"
    kind = "unavailable"


class WasenderRejectedError(WasenderError, PermanentError):
    """Raised when Wasender answered 4xx (not 429): the number or the request is wrong."""

    code = "WASENDER_REJECTED"
    kind = "rejected"


class DeliveryUnknownError(WasenderError, PermanentError):
    """Raised when the send may or may not have been delivered (timeout after sending)."""

    code = "DELIVERY_UNKNOWN"
    kind = "unknown"


class RateLimiter:
    """Spaces calls ``1/rate`` seconds apart across every caller, in arrival order."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this caller's slot."""
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        """Give no slot for the next ``seconds`` (Wasender said to wait)."""
        self._next = max(self._next, time.monotonic() + seconds)


class WasenderClient:
    """Sends text messages; ``start()`` opens the HTTP client, ``stop()`` closes it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        rate: float,
        timeout: float = 10.0,
        max_rate_limited: int = 3,
        max_retry_after: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.limiter = RateLimiter(rate)
        self.timeout = timeout
        self.max_rate_limited = max_rate_limited
        self.max_retry_after = max_retry_after
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Open the connection pool."""
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, transport=self._transport)

    async def stop(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send_text(self, to: str, text: str, *, slot_taken: bool = False) -> dict[str, Any]:
        """Send one text; returns Wasender's JSON answer or raises a :class:`WasenderError`.

        ``slot_taken``: the caller already waited for its rate-limiter slot (``limiter.acquire()``).
        """
        if self._http is None:
            raise RuntimeError("WasenderClient.start() has not been awaited")
        for attempt in range(self.max_rate_limited + 1):
            if attempt or not slot_taken:
                await self.limiter.acquire()
            try:
                response = await self._http.post(
                    "/api/send-message",
                    json={"to": to, "text": text},
                    headers={"Authorization": f"Bearer {self._api_key}"},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise WasenderUnavailableError(f"cannot reach {self.base_url}: {type(exc).__name__}") from None
            except httpx.TransportError as exc:
                raise DeliveryUnknownError(
                    f"no answer from {self.base_url} after sending: {type(exc).__name__}"
                ) from None
            if response.status_code == 429:
                wait = _retry_after(response)
                if attempt == self.max_rate_limited or wait > self.max_retry_after:
                    raise WasenderUnavailableError(f"rate limited by Wasender (retry_after={wait}s)")
                self.limiter.pause(wait)
                continue
            if response.status_code >= 500:
                raise WasenderUnavailableError(f"Wasender answered {response.status_code}")
            if response.status_code >= 400:
                raise WasenderRejectedError(f"Wasender refused the send: {response.status_code} {response.text[:200]}")
            try:
                answer = response.json()
            except ValueError:
                return {}
            return answer if isinstance(answer, dict) else {}
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: httpx.Response) -> float:
    try:
        value = response.json().get("retry_after")
    except (ValueError, AttributeError):
        value = None
    if value is None:
        value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0
