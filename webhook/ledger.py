"""The delivery ledger: a row per outgoing answer, written *before* the send.

The key is ``reply_id(originalMessageId)`` (:func:`contracts.codec.reply_id`): equal to the
reply's ``messageId`` for this project's agents, and shared by an error reply and a
dead-lettered request of the same request, so a customer gets at most one answer per
message, whichever arrives first (a real answer is never replaced by a later fallback).

States and the crash windows they close::

    pending ──mark_sending──► sending ──mark_sent──► sent            (final: duplicates dropped)
       ▲                         ├──mark_failed──► failed ──claim──► pending   (definite failure)
       │                         └─(crash / stale)─► unknown         (final: never resent)
       └───────── claim of a stale ``pending`` (the HTTP call never started)
    failed ──abandon──► abandoned (retries exhausted, admin alerted once)   rejected (4xx, final)

1. Crash after the claim, before the HTTP call: the row is ``pending``. Nothing was sent,
   so the redelivered reply takes it over (at once in the same process; after the lease when
   another process owned it) and sends it.
2. Crash during the HTTP call, or after Wasender's 200 but before ``sent`` is written: the row
   is ``sending`` and nobody can tell whether the customer got it. It becomes ``unknown``: never
   resent (a customer never receives the same reply twice), logged as an error, admin alerted.
3. Crash after ``sent`` is written, before the ack: the redelivery finds ``sent`` and is dropped.
4. Graceful stop: a send already on the wire is shielded and finishes (see
   :mod:`webhook.replies`); claims still waiting for a rate-limit slot are released to
   ``failed`` by :meth:`Ledger.release_pending`, so the next process sends them at once.
5. Two copies of one reply at once: the second finds the first's row; inside one process it is
   dropped while the first is active; from another process it waits for the lease (retry ladder).

``owner`` names the process (a uuid per service start); ``lease`` is how long another owner's
``pending``/``sending`` row is trusted to belong to a live process.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from sqlalchemy import select, update

from contracts.codec import reply_id
from contracts.models import AgentReply, ReplyStatus
from webhook.store import ContactRow, DeliveryRow, MessageRow, Store, jid_of

__all__ = ["FINAL_STATES", "Claim", "Ledger", "Sent", "delivery_key"]

FINAL_STATES = frozenset({"sent", "unknown", "rejected", "abandoned"})


def delivery_key(original_message_id: str) -> str:
    """The ledger key of the answer to a request."""
    return reply_id(original_message_id)


class Claim(enum.StrEnum):
    """The ledger's verdict on a reply about to be sent."""

    SEND = "send"  # this process owns the row: send it
    SENT = "sent"  # already delivered: drop
    ACTIVE = "active"  # being sent right now by this process: drop this copy
    BUSY = "busy"  # another process holds a fresh claim: retry later
    FINAL = "final"  # unknown, rejected, abandoned, or superseded by a real answer: drop
    UNKNOWN = "unknown"  # a stale ``sending`` row was just marked unknown: alert, drop


@dataclass(frozen=True)
class Sent:
    """What :meth:`Ledger.mark_sent` recorded."""

    latency: float | None


