"""The webhook side's database: contacts, messages and the delivery ledger.

SQLAlchemy's async engine over SQLite (default, one file) or PostgreSQL. Uniqueness does the
deduplication, so it holds across processes and restarts, not just inside one event loop:

* ``messages.wa_message_id`` is unique: a repeated Wasender event id is stored once.
* ``deliveries.key`` is the primary key: one outgoing answer per original request (see
  :mod:`webhook.delivery` for the states and the crash windows they close).

Inserts that may collide use the dialect's ``ON CONFLICT DO NOTHING`` instead of catching
``IntegrityError``, which on PostgreSQL would abort the whole transaction.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import CreateSchema

__all__ = ["Base", "ContactRow", "DeliveryRow", "MessageRow", "Store"]


class Base(DeclarativeBase):
    """Declarative base of the webhook tables."""


class ContactRow(Base):
    """A WhatsApp contact; AI answers are on unless an admin turned them off."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    remote_jid: Mapped[str] = mapped_column(String(256))
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ai_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class MessageRow(Base):
    """One message in either direction; ``request_id`` links an answer to its question."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    text: Mapped[str] = mapped_column(Text)
    wa_message_id: Mapped[str | None] = mapped_column(String(256), unique=True, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    task_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agent_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, index=True)


class DeliveryRow(Base):
    """The ledger of outgoing answers, written before the send (see :mod:`webhook.delivery`)."""

    __tablename__ = "deliveries"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    reply_message_id: Mapped[str] = mapped_column(String(256))
    original_message_id: Mapped[str] = mapped_column(String(256))
    phone: Mapped[str] = mapped_column(String(32))
    reply_status: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Store:
    """Owns the engine; ``start()`` creates the tables, ``stop()`` disposes the pool.

    ``schema`` (PostgreSQL only) puts the tables in a schema of their own, which tests use to
    stay apart from each other.
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._engine is not None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return make_url(self.url).get_backend_name()

    async def start(self) -> None:
        """Open the engine and create missing tables (idempotent)."""
        url = make_url(self.url)
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
            # One connection: SQLite has one writer anyway, and queueing in asyncio (fair, no
            # sleeps) beats SQLite's busy handler, whose back-off sleeps made p99 seconds long.
            kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
        engine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if self.schema:
            engine = engine.execution_options(schema_translate_map={None: self.schema})
        async with engine.begin() as conn:
            if self.schema:
                await conn.execute(CreateSchema(self.schema, if_not_exists=True))
            await conn.run_sync(Base.metadata.create_all)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def stop(self) -> None:
        """Dispose the connection pool."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
            self._sessions = None

    def session(self) -> AsyncSession:
        """A new session; fails loudly before ``start()``."""
        if self._sessions is None:
            raise RuntimeError("Store.start() has not been awaited")
        return self._sessions()

    def insert(self, table: type[Base]) -> Any:
        """A dialect ``INSERT`` that supports ``on_conflict_do_nothing``."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)

    async def drop_all(self) -> None:
        """Drop the tables (tests only)."""
        if self._engine is None:
            raise RuntimeError("Store.start() has not been awaited")
        async with self._engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)

    # --- contacts (admin) ---

    async def contact(self, phone: str) -> ContactRow | None:
        """The contact with this phone number (``+`` and digits), if known."""
        async with self.session() as session:
            return (await session.execute(select(ContactRow).where(ContactRow.phone == phone))).scalar_one_or_none()

    async def update_contact(
        self, phone: str, *, ai_enabled: bool | None = None, notes: str | None = None
    ) -> ContactRow:
        """Set AI on/off or the notes, creating the contact when it has not written yet."""
        now = time.time()
        async with self.session() as session, session.begin():
            stmt = self.insert(ContactRow).values(
                phone=phone, remote_jid=jid_of(phone), ai_enabled=True, created_at=now, updated_at=now
            )
            await session.execute(stmt.on_conflict_do_nothing(index_elements=["phone"]))
            row = (await session.execute(select(ContactRow).where(ContactRow.phone == phone))).scalar_one()
            if ai_enabled is not None:
                row.ai_enabled = ai_enabled
            if notes is not None:
                row.notes = notes or None
            row.updated_at = now
        return row

    async def inbound(self, event_id: str) -> MessageRow | None:
        """The stored inbound message of a Wasender event id."""
        async with self.session() as session:
            stmt = select(MessageRow).where(MessageRow.wa_message_id == event_id)
            return (await session.execute(stmt)).scalar_one_or_none()

    async def answer(self, request_id: str) -> MessageRow | None:
        """The outgoing answer to a request, once it was sent."""
        async with self.session() as session:
            stmt = select(MessageRow).where(MessageRow.request_id == request_id, MessageRow.direction == "out")
            return (await session.execute(stmt.limit(1))).scalar_one_or_none()

    async def messages(self, phone: str, *, since_id: int = 0, limit: int = 100) -> list[MessageRow]:
        """The contact's messages after ``since_id``, oldest first."""
        async with self.session() as session:
            stmt = (
                select(MessageRow)
                .join(ContactRow, ContactRow.id == MessageRow.contact_id)
                .where(ContactRow.phone == phone, MessageRow.id > since_id)
                .order_by(MessageRow.id)
                .limit(limit)
            )
            return list((await session.execute(stmt)).scalars())


def jid_of(phone: str) -> str:
    """``+256703722777`` → ``256703722777@s.whatsapp.net``."""
    return f"{phone.lstrip('+')}@s.whatsapp.net"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the HTTP handlers read while the consumer writes; busy_timeout waits for locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
