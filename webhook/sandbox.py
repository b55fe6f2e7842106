"""A LOCAL WHATSAPP SANDBOX: a stand-in for the Wasender API, for development and tests only.

It sends nothing to WhatsApp. It speaks the one Wasender call we use and records it:

* ``POST /api/send-message`` (``Authorization: Bearer <WASENDER_API_KEY>``, ``{"to", "text"}``)
  → ``200 {"success": true, "data": {"msgId", "jid", "status"}}``, or 401 for a wrong key.
* ``GET /sent``: every recorded send, oldest first (``DELETE /sent`` clears).
* ``POST /fail`` ``{"status": 500, "count": 2}`` or ``{"status": 429, "count": 1, "retryAfter": 1}``:
  the next ``count`` sends fail that way (failures queue up in order).
* ``POST /inbound`` ``{"phone", "text", "name"?, "eventId"?}``: builds a Wasender
  ``messages.upsert`` event, signs it with ``X-Webhook-Signature`` and posts it to the webhook;
  answers with the event id and the webhook's status and body.
* ``POST /alerts`` / ``GET /alerts``: a receiver for ``ADMIN_ALERT_URL`` in local runs.

``agentcluster sandbox`` runs it; :class:`Sandbox` embeds it in tests and in the local stack.
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from webhook.events import SIGNATURE_HEADER
from webhook.http import EmbeddedServer

__all__ = ["Sandbox", "inbound_event"]


def inbound_event(phone: str, text: str, *, name: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """A Wasender ``messages.upsert`` event as a customer's phone would cause it."""
    digits = phone.lstrip("+")
    now = int(time.time())
    return {
        "event": "messages.upsert",
        "timestamp": now,
        "data": {
            "messages": {
                "key": {
                    "id": event_id or uuid.uuid4().hex.upper()[:20],
                    "fromMe": False,
                    "remoteJid": f"{digits}@s.whatsapp.net",
                    "cleanedSenderPn": digits,
                },
                "messageBody": text,
                "message": {"conversation": text},
                "pushName": name,
                "messageTimestamp": now,
            }
        },
    }


class Sandbox:
    """The sandbox's state and app; ``start()``/``stop()`` serve it on ``host:port``."""

    def __init__(self, api_key: str, *, webhook_url: str | None = None, webhook_secret: str | None = None) -> None:
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sent: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.attempts = 0
        self.app = self._build()
        self._server: EmbeddedServer | None = None
        #: Base URL once started; kept after ``stop()`` so a test can point at the closed port.
        self.url = ""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve; returns the base URL (use it as ``WASENDER_API_URL``)."""
        self._server = EmbeddedServer(self.app, host, port, name="sandbox")
        self.url = await self._server.start()
        return self.url

    async def stop(self) -> None:
        """Stop serving (sends then fail with connection refused)."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def fail_next(self, status: int, count: int = 1, retry_after: float | None = None) -> None:
        """Make the next ``count`` sends answer ``status``."""
        self.failures.extend({"status": status, "retryAfter": retry_after} for _ in range(count))

    def _build(self) -> FastAPI:
        app = FastAPI(title="LOCAL WhatsApp sandbox (not Wasender)", docs_url=None, redoc_url=None, openapi_url=None)

        @app.post("/api/send-message")
        async def send_message(request: Request) -> JSONResponse:
            self.attempts += 1
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if not hmac.compare_digest(token.encode(), self.api_key.encode()):
                return JSONResponse({"success": False, "message": "Unauthenticated."}, status_code=401)
            if self.failures:
                failure = self.failures.pop(0)
                body: dict[str, Any] = {"success": False, "message": f"sandbox: injected {failure['status']}"}
                if failure["retryAfter"] is not None:
                    body["retry_after"] = failure["retryAfter"]
                return JSONResponse(body, status_code=failure["status"])
            payload = await request.json()
            to, text = payload.get("to"), payload.get("text")
            if not isinstance(to, str) or not isinstance(text, str) or not to or not text:
                return JSONResponse({"success": False, "message": "to and text are required"}, status_code=422)
            msg_id = len(self.sent) + 1
            self.sent.append({"msgId": msg_id, "to": to, "text": text, "at": time.time()})
            jid = f"{to.lstrip('+')}@s.whatsapp.net"
            return JSONResponse({"success": True, "data": {"msgId": msg_id, "jid": jid, "status": "in_progress"}})

        @app.get("/sent")
        async def sent() -> JSONResponse:
            return JSONResponse(self.sent)

        @app.delete("/sent")
        async def clear() -> JSONResponse:
            self.sent.clear()
            return JSONResponse({"cleared": True})

        @app.post("/fail")
        async def fail(request: Request) -> JSONResponse:
            spec = await request.json()
            self.fail_next(int(spec.get("status", 500)), int(spec.get("count", 1)), spec.get("retryAfter"))
            return JSONResponse({"pending": len(self.failures)})

        @app.post("/inbound")
        async def inbound(request: Request) -> JSONResponse:
            spec = await request.json()
            if not self.webhook_url:
                return JSONResponse({"error": "the sandbox was started without a webhook URL"}, status_code=409)
            event = inbound_event(spec["phone"], spec["text"], name=spec.get("name"), event_id=spec.get("eventId"))
            headers = {SIGNATURE_HEADER: self.webhook_secret or ""}
            async with httpx.AsyncClient(timeout=30.0) as http:
                response = await http.post(f"{self.webhook_url.rstrip('/')}/webhook", json=event, headers=headers)
            return JSONResponse(
                {
                    "eventId": event["data"]["messages"]["key"]["id"],
                    "webhookStatus": response.status_code,
                    "webhookBody": response.json() if response.content else None,
                }
            )

        @app.post("/alerts")
        async def alert(request: Request) -> JSONResponse:
            self.alerts.append(await request.json())
            return JSONResponse({"received": True})

        @app.get("/alerts")
        async def alerts() -> JSONResponse:
            return JSONResponse(self.alerts)

        return app
