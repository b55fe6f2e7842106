"""``agentcluster ask`` runs one request in-process and prints the reply, or the wb_queue JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster.cli import main
from tests.agents.conftest import make_request


@pytest.fixture(autouse=True)
def _local_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'business.db'}")
    monkeypatch.setenv("MODEL", "offline")


def test_given_a_message_when_asked_then_reply_and_tools_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--task", "order", "--phone", "+256703722777", "where is my order ORD-1002?"]) == 0
    out = capsys.readouterr().out
    assert "out for delivery" in out
    assert "tools: get_order_status" in out


def test_given_a_request_file_when_asked_with_json_then_the_spec_reply_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = make_request("search", "What is your refund policy?", message_id="file-1")
    path = tmp_path / "request.json"
    path.write_text(request.model_dump_json(by_alias=True))
    assert main(["ask", "--file", str(path), "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["originalMessageId"] == "file-1" and reply["status"] == "success"
    assert reply["agentMetadata"]["toolsUsed"] == ["search_knowledge"]
    assert "7 days" in reply["response"]["text"]
    assert reply["contact"]["phoneNumber"] == "+256703722777"


def test_given_a_permanent_model_failure_when_asked_with_json_then_an_error_reply_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODEL", "chaos:offline")
    assert main(["ask", "--json", "hello #permanent"]) == 1
    reply = json.loads(capsys.readouterr().out)
    assert reply["status"] == "error" and reply["error"]["code"] == "AGENT_FAILED"


def test_given_no_message_when_asked_then_exit_2_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask"]) == 2
    assert "--file" in capsys.readouterr().err
