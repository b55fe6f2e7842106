"""``agentcluster ask``: run one request through the agent engine in-process, no broker, no Ray.

This is how a user tries an agent and how a bug report is reproduced: the same
:class:`~agents.engine.AgentEngine` a pool replica holds, with the same settings (``MODEL``,
``DATABASE_URL``, ...), on one request built from the command line or read from a file in
the ag_queue format.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

from cluster.settings import load_settings
from contracts.codec import decode_request, encode, error_reply, success_reply
from contracts.errors import AgentClusterError, ConfigError
from contracts.models import AgentRequest, ReplyStatus, TaskType

__all__ = ["register"]

EPILOG = """\
examples:
  agentcluster ask --task appointment --phone +256703722777 "book me a haircut tomorrow at 3pm"
  agentcluster ask --task order "where is my order ORD-1002?"
  agentcluster ask --file request.json --json
  MODEL=litellm/openai/gpt-4o-mini agentcluster ask "what are your opening hours?"

The model, database and web search come from the usual settings (MODEL, DATABASE_URL,
WEB_SEARCH_URL, ...); the default is the offline rule-based model and a local SQLite file.
Exit status: 0 answered, 1 the agent failed (the error says whether a retry could help),
2 invalid settings or arguments."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ask``."""
    parser = subparsers.add_parser(
        "ask",
        help="run one request through an agent in-process (no broker, no Ray)",
        description="Answer one WhatsApp message with the agent for TASK and print the reply and the tools used.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="?", help="the customer's message (omit with --file)")
    parser.add_argument(
        "--task",
        choices=[t.value for t in TaskType],
        default="conversation",
        help="which agent answers (default: conversation)",
    )
    parser.add_argument(
        "--phone", default="+256703722777", help="the customer's phone number (default: the spec's example)"
    )
    parser.add_argument("--name", default=None, help="the customer's display name")
    parser.add_argument(
        "--message-id", default=None, help="request messageId (default: a new UUID); reuse it to test idempotency"
    )
    parser.add_argument("--retry-count", type=int, default=0, help="metadata.retryCount of the request (default: 0)")
    parser.add_argument("--file", type=Path, help="read a whole ag_queue request (JSON) from this file instead")
    parser.add_argument("--json", action="store_true", help="print the wb_queue reply (JSON) instead of text")
    parser.set_defaults(func=_ask)


def _request(args: argparse.Namespace) -> AgentRequest:
    if args.file is not None:
        if args.text:
            raise ConfigError("ask: give either a message or --file, not both")
        return decode_request(args.file.read_bytes())
    if not args.text:
        raise ConfigError("ask: give the customer's message, or --file request.json")
    digits = "".join(ch for ch in args.phone if ch.isdigit())
    now = int(time.time())
    return AgentRequest.model_validate(
        {
            "messageId": args.message_id or str(uuid.uuid4()),
            "timestamp": now,
            "taskType": args.task,
            "contact": {"remoteJid": f"{digits}@s.whatsapp.net", "phoneNumber": args.phone, "name": args.name},
            "message": {"text": args.text, "messageId": f"cli-{uuid.uuid4().hex[:12]}", "timestamp": now},
            "metadata": {"retryCount": args.retry_count},
        }
    )


async def _run(args: argparse.Namespace, request: AgentRequest) -> int:
    from agents.engine import AgentEngine  # heavy (ADK): only when the command runs

    engine = AgentEngine(load_settings())
    await engine.start()
    try:
        result = await engine.run(request)
    except AgentClusterError as exc:
        if not args.json:
            raise
        print(json.dumps(json.loads(encode(error_reply(request.message_id, request.contact, exc))), indent=2))
        return 1
    finally:
        await engine.stop()
    if args.json:
        reply = success_reply(request, result.text, result.metadata(), partial=result.status is ReplyStatus.PARTIAL)
        print(json.dumps(json.loads(encode(reply)), indent=2, ensure_ascii=False))
        return 0
    print(result.text)
    print()
    print(f"tools: {', '.join(result.tools_used) or '(none)'}", file=sys.stdout)
    for step in result.reasoning_steps:
        print(f"  - {step}")
    print(f"status: {result.status.value}  tokens: {result.tokens_used}  time: {result.processing_time:.2f}s")
    return 0


def _ask(args: argparse.Namespace) -> int:
    request = _request(args)
    return asyncio.run(_run(args, request))
