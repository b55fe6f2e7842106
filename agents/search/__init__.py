"""The search agent (``taskType: search``): ``build_agent(model)`` and its tools."""

from agents.search.agent import build_agent

__all__ = ["build_agent"]
