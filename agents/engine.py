"""``AgentEngine``: what one pool replica holds, and the only way the cluster runs an agent.

Warm state is built once in :meth:`AgentEngine.start` (the model, one ``LlmAgent`` and one
ADK ``Runner`` per task type, the session service, the business database, the knowledge
index and the guarded HTTP client); :meth:`AgentEngine.run` then costs one fresh session per
request. The constructor does no I/O, and using the engine before ``start()`` fails loudly.

A run:

1. sets :data:`~agents.runtime.current_request` / ``current_services`` for the tools and models;
2. creates a session whose state holds the caller's identity, the request ``messageId``, the
   user notes and session data, and replays ``conversationHistory`` into it as events;
3. runs the agent for ``taskType`` under ``MAX_PROCESSING_TIME`` and reads the event stream;
4. always deletes the session.

Outcomes: an :class:`AgentResult` (``SUCCESS``, or ``PARTIAL`` when the deadline or the model
call budget cut the run after some text), or an error from :mod:`contracts.errors` that says
whether another attempt may help (:func:`agents.models.errors.classify`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import time
import uuid
from contextlib import aclosing
from dataclasses import dataclass

from google.adk.agents import LlmAgent
from google.adk.agents.invocation_context import LlmCallsLimitExceededError
from google.adk.agents.run_config import RunConfig
from google.adk.models.base_llm import BaseLlm
from google.adk.runners import Runner
from google.genai import types

from agents import appointment, conversation, order, search
from agents.collector import RunCollector
from agents.db.store import BusinessStore
from agents.knowledge_index import KnowledgeIndex
from agents.models import build_model
from agents.models.errors import classify
from agents.runtime import ToolServices, current_request, current_services, initial_state, normalise_phone
from agents.sessions import EphemeralSessionService, history_events
from agents.web.guard import GuardedClient
from agents.web.search import WebSearch
from cluster.settings import Settings
from contracts.errors import AgentClusterError, AgentFailedError, AgentTimeoutError
from contracts.models import AgentMetadata, AgentRequest, ReplyStatus, TaskType

__all__ = ["MAX_LLM_CALLS", "AgentEngine", "AgentResult"]

logger = logging.getLogger(__name__)


def _mark_a2a_absent() -> None:
    """Make ADK's per-run probe for its optional A2A agent fail at once when ``a2a`` is not installed.

    ADK's ``build_node`` (``google/adk/workflow/utils/_workflow_graph_utils.py``) imports
    ``RemoteA2aAgent`` inside a ``try/except ImportError`` on every node build, twice per run. A
    failed import is not cached, so each run searched the path and loaded the module's bytecode
    again before failing (measured: about 7 % of a run's CPU). A ``None`` entry in
    ``sys.modules`` is the import system's documented "absent" marker: the import raises
    ``ImportError`` immediately, which ADK already handles. With ``a2a`` installed nothing changes.
    """
    name = "google.adk.agents.remote_a2a_agent"
    if name not in sys.modules and importlib.util.find_spec("a2a") is None:
        sys.modules[name] = None  # type: ignore[assignment]  # typeshed omits the None marker


_mark_a2a_absent()

#: Model calls one run may make; a looping model is cut off (PARTIAL if it said something).
MAX_LLM_CALLS = 8

_BUILDERS = {
    TaskType.CONVERSATION: conversation.build_agent,
    TaskType.APPOINTMENT: appointment.build_agent,
    TaskType.ORDER: order.build_agent,
    TaskType.SEARCH: search.build_agent,
}


@dataclass(frozen=True)
class AgentResult:
    """The outcome of one successful run."""

    text: str
    status: ReplyStatus  # SUCCESS, or PARTIAL when a limit cut the run after some text
    tools_used: tuple[str, ...]  # in call order
    reasoning_steps: tuple[str, ...]
    tokens_used: int
    processing_time: float

    def metadata(self) -> AgentMetadata:
        """The reply's ``agentMetadata``."""
        return AgentMetadata(
            tools_used=self.tools_used,
            reasoning_steps=self.reasoning_steps,
            processing_time=round(self.processing_time, 4),
            tokens_used=self.tokens_used,
        )


class AgentEngine:
    """Warm agents for every task type, run one request at a time per call (many calls at once)."""

    def __init__(self, settings: Settings, model: BaseLlm | None = None) -> None:
        self._settings = settings
        self._model = model
        self._sessions = EphemeralSessionService()
        self._runners: dict[TaskType, Runner] = {}
        self._agents: dict[TaskType, LlmAgent] = {}
        self._services: ToolServices | None = None
        self._run_config = RunConfig(max_llm_calls=MAX_LLM_CALLS)
        self._runs = 0
        self._failures = 0
        self._in_flight = 0

    @property
    def model(self) -> BaseLlm:
        """The model every agent uses (available after ``start()``)."""
        if self._model is None:
            raise RuntimeError("AgentEngine.model is built by start()")
        return self._model

    @property
    def sessions(self) -> EphemeralSessionService:
        """The session service (tests check it is empty after runs)."""
        return self._sessions

    @property
    def store(self) -> BusinessStore:
        """The business database (after ``start()``)."""
        return self._require().store

    def _require(self) -> ToolServices:
        if self._services is None:
            raise RuntimeError("AgentEngine used before start()")
        return self._services

    async def start(self) -> None:
        """Build the model, agents, runners, database, knowledge index and HTTP client (idempotent)."""
        if self._services is not None:
            return
        settings = self._settings
        if self._model is None:
            self._model = build_model(settings)
        store = BusinessStore(settings.database_url, settings.business_timezone)
        knowledge = KnowledgeIndex()
        client = GuardedClient(timeout=settings.web_search_timeout)
        await store.start()
        try:
            await asyncio.to_thread(knowledge.build)
            await client.start()
        except BaseException:
            await store.stop()
            raise
        for task, builder in _BUILDERS.items():
            agent = builder(self._model)
            self._agents[task] = agent
            self._runners[task] = Runner(
                app_name=f"agentcluster_{task.value}", agent=agent, session_service=self._sessions
            )
        self._services = ToolServices(store=store, knowledge=knowledge, web=WebSearch(settings.web_search_url, client))
        logger.info("agent engine started: model=%s database=%s", self._model.model, store.safe_url())

    async def stop(self) -> None:
        """Close runners and clients (idempotent)."""
        services, self._services = self._services, None
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            await runner.close()
        if services is not None:
            await services.web.client.aclose()
            services.knowledge.close()
            await services.store.stop()

    def health(self) -> dict[str, object]:
        """Cheap, synchronous status for the replica's health check."""
        services = self._services
        return {
            "started": services is not None,
            "model": self._model.model if self._model is not None else None,
            "agents": sorted(task.value for task in self._runners),
            "sessions": self._sessions.count(),
            "in_flight": self._in_flight,
            "runs": self._runs,
            "failures": self._failures,
            "database": services.store.safe_url() if services else None,
            "knowledge_documents": services.knowledge.documents if services else 0,
            "web_search": bool(services and services.web.enabled),
        }

    async def run(self, request: AgentRequest) -> AgentResult:
        """Run the agent of ``request.task_type`` on the request; see the module docstring."""
        services = self._require()
        runner = self._runners[request.task_type]
        agent = self._agents[request.task_type]
        user_id = normalise_phone(request.contact.phone_number) or "anonymous"
        session_id = f"{request.message_id}/{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        collector = RunCollector()
        request_token = current_request.set(request)
        services_token = current_services.set(services)
        self._in_flight += 1
        try:
            state = initial_state(request, today=services.store.now().date().isoformat())
            session = await self._sessions.create_session(
                app_name=runner.app_name, user_id=user_id, state=state, session_id=session_id
            )
            for event in history_events(request, agent.name):
                await self._sessions.append_event(session, event)
            status = await self._drive(runner, user_id, session_id, request, collector)
        except AgentClusterError:
            self._failures += 1
            raise
        except Exception as exc:
            self._failures += 1
            error = classify(exc)
            logger.warning("run %s failed: %s", request.message_id, error)
            logger.debug("run %s failed", request.message_id, exc_info=True)
            raise error from exc
        finally:
            self._in_flight -= 1
            current_request.reset(request_token)
            current_services.reset(services_token)
            await self._sessions.delete_session(app_name=runner.app_name, user_id=user_id, session_id=session_id)
        self._runs += 1
        return AgentResult(
            text=collector.text,
            status=status,
            tools_used=tuple(collector.tools_used),
            reasoning_steps=tuple(collector.steps),
            tokens_used=collector.tokens,
            processing_time=time.perf_counter() - started,
        )

    async def _drive(
        self, runner: Runner, user_id: str, session_id: str, request: AgentRequest, collector: RunCollector
    ) -> ReplyStatus:
        deadline = self._settings.max_processing_time
        message = types.Content(role="user", parts=[types.Part(text=request.message.text)])
        try:
            async with asyncio.timeout(deadline) as timer:
                events = runner.run_async(
                    user_id=user_id, session_id=session_id, new_message=message, run_config=self._run_config
                )
                async with aclosing(events) as stream:
                    async for event in stream:
                        collector.add(event)
        except TimeoutError:
            if not timer.expired():
                raise
            if collector.text:
                return ReplyStatus.PARTIAL
            raise AgentTimeoutError(f"agent run exceeded MAX_PROCESSING_TIME ({deadline:g} s)") from None
        except LlmCallsLimitExceededError:
            if collector.text:
                return ReplyStatus.PARTIAL
            raise AgentFailedError(f"agent made {MAX_LLM_CALLS} model calls without answering") from None
        if not collector.text:
            reason = collector.error or "the model returned no text"
            raise AgentFailedError(f"agent produced no reply ({reason})")
        return ReplyStatus.SUCCESS