class Ledger:
    """Claims, state changes and the outgoing message row, all through :class:`Store`."""

    def __init__(self, store: Store, owner: str, *, lease: float) -> None:
        self.store = store
        self.owner = owner
        self.lease = lease
        self.active: set[str] = set()

    async def claim(self, key: str, reply: AgentReply) -> Claim:
        """Insert the row, or decide what an existing row means for this copy."""
        now = time.time()
        async with self.store.session() as session, session.begin():
            stmt = (
                self.store.insert(DeliveryRow)
                .values(
                    key=key,
                    reply_message_id=reply.message_id,
                    original_message_id=reply.original_message_id,
                    phone=reply.contact.phone_number,
                    reply_status=reply.status.value,
                    state="pending",
                    owner=self.owner,
                    attempts=0,
                    claimed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(DeliveryRow.key)
            )
            if (await session.execute(stmt)).scalar_one_or_none() is not None:
                self.active.add(key)
                return Claim.SEND
            row = (
                await session.execute(select(DeliveryRow).where(DeliveryRow.key == key).with_for_update())
            ).scalar_one()
            if row.state == "sent":
                return Claim.SENT
            if row.state in FINAL_STATES:
                return Claim.FINAL
            if reply.status is ReplyStatus.ERROR and row.reply_status != ReplyStatus.ERROR.value:
                return Claim.FINAL  # the real answer is on its way: no fallback on top of it
            mine = row.owner == self.owner
            if mine and key in self.active:
                return Claim.ACTIVE
            stale = mine or now - row.claimed_at > self.lease
            if row.state in ("pending", "sending") and not stale:
                return Claim.BUSY
            if row.state == "sending":
                row.state, row.error = "unknown", "interrupted during the HTTP call; not resent"
                return Claim.UNKNOWN
            row.state, row.owner, row.claimed_at = "pending", self.owner, now
            row.reply_message_id, row.reply_status = reply.message_id, reply.status.value
            self.active.add(key)
            return Claim.SEND

    async def mark_sending(self, key: str) -> None:
        """The HTTP call starts now: from here on a crash means ``unknown``."""
        await self._set(key, ("pending",), state="sending", attempts=DeliveryRow.attempts + 1)

    async def mark_failed(self, key: str, error: str, *, final_state: str = "failed") -> None:
        """The send definitely failed (``failed``: retry allowed) or ended (``rejected``/``unknown``)."""
        await self._set(key, ("pending", "sending"), state=final_state, error=error[:2000])
        self.active.discard(key)

    def release(self, key: str) -> None:
        """Forget that this process is working on ``key`` (after any outcome)."""
        self.active.discard(key)

    async def mark_sent(self, key: str, reply: AgentReply, text: str) -> Sent:
        """Mark ``sent`` and store the outgoing message in the same transaction."""
        now = time.time()
        phone = reply.contact.phone_number
        async with self.store.session() as session, session.begin():
            await session.execute(
                update(DeliveryRow).where(DeliveryRow.key == key).values(state="sent", sent_at=now, error=None)
            )
            contact_stmt = self.store.insert(ContactRow).values(
                phone=phone, remote_jid=reply.contact.remote_jid or jid_of(phone), name=reply.contact.name,
                ai_enabled=True, created_at=now, updated_at=now,
            )  # fmt: skip
            await session.execute(contact_stmt.on_conflict_do_nothing(index_elements=["phone"]))
            contact_id = (await session.execute(select(ContactRow.id).where(ContactRow.phone == phone))).scalar_one()
            asked_at = (
                await session.execute(
                    select(MessageRow.created_at).where(
                        MessageRow.request_id == reply.original_message_id, MessageRow.direction == "in"
                    )
                )
            ).scalar_one_or_none()
            session.add(
                MessageRow(
                    contact_id=contact_id,
                    direction="out",
                    text=text,
                    request_id=reply.original_message_id,
                    published=False,
                    reply_status=reply.status.value,
                    agent_metadata=reply.agent_metadata.model_dump(by_alias=True, mode="json"),
                    created_at=now,
                )
            )
        self.active.discard(key)
        return Sent(latency=now - asked_at if asked_at is not None else None)

    async def abandon(self, key: str, reply: AgentReply, error: str) -> bool:
        """Give up on a reply after its last retry; True for exactly one caller (who alerts)."""
        now = time.time()
        async with self.store.session() as session, session.begin():
            stmt = (
                self.store.insert(DeliveryRow)
                .values(
                    key=key, reply_message_id=reply.message_id, original_message_id=reply.original_message_id,
                    phone=reply.contact.phone_number, reply_status=reply.status.value, state="abandoned",
                    owner=self.owner, attempts=0, error=error[:2000], claimed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(DeliveryRow.key)
            )  # fmt: skip
            if (await session.execute(stmt)).scalar_one_or_none() is not None:
                return True
            result = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.state.in_(("pending", "failed")))
                .values(state="abandoned", error=error[:2000])
            )
            return bool(getattr(result, "rowcount", 0))

    async def release_pending(self) -> int:
        """At shutdown: this process's unsent claims become ``failed`` so the next owner sends them."""
        async with self.store.session() as session, session.begin():
            result = await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.owner == self.owner, DeliveryRow.state == "pending")
                .values(state="failed", error="released at shutdown before sending")
            )
        self.active.clear()
        return int(getattr(result, "rowcount", 0) or 0)

    async def state(self, key: str) -> str | None:
        """The row's state (tests and the dlx monitor)."""
        async with self.store.session() as session:
            return (await session.execute(select(DeliveryRow.state).where(DeliveryRow.key == key))).scalar_one_or_none()

    async def _set(self, key: str, from_states: tuple[str, ...], **values: object) -> None:
        async with self.store.session() as session, session.begin():
            await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == key, DeliveryRow.state.in_(from_states), DeliveryRow.owner == self.owner)
                .values(**values)
            )
