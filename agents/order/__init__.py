"""The order agent (``taskType: order``): ``build_agent(model)`` and its tools."""

from agents.order.agent import build_agent

__all__ = ["build_agent"]
