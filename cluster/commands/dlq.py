"""``agentcluster dlq list|replay``: dead letters with their reasons, and replay."""

from __future__ import annotations

import argparse
import asyncio
import json

from cluster.settings import Settings, load_settings

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dlq`` with ``list`` and ``replay``."""
    parser = subparsers.add_parser(
        "dlq",
        help="list or replay dead-lettered requests",
        description="Dead letters of ag_queue (dlx_agent) carry the reason they were given up on. "
        "`list` shows them without removing them; `replay` sends chosen ones back to ag_queue with "
        "retryCount reset to 0.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("list", help="show dead letters and their reasons (nothing is removed)")
    show.add_argument("--webhook", action="store_true", help="list dlx_webhook instead of dlx_agent")
    show.add_argument("--limit", type=int, default=50)
    show.add_argument("--json", action="store_true", help="one JSON array, bodies included")
    show.set_defaults(func=_list)
    replay = actions.add_parser("replay", help="send dead letters back to ag_queue")
    group = replay.add_mutually_exclusive_group(required=True)
    group.add_argument("--id", dest="ids", action="append", metavar="MESSAGE_ID", help="replay this request (repeat)")
    group.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.set_defaults(func=_replay)


async def _with(settings: Settings, fn, **kwargs):  # type: ignore[no-untyped-def]
    from cluster.broker import connect

    connection = await connect(settings, name="agentcluster-dlq")
    try:
        return await fn(connection, settings.topology(), **kwargs)
    finally:
        await connection.close()


def _list(args: argparse.Namespace) -> int:
    from cluster.dlq import list_dead_letters
    from cluster.logs import mask_phone

    settings = load_settings()
    letters = asyncio.run(_with(settings, list_dead_letters, webhook=args.webhook, limit=args.limit))
    if args.json:
        print(json.dumps([letter.as_dict() for letter in letters], indent=2))
        return 0
    if not letters:
        print("no dead letters")
    for letter in letters:
        print(f"{letter.message_id or '-':<38} {mask_phone(letter.contact):<16} {letter.reason}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from cluster.dlq import replay_dead_letters

    settings = load_settings()
    ids = None if args.all else set(args.ids)
    replayed, skipped = asyncio.run(_with(settings, replay_dead_letters, message_ids=ids))
    for message_id in replayed:
        print(f"replayed {message_id}")
    for note in skipped:
        print(f"skipped  {note}")
    missing = (ids or set()) - set(replayed)
    for message_id in sorted(missing - {s.split(":")[0] for s in skipped}):
        print(f"not found {message_id}")
    return 0 if not skipped else 1
