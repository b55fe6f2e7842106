"""Per-run ADK sessions that leave nothing behind, seeded from the request's conversation history.

ADK's ``InMemorySessionService`` keeps every session until it is deleted, and even after
``delete_session`` it keeps an empty per-user dictionary: with one user id per WhatsApp
contact that is a slow leak in a replica that lives for weeks. :class:`EphemeralSessionService`
prunes those and can count what is left, which the soak test checks.

The webhook side sends the conversation as ``context.conversationHistory``; each turn becomes
an ADK event before the new message (user turns authored ``user``, assistant turns authored
by the agent), so a model sees the same history it would have seen had the session been kept.
"""

from __future__ import annotations

from google.adk.events.event import Event
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types

from contracts.models import AgentRequest, Role

__all__ = ["EphemeralSessionService", "history_events"]


class EphemeralSessionService(InMemorySessionService):
    """An in-memory session service whose deletes free everything the session used."""

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete the session and any per-user and per-app bucket it leaves empty."""
        await super().delete_session(app_name=app_name, user_id=user_id, session_id=session_id)
        users = self.sessions.get(app_name)
        if users is not None and not users.get(user_id):
            users.pop(user_id, None)
            user_state = self.user_state.get(app_name)
            if user_state is not None and not user_state.get(user_id):
                user_state.pop(user_id, None)
        if users is not None and not users:
            self.sessions.pop(app_name, None)

    def count(self) -> int:
        """Sessions currently held, across every app and user."""
        return sum(len(by_id) for by_user in self.sessions.values() for by_id in by_user.values())

    def buckets(self) -> int:
        """Per-user buckets currently held (0 when every session was deleted)."""
        return sum(len(by_user) for by_user in self.sessions.values())


def history_events(request: AgentRequest, agent_name: str) -> list[Event]:
    """The request's conversation history as session events, oldest first."""
    events: list[Event] = []
    for index, turn in enumerate(request.context.conversation_history):
        if not turn.content.strip():
            continue
        is_user = turn.role is Role.USER
        events.append(
            Event(
                invocation_id=f"history-{index}",
                author="user" if is_user else agent_name,
                content=types.Content(role="user" if is_user else "model", parts=[types.Part(text=turn.content)]),
            )
        )
    return events
