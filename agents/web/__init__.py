"""Web access for the search agent: the SSRF-guarded HTTP client and the search provider."""

from agents.web.guard import FetchResult, GuardedClient, Resolver, UnsafeURLError, check_address
from agents.web.search import WebSearch, WebSearchUnavailableError

__all__ = [
    "FetchResult",
    "GuardedClient",
    "Resolver",
    "UnsafeURLError",
    "WebSearch",
    "WebSearchUnavailableError",
    "check_address",
]
