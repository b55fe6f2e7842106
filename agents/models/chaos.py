"""``ChaosModel``: wraps any model and injects latency, 429s, 5xx errors and hangs.

For benchmarks (``MODEL=chaos:offline?latency=2.0&jitter=0.3&dist=lognormal&p429=0.05``) and
fault tests. Latency per model call follows a distribution around ``latency`` seconds:

* ``fixed``     exactly ``latency``;
* ``uniform``   uniform in ``latency * (1 ± jitter)``;
* ``lognormal`` ``latency * exp(N(0, jitter))`` (median ``latency``, the long right tail of
  real LLM APIs).

Then, with the configured probabilities, the call fails with HTTP 429, fails with HTTP 503,
or hangs until the run's deadline cancels it. Failures are :class:`InjectedModelError`
carrying ``status_code``, so they go through the same classification as a real provider's.

Tests script failures per request with markers in the message text (read from the request
the engine is running, :data:`agents.runtime.current_request`):

* ``#transient-until=N`` → HTTP 503 while ``metadata.retryCount < N`` (then succeeds);
* ``#permanent``         → HTTP 400 on every attempt;
* ``#sleep=SECONDS``     → sleep that long on the first model call of the run;
* ``#hang``              → never answer.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import AsyncGenerator
from typing import Literal

from google.adk.models._capabilities import LlmCapabilities
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from pydantic import PrivateAttr

from agents.models import llm_io
from agents.runtime import current_request

__all__ = ["ChaosModel", "InjectedModelError"]

_TRANSIENT = re.compile(r"#transient-until=(\d+)")
_SLEEP = re.compile(r"#sleep=(\d+(?:\.\d+)?)")


class InjectedModelError(Exception):
    """Raised by ChaosModel in place of a provider error; ``status_code`` says which."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message

    def __str__(self) -> str:
        return f"HTTP {self.status_code}: {self.message}"


class ChaosModel(BaseLlm):
    """Delegates to ``inner`` after injected latency and, sometimes, an injected failure."""

    model: str = "chaos"
    inner: BaseLlm
    latency: float = 0.0
    jitter: float = 0.0
    distribution: Literal["fixed", "uniform", "lognormal"] = "fixed"
    p429: float = 0.0
    p5xx: float = 0.0
    phang: float = 0.0
    seed: int | None = None
    _rng: random.Random = PrivateAttr(default_factory=random.Random)

    def model_post_init(self, context: object, /) -> None:
        """Seed the random source once."""
        self._rng = random.Random(self.seed)

    @property
    def capabilities(self) -> LlmCapabilities:
        """Whatever the wrapped model supports."""
        return self.inner.capabilities

    def delay(self) -> float:
        """One latency sample in seconds (never negative)."""
        if self.latency <= 0:
            return 0.0
        if self.distribution == "uniform":
            return max(0.0, self._rng.uniform(self.latency * (1 - self.jitter), self.latency * (1 + self.jitter)))
        if self.distribution == "lognormal":
            return self.latency * math.exp(self._rng.gauss(0.0, self.jitter))
        return self.latency

    async def _markers(self, llm_request: LlmRequest) -> None:
        request = current_request.get()
        text = request.message.text if request is not None else llm_io.latest_user_text(llm_request)
        if "#" not in text:
            return
        retry_count = request.metadata.retry_count if request is not None else 0
        transient = _TRANSIENT.search(text)
        if transient and retry_count < int(transient[1]):
            raise InjectedModelError(503, f"injected transient failure (attempt {retry_count + 1})")
        if "#permanent" in text:
            raise InjectedModelError(400, "injected permanent failure")
        sleep = _SLEEP.search(text)
        if sleep and llm_io.turn_calls(llm_request) == 0:
            await asyncio.sleep(float(sleep[1]))
        if "#hang" in text:
            await asyncio.Event().wait()

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Markers, then latency, then maybe a failure, then the inner model's answer."""
        await self._markers(llm_request)
        pause = self.delay()
        if pause > 0:
            await asyncio.sleep(pause)
        roll = self._rng.random()
        if roll < self.p429:
            raise InjectedModelError(429, "injected rate limit")
        if roll < self.p429 + self.p5xx:
            raise InjectedModelError(503, "injected server error")
        if roll < self.p429 + self.p5xx + self.phang:
            await asyncio.Event().wait()
        async for response in self.inner.generate_content_async(llm_request, stream):
            yield response
