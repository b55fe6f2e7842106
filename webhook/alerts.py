"""Telling a human: the admin alert for a reply the customer will not get.

Two channels, either or both: a JSON ``POST`` to ``ADMIN_ALERT_URL`` (Slack-style incoming
webhooks, PagerDuty, a chat bot), and a WhatsApp text to ``ADMIN_PHONE`` through the same
Wasender client. Alerting never raises: a failed alert is logged as an error, since the
caller has nothing better to do with it. Callers make sure each reply alerts once (the
ledger's ``abandon``/``unknown`` transitions succeed for exactly one caller).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from cluster.logs import mask_phone
from webhook.wasender import WasenderClient, WasenderError

__all__ = ["AdminAlerter"]

log = logging.getLogger("webhook.alerts")


class AdminAlerter:
    """Sends one alert per call to the configured URL and/or admin phone."""

    def __init__(
        self,
        client: WasenderClient | None,
        *,
        alert_url: str | None,
        admin_phone: str | None,
        timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.alert_url = alert_url
        self.admin_phone = admin_phone
        self.timeout = timeout
        self.sent = 0

    async def alert(self, kind: str, *, reply_id: str, phone: str, reason: str, attempts: int = 0) -> None:
        """Report one undeliverable reply; phone numbers are masked in the alert too."""
        payload: dict[str, Any] = {
            "event": f"webhook.{kind}",
            "replyId": reply_id,
            "contact": mask_phone(phone),
            "reason": reason[:500],
            "attempts": attempts,
            "timestamp": int(time.time()),
        }
        log.error("⚠️ Admin alert: reply not delivered", extra=payload)
        self.sent += 1
        if self.alert_url:
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.post(self.alert_url, json=payload)
                    response.raise_for_status()
            except httpx.HTTPError as exc:
                log.error("admin alert URL failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        if self.admin_phone and self.client is not None:
            text = (
                f"⚠️ agentcluster: reply {reply_id} to {mask_phone(phone)} was not delivered "
                f"({kind}, {attempts} attempts): {reason[:200]}"
            )
            try:
                await self.client.send_text(self.admin_phone, text)
            except WasenderError as exc:
                log.error("admin WhatsApp alert failed", extra={"error": str(exc)})
