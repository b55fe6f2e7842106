"""The webhook's HTTP surface: ``POST /webhook``, ``GET /health`` and a small admin API.

:func:`create_app` only wires routes to objects it is given; it opens nothing. The service
(:mod:`webhook.service`) starts the database, the broker and the consumers before serving.

Admin routes take the same secret as Wasender, as ``Authorization: Bearer <WEBHOOK_SECRET>``
or ``X-Webhook-Signature``, and are compared the same constant-time way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from contracts.errors import PublishError
from webhook.events import SIGNATURE_HEADER, parse_event, signature_ok
from webhook.intake import Intake, Outcome
from webhook.store import Store

__all__ = ["MAX_EVENT_BYTES", "ContactUpdate", "create_app"]

log = logging.getLogger("webhook.app")

#: Wasender events are a few KB; anything far larger is refused before it is parsed.
MAX_EVENT_BYTES = 1024 * 1024


class ContactUpdate(BaseModel):
    """Body of ``PUT /admin/contacts/{phone}``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    ai_enabled: bool | None = None
    notes: str | None = None


def _unauthorized() -> JSONResponse:
    return JSONResponse({"error": "invalid signature"}, status_code=401)


def create_app(
    intake: Intake,
    store: Store,
    secret: str | None,
    health: Callable[[], Awaitable[dict[str, Any]]],
) -> FastAPI:
    """The ASGI app; every dependency is passed in, so tests can build one around fakes."""
    app = FastAPI(title="agentcluster webhook", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(request: Request) -> bool:
        bearer = request.headers.get("authorization", "")
        token = bearer.removeprefix("Bearer ").strip() if bearer.startswith("Bearer ") else None
        return signature_ok(request.headers.get(SIGNATURE_HEADER) or token, secret)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        if not signature_ok(request.headers.get(SIGNATURE_HEADER), secret):
            log.warning("webhook refused: missing or wrong signature")
            return _unauthorized()
        body = await request.body()
        if len(body) > MAX_EVENT_BYTES:
            return JSONResponse({"error": "event too large"}, status_code=413)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        messages, skipped = parse_event(payload)
        outcomes: list[Outcome] = []
        for msg in messages:
            try:
                outcomes.append(await intake.handle(msg))
            except PublishError as exc:
                log.error("publish to ag_queue failed; Wasender will retry", extra={"error": str(exc)})
                return JSONResponse({"status": "error", "processed": False}, status_code=503)
        if not messages:
            return JSONResponse({"status": "ignored", "processed": False, "reasons": skipped})
        return JSONResponse(
            {"status": "received", "processed": True, "outcomes": [outcome.value for outcome in outcomes]}
        )

    @app.get("/health")
    async def health_route() -> JSONResponse:
        state = await health()
        return JSONResponse(state, status_code=200 if state.get("status") == "ok" else 503)

    @app.put("/admin/contacts/{phone}")
    async def update_contact(phone: str, update: ContactUpdate, request: Request) -> JSONResponse:
        if not authorized(request):
            return _unauthorized()
        row = await store.update_contact(_phone(phone), ai_enabled=update.ai_enabled, notes=update.notes)
        return JSONResponse({"phone": row.phone, "aiEnabled": row.ai_enabled, "notes": row.notes})

    @app.get("/admin/contacts/{phone}/messages")
    async def list_messages(phone: str, request: Request, since: int = 0) -> JSONResponse:
        if not authorized(request):
            return _unauthorized()
        rows = await store.messages(_phone(phone), since_id=since)
        return JSONResponse(
            [
                {
                    "id": row.id,
                    "direction": row.direction,
                    "text": row.text,
                    "requestId": row.request_id,
                    "taskType": row.task_type,
                    "replyStatus": row.reply_status,
                    "agentMetadata": row.agent_metadata,
                    "createdAt": row.created_at,
                }
                for row in rows
            ]
        )

    return app


def _phone(value: str) -> str:
    digits = value.strip().lstrip("+")
    return f"+{digits}"
