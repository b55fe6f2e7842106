"""The business database behind the tools: one async engine per replica, read-only reads.

Why two kinds of connection: read tools (availability, order status, catalogue) must not be
able to change anything even if a bug or a prompt-injected argument tried to, so they run
in read-only transactions: on SQLite through a second engine whose connections have
``PRAGMA query_only = ON``; on PostgreSQL with ``SET TRANSACTION READ ONLY``. Writes on
SQLite start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the file lock instead
of failing half-way with "database is locked" when a reader upgrades.

Side-effecting tools go through :meth:`BusinessStore.idempotent`: the effect and the record
of its result commit in one transaction, keyed by ``(message_id, tool)``, so a redelivered
request returns the first result. The unique constraint settles the race of two attempts.

A PostgreSQL URL may carry ``?search_path=SCHEMA``: the schema is created if needed and
every connection uses it (tests use this to get tables of their own).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from agents.db.schema import business_info, metadata, tool_results
from agents.db.seed import seed
from contracts.errors import ConfigError

__all__ = ["BusinessStore", "ToolAction"]

logger = logging.getLogger(__name__)

#: A side effect run inside the store's write transaction; returns the tool's result dict.
ToolAction = Callable[[AsyncConnection], Awaitable[dict[str, Any]]]

_SEED_LOCK = 0x5EED_A6E7  # PostgreSQL advisory lock id held while creating and seeding


def _sqlite_pragmas(read_only: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    return on_connect


class BusinessStore:
    """The business database: create and seed on start, read-only reads, idempotent writes."""

    def __init__(self, url: str, timezone: str = "Africa/Kampala") -> None:
        try:
            self._url: URL = make_url(url)
        except Exception as exc:
            raise ConfigError(f"DATABASE_URL: cannot parse ({exc})") from None
        self.timezone = ZoneInfo(timezone)
        self._engine: AsyncEngine | None = None
        self._read_engine: AsyncEngine | None = None
        self._search_path = self._url.query.get("search_path")
        if isinstance(self._search_path, tuple):
            self._search_path = self._search_path[0]
        if self._search_path is not None and not self._search_path.replace("_", "").isalnum():
            raise ConfigError("DATABASE_URL: search_path must be a plain schema name (letters, digits, _)")

    @property
    def is_sqlite(self) -> bool:
        """Whether the backend is SQLite (else PostgreSQL)."""
        return self._url.get_backend_name() == "sqlite"

    def now(self) -> datetime:
        """The current time in the business's time zone."""
        return datetime.now(self.timezone)

    async def start(self) -> None:
        """Open the engines, then create and seed the tables if they do not exist yet."""
        if self._engine is not None:
            return
        if self.is_sqlite:
            database = self._url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = create_async_engine(self._url)
            self._read_engine = create_async_engine(self._url)
            for engine, read_only in ((self._engine, False), (self._read_engine, True)):
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas(read_only))
                begin_sql = "BEGIN" if read_only else "BEGIN IMMEDIATE"
                event.listen(engine.sync_engine, "begin", lambda conn, sql=begin_sql: conn.exec_driver_sql(sql))
        else:
            url = self._url.difference_update_query(["search_path"])
            connect_args: dict[str, Any] = {}
            if self._search_path:
                connect_args["server_settings"] = {"search_path": self._search_path}
            self._engine = create_async_engine(
                url, pool_size=5, max_overflow=5, pool_pre_ping=True, connect_args=connect_args
            )
            self._read_engine = self._engine
        await self._create_and_seed()

    async def _create_and_seed(self) -> None:
        assert self._engine is not None
        async with self._engine.begin() as conn:
            if not self.is_sqlite:
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SEED_LOCK})")
                if self._search_path:
                    await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self._search_path}"')
            await conn.run_sync(metadata.create_all)
            count = (await conn.execute(select(func.count()).select_from(business_info))).scalar_one()
            if count == 0:
                await seed(conn, self.now())
                logger.info("seeded the business database at %s", self.safe_url())

    async def stop(self) -> None:
        """Dispose of the engines (idempotent)."""
        engines = {id(e): e for e in (self._engine, self._read_engine) if e is not None}
        self._engine = self._read_engine = None
        for engine in engines.values():
            await engine.dispose()

    def safe_url(self) -> str:
        """The URL with any password masked."""
        return self._url.render_as_string(hide_password=True)

    def _require(self) -> tuple[AsyncEngine, AsyncEngine]:
        if self._engine is None or self._read_engine is None:
            raise RuntimeError("BusinessStore used before start()")
        return self._engine, self._read_engine

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read-only transaction."""
        _, read_engine = self._require()
        async with read_engine.connect() as conn, conn.begin():
            if not self.is_sqlite:
                await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read-write transaction, committed on success."""
        engine, _ = self._require()
        async with engine.begin() as conn:
            yield conn

    async def stored_result(self, message_id: str, tool: str) -> dict[str, Any] | None:
        """The recorded result of ``tool`` for request ``message_id``, if it ran before."""
        async with self.read() as conn:
            row = await conn.execute(
                select(tool_results.c.result_json).where(
                    tool_results.c.message_id == message_id, tool_results.c.tool == tool
                )
            )
            text = row.scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    async def idempotent(self, message_id: str, tool: str, action: ToolAction, attempts: int = 3) -> dict[str, Any]:
        """Run ``action`` at most once per ``(message_id, tool)`` and return its result.

        A successful result (``status == "success"``) is recorded in the same transaction as
        the effect; a repeat returns it with ``replayed: True``. A unique-constraint conflict
        (the same request racing itself, or another customer taking the slot) rolls the whole
        transaction back and the action is tried again on fresh data.
        """
        for attempt in range(attempts):
            previous = await self.stored_result(message_id, tool)
            if previous is not None:
                return {**previous, "replayed": True}
            try:
                async with self.write() as conn:
                    result = await action(conn)
                    if result.get("status") == "success":
                        await conn.execute(
                            insert(tool_results).values(
                                message_id=message_id,
                                tool=tool,
                                result_json=json.dumps(result, default=str),
                                created_at=self.now().isoformat(timespec="seconds"),
                            )
                        )
                return result
            except IntegrityError:
                logger.info("write conflict in %s for %s (attempt %d)", tool, message_id, attempt + 1)
        return {"status": "error", "message": "The booking system was busy; please try again."}

    async def health(self) -> dict[str, object]:
        """Whether the database answers a trivial query."""
        try:
            async with self.read() as conn:
                await conn.execute(select(1))
        except Exception as exc:
            return {"ok": False, "url": self.safe_url(), "error": type(exc).__name__}
        return {"ok": True, "url": self.safe_url()}
