"""A circuit breaker on the model provider.

After ``threshold`` consecutive provider failures (``ModelUnavailableError``) the breaker
opens: the ingress stops taking deliveries, so requests wait safely in ``ag_queue`` instead
of burning their retries against a provider that is down. After ``cooldown`` seconds it is
half-open: deliveries resume, one success closes it, one more failure opens it again.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.StrEnum):
    """Where the breaker is."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive provider failures; pure state, the ingress acts on it."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> BreakerState:
        """Closed, open, or half-open once the cooldown has passed."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def remaining(self) -> float:
        """Seconds until an open breaker turns half-open (0 when not open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def record_success(self) -> None:
        """A run reached the provider and succeeded: close."""
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> bool:
        """A provider failure; returns True when this failure opened the breaker."""
        self._failures += 1
        if self.state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            self._opened_at = self._clock()
            return True
        return False

    @property
    def consecutive_failures(self) -> int:
        """Provider failures since the last success."""
        return self._failures
