"""``agentcluster``: help for every command, and ``topology declare|verify|export`` in a real subprocess."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aio_pika.abc import AbstractRobustConnection

from cluster.broker import verify_topology
from cluster.cli import build_parser
from cluster.settings import Settings

AGENTCLUSTER = Path(sys.executable).with_name("agentcluster")
RABBITMQCTL = shutil.which("rabbitmqctl")


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTCLUSTER), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def subcommands() -> Iterator[tuple[str, ...]]:
    """Every command path of the parser: ``("topology",)``, ``("topology", "declare")``, ..."""

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield (*prefix, name)
                    yield from walk(sub, (*prefix, name))

    yield from walk(build_parser(), ())


def settings_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The environment that makes a subprocess use the test's unique names (and no .env)."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in {f.upper() for f in Settings.model_fields}}
    env.update(
        AGENT_QUEUE=settings.agent_queue,
        WEBHOOK_QUEUE=settings.webhook_queue,
        DLX_AGENT=settings.dlx_agent,
        DLX_WEBHOOK=settings.dlx_webhook,
        RETRY_DELAY=str(settings.retry_delay),
        RETRY_BACKOFF=str(settings.retry_backoff),
        RABBITMQ_HOST="127.0.0.1",
    )
    return env


def test_given_the_cli_when_asking_for_help_then_it_exits_0_and_lists_topology() -> None:
    done = run("--help")
    assert done.returncode == 0, done.stderr
    assert "topology" in done.stdout
    assert "usage: agentcluster" in done.stdout


@pytest.mark.parametrize("command", list(subcommands()), ids=" ".join)
def test_given_each_subcommand_when_asking_for_help_then_it_exits_0(command: tuple[str, ...]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert f"usage: agentcluster {' '.join(command)}" in done.stdout


def test_given_the_parser_when_listing_topology_actions_then_declare_verify_and_export_exist() -> None:
    assert {("topology", action) for action in ("declare", "verify", "export")} <= set(subcommands())


def test_given_no_command_when_run_then_it_exits_with_usage_error() -> None:
    done = run()
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_given_export_when_written_then_it_is_the_definitions_document_of_the_settings(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "definitions.json"
    done = run("topology", "export", "-o", str(out), env=settings_env(settings, tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document == settings.topology().definitions("/")
    assert set(document) == {"vhosts", "exchanges", "queues", "bindings"}
    queues = {q["name"]: q for q in document["queues"]}
    assert queues[settings.agent_queue]["arguments"] == {
        "x-message-ttl": 300_000,
        "x-dead-letter-exchange": settings.dlx_agent,
    }
    assert queues[settings.webhook_queue]["arguments"] == {
        "x-message-ttl": 60_000,
        "x-dead-letter-exchange": settings.dlx_webhook,
    }
    assert all(q["durable"] and not q["auto_delete"] and q["vhost"] == "/" for q in document["queues"])
    assert {(e["name"], e["type"], e["durable"]) for e in document["exchanges"]} == {
        (settings.dlx_agent, "fanout", True),
        (settings.dlx_webhook, "fanout", True),
    }
    assert {(b["source"], b["destination"], b["destination_type"]) for b in document["bindings"]} == {
        (settings.dlx_agent, settings.dlx_agent, "queue"),
        (settings.dlx_webhook, settings.dlx_webhook, "queue"),
    }
    to_stdout = run("topology", "export", env=settings_env(settings, tmp_path), cwd=tmp_path)
    assert json.loads(to_stdout.stdout) == document


@pytest.mark.rabbitmq
async def test_given_unique_names_when_topology_declare_runs_then_the_broker_has_exactly_the_design_arguments(
    amqp: AbstractRobustConnection, settings: Settings, tmp_path: Path
) -> None:
    env = settings_env(settings, tmp_path)
    done = await asyncio.to_thread(run, "topology", "verify", env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert "does not exist" in done.stderr

    done = await asyncio.to_thread(run, "topology", "declare", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f'declared {settings.agent_queue} {{"x-dead-letter-exchange": "{settings.dlx_agent}", ' in done.stdout
    await verify_topology(amqp, settings.topology())

    again = await asyncio.to_thread(run, "topology", "declare", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    verified = await asyncio.to_thread(run, "topology", "verify", env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "ok:" in verified.stdout and "guest:***@" in verified.stdout

    if RABBITMQCTL is None:
        pytest.skip("rabbitmqctl is not installed; checked by verify only")
    listed = await asyncio.to_thread(
        subprocess.run,
        [RABBITMQCTL, "-q", "list_queues", "name", "arguments", "durable", "--formatter", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ours = {q.name for q in settings.topology().queues}
    live = {
        row["name"]: ({key: value for key, _type, value in row["arguments"]}, row["durable"])
        for row in json.loads(listed.stdout)
        if row["name"] in ours
    }
    assert live[settings.agent_queue] == (
        {"x-message-ttl": 300_000, "x-dead-letter-exchange": settings.dlx_agent},
        True,
    )
    assert live[settings.webhook_queue] == (
        {"x-message-ttl": 60_000, "x-dead-letter-exchange": settings.dlx_webhook},
        True,
    )
    assert live[settings.dlx_agent] == ({}, True)
    assert live[settings.dlx_webhook] == ({}, True)
    retry = {name: args for name, (args, _) in live.items() if ".retry." in name}
    assert retry == {
        f"{settings.agent_queue}.retry.200ms": {
            "x-message-ttl": 200,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.agent_queue,
        },
        f"{settings.agent_queue}.retry.400ms": {
            "x-message-ttl": 400,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.agent_queue,
        },
        f"{settings.agent_queue}.retry.800ms": {
            "x-message-ttl": 800,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.agent_queue,
        },
        f"{settings.webhook_queue}.retry.200ms": {
            "x-message-ttl": 200,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.webhook_queue,
        },
        f"{settings.webhook_queue}.retry.400ms": {
            "x-message-ttl": 400,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.webhook_queue,
        },
        f"{settings.webhook_queue}.retry.800ms": {
            "x-message-ttl": 800,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": settings.webhook_queue,
        },
    }
    assert set(live) == ours


@pytest.mark.rabbitmq
async def test_given_a_drifted_queue_when_topology_verify_runs_then_it_prints_the_drift_and_exits_1(
    amqp: AbstractRobustConnection, settings: Settings, tmp_path: Path
) -> None:
    channel = await amqp.channel()
    await channel.declare_queue(
        settings.agent_queue, durable=True, arguments={"x-message-ttl": 1000, "x-dead-letter-exchange": "elsewhere"}
    )
    await channel.close()
    done = await asyncio.to_thread(run, "topology", "declare", env=settings_env(settings, tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert f"queue '{settings.agent_queue}'" in done.stderr
    assert "on the broker but the contract expects" in done.stderr
    assert "Traceback" not in done.stderr
