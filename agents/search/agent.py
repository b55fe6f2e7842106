"""The search agent: an ADK ``LlmAgent`` with its own instruction and tools, model injected."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.genai import types

from agents.search import prompt, tools

__all__ = ["build_agent"]


def build_agent(model: BaseLlm | str) -> LlmAgent:
    """Build the search agent around ``model`` (built once per replica, shared by every run)."""
    return LlmAgent(
        name="search_agent",
        model=model,
        description=prompt.DESCRIPTION,
        instruction=prompt.INSTRUCTION,
        tools=[tools.search_knowledge, tools.web_search],
        generate_content_config=types.GenerateContentConfig(temperature=0.2),
    )
