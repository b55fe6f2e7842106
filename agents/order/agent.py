"""The order agent: an ADK ``LlmAgent`` with its own instruction and tools, model injected."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.genai import types

from agents.order import prompt, tools
from agents.search.tools import search_knowledge

__all__ = ["build_agent"]


def build_agent(model: BaseLlm | str) -> LlmAgent:
    """Build the order agent around ``model`` (built once per replica, shared by every run)."""
    return LlmAgent(
        name="order_agent",
        model=model,
        description=prompt.DESCRIPTION,
        instruction=prompt.INSTRUCTION,
        tools=[
            tools.get_order_status,
            tools.list_my_orders,
            tools.list_products_catalogue,
            tools.place_order,
            search_knowledge,
        ],
        generate_content_config=types.GenerateContentConfig(temperature=0.2),
    )
