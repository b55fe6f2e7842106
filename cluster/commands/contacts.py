"""``agentcluster contacts ai-on|ai-off|notes|show PHONE``: the webhook side's admin switches.

Writes the webhook database directly (``WEBHOOK_DATABASE_URL``), so it works whether or not
the service is running; the service reads the flag and the notes on every message.
"""

from __future__ import annotations

import argparse
import asyncio

from cluster.settings import load_settings
from webhook.store import Store

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``contacts`` and its actions."""
    parser = subparsers.add_parser(
        "contacts",
        help="turn AI answers on or off per contact, set notes",
        description="Per-contact admin switches of the webhook service. PHONE is +<country code><number>.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, help_text in (
        ("ai-on", "answer this contact with the agents (the default)"),
        ("ai-off", "store this contact's messages but do not answer them"),
        ("show", "print the contact's settings"),
    ):
        action = actions.add_parser(name, help=help_text, description=help_text)
        action.add_argument("phone")
        action.set_defaults(func=_run)
    notes = actions.add_parser(
        "notes", help="set the notes the agents see as userNotes", description="Empty text clears the notes."
    )
    notes.add_argument("phone")
    notes.add_argument("text", nargs="*", help="the notes (words are joined with spaces)")
    notes.set_defaults(func=_run)


async def _apply(url: str, action: str, phone: str, text: str | None) -> str:
    store = Store(url)
    await store.start()
    try:
        if action == "show":
            row = await store.contact(phone)
            if row is None:
                return f"{phone}: unknown contact (AI on by default)"
        elif action == "notes":
            row = await store.update_contact(phone, notes=text or "")
        else:
            row = await store.update_contact(phone, ai_enabled=action == "ai-on")
        return f"{row.phone}: ai={'on' if row.ai_enabled else 'off'} notes={row.notes or '-'}"
    finally:
        await store.stop()


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    phone = "+" + args.phone.strip().lstrip("+")
    text = " ".join(getattr(args, "text", []) or []) or None
    print(asyncio.run(_apply(settings.webhook_database_url, args.action, phone, text)))
    return 0
