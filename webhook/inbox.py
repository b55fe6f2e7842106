"""Store an inbound message and turn it into the spec's ``ag_queue`` request.

The contact and the message are written in one transaction; ``messages.wa_message_id`` is
unique, so a repeated Wasender event finds the earlier row instead of a second one. The
request ``messageId`` (uuid4) is minted once and stored with the message, so publishing it
again after a failed publish carries the same id and the agent side's reply dedupe holds.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update

from contracts.models import (
    AgentRequest,
    Contact,
    ConversationContext,
    HistoryTurn,
    InboundMessage,
    RequestMetadata,
    Role,
)
from webhook.classifier import classify, priority_for
from webhook.events import InboundText, country_code
from webhook.store import ContactRow, MessageRow, Store

__all__ = ["Inbox", "Recorded"]


@dataclass(frozen=True)
class Recorded:
    """What :meth:`Inbox.record` stored (or found, for a repeated event), with the context."""

    row_id: int
    contact_id: int
    request_id: str
    task_type: str
    duplicate: bool
    published: bool
    ai_enabled: bool
    notes: str | None
    first_seen: float
    history: tuple[HistoryTurn, ...]


class Inbox:
    """Records inbound messages and builds requests with their conversation context."""

    def __init__(self, store: Store, *, history_limit: int = 10, max_retries: int = 3) -> None:
        self.store = store
        self.history_limit = history_limit
        self.max_retries = max_retries

    async def record(self, msg: InboundText) -> Recorded:
        """Upsert the contact, insert the message unless its event id is stored, read the history.

        One transaction and four statements on the new-message path (this is the hot path of
        ``POST /webhook``): Core statements with ``RETURNING`` rather than ORM objects.
        """
        now = time.time()
        contacts, messages = ContactRow.__table__, MessageRow.__table__
        upsert = self.store.insert(ContactRow).values(
            phone=msg.phone,
            remote_jid=msg.remote_jid,
            name=msg.name,
            ai_enabled=True,
            created_at=now,
            updated_at=now,
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["phone"],
            set_={
                "remote_jid": upsert.excluded.remote_jid,
                "name": func.coalesce(upsert.excluded.name, contacts.c.name),
                "updated_at": upsert.excluded.updated_at,
            },
        ).returning(contacts.c.id, contacts.c.ai_enabled, contacts.c.notes, contacts.c.created_at)
        task = classify(msg.text).value
        async with self.store.session() as session, session.begin():
            contact_id, ai_enabled, notes, first_seen = (await session.execute(upsert)).one()
            insert = (
                self.store.insert(MessageRow)
                .values(
                    contact_id=contact_id,
                    direction="in",
                    text=msg.text,
                    wa_message_id=msg.event_id,
                    request_id=str(uuid.uuid4()),
                    task_type=task,
                    published=False,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["wa_message_id"])
                .returning(messages.c.id, messages.c.request_id, messages.c.task_type, messages.c.published)
            )
            row = (await session.execute(insert)).one_or_none()
            duplicate = row is None
            if row is None:
                found = select(messages.c.id, messages.c.request_id, messages.c.task_type, messages.c.published)
                row = (await session.execute(found.where(messages.c.wa_message_id == msg.event_id))).one()
            row_id, request_id, task_type, published = row
            turns = (
                await session.execute(
                    select(messages.c.direction, messages.c.text)
                    .where(messages.c.contact_id == contact_id, messages.c.id < row_id)
                    .order_by(messages.c.id.desc())
                    .limit(self.history_limit)
                )
            ).all()
        history = tuple(
            HistoryTurn(role=Role.USER if direction == "in" else Role.ASSISTANT, content=text)
            for direction, text in reversed(turns)
        )
        return Recorded(
            row_id=row_id,
            contact_id=contact_id,
            request_id=request_id or "",
            task_type=task_type or task,
            duplicate=duplicate,
            published=bool(published),
            ai_enabled=bool(ai_enabled),
            notes=notes,
            first_seen=float(first_seen),
            history=history,
        )

    async def mark_published(self, row_id: int) -> None:
        """Remember that the request of this message reached ``ag_queue``."""
        async with self.store.session() as session, session.begin():
            await session.execute(update(MessageRow).where(MessageRow.id == row_id).values(published=True))

    def build_request(self, rec: Recorded, msg: InboundText) -> AgentRequest:
        """The spec's request: contact, message, recent history, notes and session data."""
        return AgentRequest(
            message_id=rec.request_id,
            timestamp=int(time.time()),
            task_type=rec.task_type,  # type: ignore[arg-type]
            contact=Contact(
                remote_jid=msg.remote_jid, phone_number=msg.phone, name=msg.name, country_code=country_code(msg.phone)
            ),
            message=InboundMessage(text=msg.text, message_id=msg.event_id, timestamp=msg.timestamp),
            context=ConversationContext(
                conversation_history=rec.history,
                user_notes=rec.notes,
                session_data={"contactId": rec.contact_id, "firstSeen": int(rec.first_seen)},
            ),
            metadata=RequestMetadata(priority=priority_for(msg.text, rec.notes), max_retries=self.max_retries),
        )
