"""The model layer: ``build_model(settings)`` turns ``MODEL`` into an ADK ``BaseLlm``.

=============================================  ==============================================
``MODEL``                                      model
=============================================  ==============================================
``offline`` (default)                          :class:`RuleBasedModel`, keyword rules, no LLM
``scripted``                                   :class:`ScriptedModel`, one tool call then text
``gemini-2.5-flash`` (any ``gemini-*``)        Gemini via ADK, needs ``GOOGLE_API_KEY``
``litellm/<provider>/<model>``                 LiteLLM via ADK's ``LiteLlm`` (the extra)
``chaos:<inner>?latency=2&jitter=0.3&...``     :class:`ChaosModel` around ``<inner>``
=============================================  ==============================================

Chaos options: ``latency`` (s), ``jitter``, ``dist`` (fixed|uniform|lognormal), ``p429``,
``p5xx``, ``phang``, ``seed``. Anything else is a :class:`~contracts.errors.ConfigError`
naming ``MODEL``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from google.adk.models.base_llm import BaseLlm

from agents.models.chaos import ChaosModel, InjectedModelError
from agents.models.errors import classify
from agents.models.offline import RuleBasedModel
from agents.models.providers import gemini_model, litellm_model
from agents.models.scripted import ScriptedModel, Turn
from contracts.errors import ConfigError

if TYPE_CHECKING:
    from cluster.settings import Settings

__all__ = ["ChaosModel", "InjectedModelError", "RuleBasedModel", "ScriptedModel", "Turn", "build_model", "classify"]

_CHAOS_FLOATS = {"latency", "jitter", "p429", "p5xx", "phang"}


def _chaos(spec: str, settings: Settings) -> BaseLlm:
    inner_spec, _, query = spec.partition("?")
    if not inner_spec or inner_spec.startswith("chaos:"):
        raise ConfigError(f"MODEL=chaos:{spec}: name one inner model, e.g. chaos:offline?latency=2")
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)):
        try:
            if key in _CHAOS_FLOATS:
                options[key] = float(value)
            elif key == "dist":
                options["distribution"] = value
            elif key == "seed":
                options["seed"] = int(value)
            else:
                raise ConfigError(
                    f"MODEL: unknown chaos option {key!r} (latency, jitter, dist, p429, p5xx, phang, seed)"
                )
        except ValueError:
            raise ConfigError(f"MODEL: chaos option {key}={value!r} is not a number") from None
    if options.get("distribution", "fixed") not in ("fixed", "uniform", "lognormal"):
        raise ConfigError("MODEL: chaos dist must be fixed, uniform or lognormal")
    if any(not 0.0 <= options.get(p, 0.0) <= 1.0 for p in ("p429", "p5xx", "phang")):
        raise ConfigError("MODEL: chaos probabilities must be between 0 and 1")
    return ChaosModel(model=f"chaos:{inner_spec}", inner=_build(inner_spec, settings), **options)


def _build(spec: str, settings: Settings) -> BaseLlm:
    if spec == "offline":
        return RuleBasedModel(timezone=settings.business_timezone)
    if spec == "scripted":
        return ScriptedModel()
    if spec.startswith("gemini-"):
        return gemini_model(spec, settings)
    if spec.startswith("litellm/"):
        return litellm_model(spec.removeprefix("litellm/"), settings)
    if spec.startswith("chaos:"):
        return _chaos(spec.removeprefix("chaos:"), settings)
    raise ConfigError(
        f"MODEL: unknown model {spec!r}; use offline, scripted, gemini-<version>, litellm/<provider>/<model> "
        "or chaos:<inner>?latency=..."
    )


def build_model(settings: Settings) -> BaseLlm:
    """The model ``settings.model`` names (no network I/O; clients connect on first use)."""
    return _build(settings.model.strip(), settings)
