"""The appointment agent (``taskType: appointment``): ``build_agent(model)`` and its tools."""

from agents.appointment.agent import build_agent

__all__ = ["build_agent"]
