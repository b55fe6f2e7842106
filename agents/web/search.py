"""Web search through a configurable SearXNG-style JSON API, off unless ``WEB_SEARCH_URL`` is set.

The provider is asked ``GET WEB_SEARCH_URL?q=...&format=json`` and must answer
``{"results": [{"title", "url", "content"}, ...]}`` (SearXNG's format; most self-hosted
meta-search engines can produce it). Every request goes through :class:`GuardedClient`, so
neither the configured URL nor a redirect can reach a private address. Result text is
truncated: it is untrusted input on its way into a prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agents.web.guard import GuardedClient, UnsafeURLError

__all__ = ["WebSearch", "WebSearchUnavailableError"]

_MAX_SNIPPET = 300


class WebSearchUnavailableError(Exception):
    """Raised when web search is not configured, refused by the guard, or the provider failed."""


@dataclass
class WebSearch:
    """The web search provider; ``url`` None means web search is switched off."""

    url: str | None
    client: GuardedClient

    @property
    def enabled(self) -> bool:
        """Whether a provider is configured."""
        return bool(self.url)

    async def search(self, query: str, limit: int = 5) -> list[dict[str, str]]:
        """The top ``limit`` results for ``query`` as title, url and snippet."""
        if not self.url:
            raise WebSearchUnavailableError("web search is not configured")
        try:
            result = await self.client.get(self.url, params={"q": query[:200], "format": "json"})
        except UnsafeURLError as exc:
            raise WebSearchUnavailableError(f"refused: {exc}") from None
        except Exception as exc:  # timeouts, connection errors, TLS errors
            raise WebSearchUnavailableError(f"provider error: {type(exc).__name__}") from None
        if result.status_code != 200:
            raise WebSearchUnavailableError(f"provider answered HTTP {result.status_code}")
        try:
            payload: Any = json.loads(result.body)
        except ValueError:
            raise WebSearchUnavailableError("provider did not answer JSON") from None
        items = payload.get("results", []) if isinstance(payload, dict) else []
        hits: list[dict[str, str]] = []
        for item in items:
            if isinstance(item, dict) and item.get("url"):
                hits.append(
                    {
                        "title": str(item.get("title", ""))[:_MAX_SNIPPET],
                        "url": str(item["url"])[:500],
                        "snippet": str(item.get("content", ""))[:_MAX_SNIPPET],
                    }
                )
            if len(hits) >= limit:
                break
        return hits
