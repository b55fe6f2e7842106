"""The conversation agent (``taskType: conversation``): ``build_agent(model)`` and its tools."""

from agents.conversation.agent import build_agent

__all__ = ["build_agent"]
