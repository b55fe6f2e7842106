"""Search tools: the shipped knowledge base (FTS5) and the configured web search provider.

``search_knowledge`` is shared with the conversation agent. ``web_search`` says plainly that
it is unavailable when no provider is configured or the guard refused the request, so the
model can answer from the knowledge base instead of inventing results.
"""

from __future__ import annotations

from typing import Any

from google.adk.tools.tool_context import ToolContext

from agents.runtime import caller_from_state, services
from agents.web.search import WebSearchUnavailableError

__all__ = ["search_knowledge", "web_search"]


async def search_knowledge(query: str, tool_context: ToolContext) -> dict[str, Any]:
    """Search the business's knowledge base: FAQ, policies, services, prices and products.

    Args:
        query: What to look for, in the customer's words, e.g. "refund policy" or "do you deliver".

    Returns:
        A dict with "status" ("success" or "no_results") and "results", each with "title", "text"
        and "source".
    """
    caller_from_state(tool_context.state)
    hits = services().knowledge.search(query, limit=3)
    if not hits:
        return {"status": "no_results", "results": []}
    return {"status": "success", "results": [{"title": h.title, "text": h.text, "source": h.source} for h in hits]}


async def web_search(query: str, tool_context: ToolContext) -> dict[str, Any]:
    """Search the public web for information the knowledge base does not have.

    Args:
        query: The search terms.

    Returns:
        A dict with "status": "success" with "results" (each "title", "url", "snippet"),
        "no_results", or "unavailable" with a "message" when web search cannot be used.
    """
    caller_from_state(tool_context.state)
    web = services().web
    if not web.enabled:
        return {"status": "unavailable", "message": "Web search is not available."}
    try:
        results = await web.search(query, limit=5)
    except WebSearchUnavailableError as exc:
        return {"status": "unavailable", "message": f"Web search is not available ({exc})."}
    return {"status": "success" if results else "no_results", "results": results}
