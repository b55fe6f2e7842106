"""`agentcluster send` builds a spec request from flags and publishes it to ag_queue."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cluster.broker import declare_topology, queue_state
from cluster.commands.send import build_request
from cluster.settings import Settings
from contracts.codec import decode_request


def _args(**overrides: Any) -> argparse.Namespace:
    values = {
        "text": "hello",
        "file": None,
        "task": "order",
        "phone": "+256700000001",
        "name": "Ann",
        "priority": "high",
    }
    values.update(overrides)
    return argparse.Namespace(**values)


def test_given_flags_when_building_then_a_valid_spec_request() -> None:
    request = decode_request(build_request(_args()))

    assert request.task_type.value == "order" and request.metadata.priority.value == "high"
    assert request.contact.remote_jid == "256700000001@s.whatsapp.net"
    assert request.message.text == "hello" and request.metadata.retry_count == 0


def test_given_a_file_when_building_then_it_is_validated_by_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"taskType": "nope"}))

    from contracts.errors import PoisonMessageError

    with pytest.raises(PoisonMessageError):
        build_request(_args(file=path))


@pytest.mark.rabbitmq
async def test_given_the_cli_when_sending_without_waiting_then_the_request_is_in_ag_queue(
    amqp: Any, settings: Settings
) -> None:
    await declare_topology(amqp, settings.topology())
    env = {
        **os.environ,
        "AGENT_QUEUE": settings.agent_queue,
        "WEBHOOK_QUEUE": settings.webhook_queue,
        "DLX_AGENT": settings.dlx_agent,
        "DLX_WEBHOOK": settings.dlx_webhook,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cluster.cli", "send", "--wait", "0", "where is my order 1042?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "sent " in result.stderr
    assert (await queue_state(amqp, settings.agent_queue))[0] == 1
