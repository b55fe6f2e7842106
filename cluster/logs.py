"""Structured logging: JSON lines in production, plain text for development.

The spec's events are logged with ``extra={...}`` fields (``message_id``, ``contact``,
``task_type``, ``processing_time``, ``tools_used``, ``status``). Phone numbers are masked
with :func:`mask_phone` before they are logged, and message bodies are only ever logged at
DEBUG. Nothing here runs at import: processes call :func:`configure_logging` once.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

__all__ = ["JsonFormatter", "configure_logging", "mask_phone", "mask_text"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_PHONE = re.compile(r"\+?\d[\d ]{7,}\d")


def mask_phone(value: str | None) -> str:
    """``+256703722777`` → ``+256******777``; JIDs keep their domain."""
    if not value:
        return ""
    local, at, domain = value.partition("@")
    digits = local.lstrip("+")
    plus = "+" if local.startswith("+") else ""
    if len(digits) <= 6:
        return f"{plus}{'*' * len(digits)}{at}{domain}"
    return f"{plus}{digits[:3]}{'*' * (len(digits) - 6)}{digits[-3:]}{at}{domain}"


def mask_text(text: str) -> str:
    """Mask every phone-number-looking run of digits in free text."""
    return _PHONE.sub(lambda m: mask_phone(m.group(0).replace(" ", "")), text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": mask_text(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        return f"{base} {extras}" if extras else base


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install one stderr handler on the root logger (replacing ours from an earlier call)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_agentcluster", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._agentcluster = True  # type: ignore[attr-defined]
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiormq", "aio_pika", "httpx", "google_adk", "google_genai", "LiteLLM"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
