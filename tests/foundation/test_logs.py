"""Structured logs: phone numbers masked, extra fields kept, one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from cluster.logs import JsonFormatter, configure_logging, mask_phone, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+256703722777", "+256******777"),
        ("256703722777", "256******777"),
        ("256703722777@s.whatsapp.net", "256******777@s.whatsapp.net"),
        ("+1234567", "+123*567"),
        ("123456", "******"),
        ("+12", "+**"),
        ("", ""),
        (None, ""),
    ],
)
def test_given_a_phone_or_jid_when_masked_then_only_the_edges_remain(raw: str | None, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_given_free_text_with_phone_numbers_when_masked_then_every_number_is_masked() -> None:
    text = mask_text("call +256703722777 or 256 703 722 778 about order 42")
    assert "703722777" not in text and "722 778" not in text
    assert "+256******777" in text and "256******778" in text
    assert "order 42" in text


def record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("test.logs")
    return logger.makeRecord("test.logs", logging.INFO, __file__, 1, message, (), None, extra=extra)


def test_given_extra_fields_when_formatted_as_json_then_they_appear_beside_the_event() -> None:
    line = JsonFormatter().format(
        record(
            "📥 Consumed from ag_queue",
            message_id="uuid",
            contact=mask_phone("+256703722777"),
            task_type="conversation",
            tools_used=["db", "search"],
            processing_time=2.5,
        )
    )
    payload = json.loads(line)
    assert "\n" not in line
    assert payload["event"] == "📥 Consumed from ag_queue"
    assert payload["level"] == "INFO" and payload["logger"] == "test.logs"
    assert payload["ts"].endswith("Z")
    assert (payload["message_id"], payload["contact"], payload["task_type"]) == (
        "uuid",
        "+256******777",
        "conversation",
    )
    assert (payload["tools_used"], payload["processing_time"]) == (["db", "search"], 2.5)


def test_given_a_phone_number_in_the_event_text_when_formatted_then_it_is_masked() -> None:
    payload = json.loads(JsonFormatter().format(record("AI request queued for: +256703722777")))
    assert payload["event"] == "AI request queued for: +256******777"


def test_given_an_exception_when_formatted_then_the_traceback_is_one_field() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        rec = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    payload = json.loads(JsonFormatter().format(rec))
    assert "RuntimeError: boom" in payload["exc"]


def test_given_unserialisable_extra_when_formatted_then_it_is_stringified_not_a_crash() -> None:
    payload = json.loads(JsonFormatter().format(record("x", obj=object())))
    assert payload["obj"].startswith("<object object")


def test_given_configure_logging_called_twice_when_logging_then_one_handler_writes_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        configure_logging("INFO", "json")
        configure_logging("INFO", "json")
        ours = [h for h in root.handlers if getattr(h, "_agentcluster", False)]
        assert len(ours) == 1
        ours[0].stream = sys.stderr  # the handler captured the stderr of its creation
        logging.getLogger("test.cfg").info("hello", extra={"status": "success"})
        lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        assert json.loads(lines[-1])["status"] == "success"
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_agentcluster", False):
                root.removeHandler(handler)
        root.handlers[:] = before[0]
        root.setLevel(before[1])
