"""``agentcluster send``: publish one spec request to ag_queue and print the reply."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika

from cluster.settings import Settings, load_settings
from contracts.codec import decode_request, encode

__all__ = ["build_request", "register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``send``."""
    parser = subparsers.add_parser(
        "send",
        help="publish a request to ag_queue and wait for its reply",
        description="Publish one request in the spec's format (from flags or a JSON file) and print the reply "
        "from wb_queue when it arrives. Other replies met while waiting are put back. If a webhook service "
        "consumes wb_queue too, it may take the reply first; send then says so after --wait seconds.",
    )
    parser.add_argument("text", nargs="?", help="the customer's message")
    parser.add_argument("--file", type=Path, help="a JSON request in the spec's format")
    parser.add_argument("--task", default="conversation", choices=["conversation", "appointment", "order", "search"])
    parser.add_argument("--phone", default="+256703722777")
    parser.add_argument("--name", default="John Doe")
    parser.add_argument("--priority", default="normal", choices=["normal", "high", "urgent"])
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the reply (0: don't wait)")
    parser.set_defaults(func=_send)


def build_request(args: argparse.Namespace) -> bytes:
    """The request body from ``--file`` or the flags, validated by the contract."""
    if args.file:
        body = args.file.read_bytes()
    else:
        if not args.text:
            raise SystemExit("agentcluster send: give the message text or --file")
        now = int(time.time())
        phone = args.phone
        data: dict[str, Any] = {
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "taskType": args.task,
            "contact": {"remoteJid": f"{phone.lstrip('+')}@s.whatsapp.net", "phoneNumber": phone, "name": args.name},
            "message": {"text": args.text, "messageId": f"cli-{uuid.uuid4().hex[:16]}", "timestamp": now},
            "context": {"conversationHistory": [], "sessionData": {}},
            "metadata": {"priority": args.priority, "retryCount": 0, "maxRetries": 3},
        }
        body = json.dumps(data).encode()
    return encode(decode_request(body))


async def _roundtrip(settings: Settings, body: bytes, wait: float) -> dict[str, Any] | None:
    from cluster.broker import connect

    request = decode_request(body)
    connection = await connect(settings, name="agentcluster-send")
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(
                body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=request.message_id,
            ),
            settings.agent_queue,
            mandatory=True,
        )
        print(f"sent {request.message_id} to {settings.agent_queue}", file=sys.stderr)
        if wait <= 0:
            return None
        queue = await channel.get_queue(settings.webhook_queue, ensure=False)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            if message.correlation_id == request.message_id:
                await message.ack()
                return dict(json.loads(message.body))
            await message.nack(requeue=True)
            await asyncio.sleep(0.05)
        return None
    finally:
        await connection.close()


def _send(args: argparse.Namespace) -> int:
    settings = load_settings()
    body = build_request(args)
    reply = asyncio.run(_roundtrip(settings, body, args.wait))
    if args.wait <= 0:
        return 0
    if reply is None:
        print(f"no reply within {args.wait}s (is the cluster running? `agentcluster status`)", file=sys.stderr)
        return 3
    print(json.dumps(reply, indent=2, ensure_ascii=False))
    return 0 if reply.get("status") != "error" else 1
