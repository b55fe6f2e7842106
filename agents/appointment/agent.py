"""The appointment agent: an ADK ``LlmAgent`` with its own instruction and tools, model injected."""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.genai import types

from agents.appointment import prompt, tools
from agents.conversation.tools import list_services_and_prices
from agents.search.tools import search_knowledge

__all__ = ["build_agent"]


def build_agent(model: BaseLlm | str) -> LlmAgent:
    """Build the appointment agent around ``model`` (built once per replica, shared by every run)."""
    return LlmAgent(
        name="appointment_agent",
        model=model,
        description=prompt.DESCRIPTION,
        instruction=prompt.INSTRUCTION,
        tools=[
            tools.check_availability,
            tools.book_appointment,
            tools.cancel_appointment,
            tools.list_my_appointments,
            list_services_and_prices,
            search_knowledge,
        ],
        generate_content_config=types.GenerateContentConfig(temperature=0.2),
    )
