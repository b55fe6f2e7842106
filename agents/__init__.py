"""The agents a pool replica runs: one ADK ``LlmAgent`` per ``taskType``, their tools and models.

Layout (like adk-samples): ``agents/<task>/{agent.py, prompt.py, tools.py}`` for
``conversation``, ``appointment``, ``order`` and ``search``; the business database in
``agents/db``; the model layer in ``agents/models``; web access in ``agents/web``; and
:class:`AgentEngine`, the warm object a replica holds and calls ``run(request)`` on.
"""

from agents.engine import AgentEngine, AgentResult
from agents.models import build_model
from agents.runtime import current_request

__all__ = ["AgentEngine", "AgentResult", "build_model", "current_request"]
