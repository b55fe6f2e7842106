"""``agentcluster demo``: a handful of realistic customer messages through the whole loop.

Each message goes in through the local sandbox's ``POST /inbound`` (a signed Wasender event
to the webhook, exactly as WhatsApp would cause it); the demo then watches the webhook
database for the answer and prints each turn as it arrives: customer text, agent reply,
tools used (the reply's ``agentMetadata``) and latency (webhook received → reply sent).
Needs a running stack (``make run`` or ``agentcluster webhook --with-sandbox`` plus the cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence

import httpx

from cluster.settings import Settings, load_settings
from webhook.store import Store

__all__ = ["DEMO_MESSAGES", "register", "run_demo"]

#: (phone, name, text): four customers, the four task types. Grace owns ORD-1003 in the sample
#: data; Peter asking for John's ORD-1001 shows that a customer only sees their own orders.
DEMO_MESSAGES: tuple[tuple[str, str, str], ...] = (
    ("+256703722777", "John Doe", "Hi! What are your opening hours on Saturday?"),
    ("+256772100200", "Aisha N.", "I'd like to book an appointment for a haircut tomorrow at 10am"),
    ("+256772123456", "Grace Namuli", "Where is my order ORD-1003? It was supposed to arrive yesterday"),
    ("+256701555888", "Peter K.", "Do you deliver to Entebbe, and how much does delivery cost?"),
    ("+256701555888", "Peter K.", "Can you check order ORD-1001 for me?"),
    ("+256703722777", "John Doe", "Thanks! Can you also tell me what services you offer?"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="send realistic customer messages through the running stack and print each turn",
        description="Posts signed inbound events through the local sandbox and prints the agents' replies.",
    )
    parser.add_argument("--sandbox", help="sandbox base URL (default http://WEBHOOK_HOST:SANDBOX_PORT)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for each reply")
    parser.set_defaults(func=_run)


async def _turn(
    http: httpx.AsyncClient, store: Store, phone: str, name: str, text: str, patience: float, out: Callable[[str], None]
) -> bool:
    started = time.monotonic()
    response = await http.post("/inbound", json={"phone": phone, "text": text, "name": name})
    response.raise_for_status()
    result = response.json()
    if result.get("webhookStatus") != 200:
        out(f"👤 {name}: {text}\n   ✗ webhook answered {result.get('webhookStatus')}: {result.get('webhookBody')}\n")
        return False
    outcomes = (result.get("webhookBody") or {}).get("outcomes") or []
    if "ai_off" in outcomes:
        out(f"👤 {name}: {text}\n   (AI is off for this contact: stored, not answered)\n")
        return False
    inbound = None
    while time.monotonic() - started < patience:
        inbound = inbound or await store.inbound(result["eventId"])
        answer = await store.answer(inbound.request_id) if inbound and inbound.request_id else None
        if inbound is not None and answer is not None:
            meta = answer.agent_metadata or {}
            tools = ", ".join(meta.get("toolsUsed") or []) or "none"
            latency = answer.created_at - inbound.created_at
            out(
                f"👤 {name} ({inbound.task_type}): {text}\n"
                f"🤖 {answer.text}\n"
                f"   tools: {tools} · agent {meta.get('processingTime', 0):.2f}s · end-to-end {latency:.2f}s\n"
            )
            return True
        await asyncio.sleep(0.2)
    out(f"👤 {name}: {text}\n   ✗ no reply within {patience:.0f}s\n")
    return False


async def run_demo(
    settings: Settings,
    sandbox_url: str,
    *,
    messages: Sequence[tuple[str, str, str]] = DEMO_MESSAGES,
    patience: float = 120.0,
    out: Callable[[str], None] = print,
) -> int:
    """Send every message at once (a customer's own messages in order); returns how many were answered."""
    store = Store(settings.webhook_database_url)
    await store.start()
    try:
        async with httpx.AsyncClient(base_url=sandbox_url, timeout=30.0) as http:
            by_phone: dict[str, list[tuple[str, str]]] = {}
            for phone, name, text in messages:
                by_phone.setdefault(phone, []).append((name, text))

            async def customer(phone: str, turns: list[tuple[str, str]]) -> int:
                return sum([await _turn(http, store, phone, name, text, patience, out) for name, text in turns])

            counts = await asyncio.gather(*(customer(phone, turns) for phone, turns in by_phone.items()))
            return sum(counts)
    finally:
        await store.stop()


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    sandbox = args.sandbox or f"http://{settings.webhook_host}:{settings.sandbox_port}"
    total = len(DEMO_MESSAGES)
    answered = asyncio.run(run_demo(settings, sandbox, patience=args.timeout))
    print(f"{answered}/{total} messages answered")
    return 0 if answered == total else 1
