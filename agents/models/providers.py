"""Hosted models: Gemini through ADK's ``Gemini`` and anything LiteLLM speaks through ``LiteLlm``.

Both are built with their own retries off (``attempts=1``, ``num_retries=0``,
``max_retries=0``) and a request timeout of ``MODEL_TIMEOUT``: the cluster's retry layer
(the wait queues) is the only one, so one request costs at most ``maxRetries + 1`` runs and
a 429 is not hammered from inside a run. Keys come from the settings object, not from the
environment.

LiteLLM is an optional extra. On import it would fetch a model price list from GitHub and
retry for several seconds when offline; the builder sets ``LITELLM_LOCAL_MODEL_COST_MAP``
(unless the operator set it) so a replica never phones home on start-up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from google.adk.models.base_llm import BaseLlm

from contracts.errors import ConfigError

if TYPE_CHECKING:
    from cluster.settings import Settings

__all__ = ["gemini_model", "litellm_model"]


def gemini_model(model_id: str, settings: Settings) -> BaseLlm:
    """``MODEL=gemini-...``: Gemini through the Google AI API key in ``GOOGLE_API_KEY``."""
    if settings.google_api_key is None:
        raise ConfigError(f"MODEL={model_id} needs GOOGLE_API_KEY (or use MODEL=offline)")
    from google.adk.models.google_llm import Gemini
    from google.genai import types

    no_retry = types.HttpRetryOptions(attempts=1)
    http_options = types.HttpOptions(timeout=int(settings.model_timeout * 1000), retry_options=no_retry)
    return Gemini(
        model=model_id,
        retry_options=no_retry,
        client_kwargs={"api_key": settings.google_api_key.get_secret_value(), "http_options": http_options},
    )


def litellm_model(model_id: str, settings: Settings) -> BaseLlm:
    """``MODEL=litellm/<provider>/<model>``: any LiteLLM model id (OpenAI-compatible, Ollama, vLLM...)."""
    if "/" not in model_id:
        raise ConfigError(f"MODEL=litellm/{model_id}: expected litellm/<provider>/<model>, e.g. litellm/openai/gpt-4o")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm  # noqa: F401  (fail here, with a clear message, not on the first request)
        from google.adk.models.lite_llm import LiteLlm
    except ImportError:
        raise ConfigError(
            f"MODEL=litellm/{model_id} needs the litellm extra: pip install 'agentcluster[litellm]'"
        ) from None
    kwargs: dict[str, Any] = {"num_retries": 0, "max_retries": 0, "timeout": settings.model_timeout}
    if settings.litellm_api_base:
        kwargs["api_base"] = settings.litellm_api_base
    if settings.litellm_api_key is not None:
        kwargs["api_key"] = settings.litellm_api_key.get_secret_value()
    return LiteLlm(model=model_id, **kwargs)
