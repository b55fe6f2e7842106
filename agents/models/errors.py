"""Turning whatever a model SDK or a tool raised into the project's error tree.

Providers raise their own types (google-genai ``APIError`` with ``code``, LiteLLM's
``RateLimitError``/``ServiceUnavailableError`` with ``status_code``, httpx timeouts, plain
``ConnectionError``). The cluster only needs to know one thing, whether another attempt
later may succeed, so: 408/429/5xx, timeouts and connection failures anywhere in the cause
chain are :class:`ModelUnavailableError` (retryable); a database that cannot be reached is a
plain :class:`RetryableError`; everything else (400 bad request, 401/403 key problems, a bug
in a tool) is :class:`AgentFailedError`, which retrying would only repeat.
"""

from __future__ import annotations

from contracts.errors import AgentClusterError, AgentFailedError, ModelUnavailableError, RetryableError

__all__ = ["classify", "status_code"]

_TRANSIENT_NAMES = (
    "Timeout",
    "RateLimit",
    "ServiceUnavailable",
    "InternalServer",
    "APIConnection",
    "Connect",
    "RemoteProtocol",
    "ReadError",
    "BadGateway",
)
_DATABASE_NAMES = (
    "OperationalError",
    "InterfaceError",
    "DisconnectionError",
    "CannotConnectNow",
    "ConnectionDoesNotExist",
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def status_code(exc: BaseException) -> int | None:
    """The HTTP status an SDK error carries (``status_code``, ``code`` or ``response.status_code``)."""
    for candidate in (
        getattr(exc, "status_code", None),
        getattr(exc, "code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        if isinstance(candidate, int) and 100 <= candidate <= 599:
            return candidate
    return None


def classify(exc: BaseException) -> AgentClusterError:
    """The project error for ``exc``: retryable when waiting may help, permanent otherwise."""
    if isinstance(exc, AgentClusterError):
        return exc
    chain = _chain(exc)
    detail = f"{type(exc).__name__}: {str(exc)[:300]}"
    for item in chain:
        if isinstance(item, AgentClusterError):
            return item
        code = status_code(item)
        if code is not None:
            if code in (408, 429) or code >= 500:
                return ModelUnavailableError(f"model provider answered HTTP {code} ({detail})")
            return AgentFailedError(f"model provider refused the request with HTTP {code} ({detail})")
    for item in chain:
        name = type(item).__name__
        if any(marker in name for marker in _DATABASE_NAMES):
            return RetryableError(f"the business database is unavailable ({detail})")
        if isinstance(item, TimeoutError | ConnectionError) or any(marker in name for marker in _TRANSIENT_NAMES):
            return ModelUnavailableError(f"model provider unavailable ({detail})")
    return AgentFailedError(detail)
