"""``agentcluster topology declare|verify|export``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from cluster.broker import connect, declare_topology, verify_topology
from cluster.settings import Settings, load_settings

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``topology`` and its three actions."""
    parser = subparsers.add_parser(
        "topology",
        help="declare, verify or export the queues and exchanges",
        description=(
            "The queues and dead-letter exchanges of DESIGN.md, from one source. "
            "ag_queue and wb_queue are declared with exactly x-message-ttl and "
            "x-dead-letter-exchange, as the Node.js side declares them."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    declare = actions.add_parser(
        "declare",
        help="create every exchange, queue and binding (idempotent)",
        description="Create what is missing; fail with a clear message if a live queue differs.",
    )
    declare.set_defaults(func=_declare)
    verify = actions.add_parser(
        "verify",
        help="check the live queues against the contract; create nothing",
        description="Exit 0 when every queue exists with exactly the expected arguments, 1 otherwise.",
    )
    verify.set_defaults(func=_verify)
    export = actions.add_parser(
        "export",
        help="write a RabbitMQ definitions file",
        description="Write the topology as a definitions file for `rabbitmqctl import_definitions`.",
    )
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=_export)


async def _with_connection(settings: Settings, verify_only: bool) -> None:
    connection = await connect(settings, name="agentcluster-topology")
    try:
        if verify_only:
            await verify_topology(connection, settings.topology())
        else:
            await declare_topology(connection, settings.topology())
    finally:
        await connection.close()


def _declare(args: argparse.Namespace) -> int:
    settings = load_settings()
    asyncio.run(_with_connection(settings, verify_only=False))
    for queue in settings.topology().queues:
        print(f"declared {queue.name} {json.dumps(queue.arguments, sort_keys=True)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    settings = load_settings()
    asyncio.run(_with_connection(settings, verify_only=True))
    print(f"ok: {len(settings.topology().queues)} queues match the contract on {settings.amqp_url_safe()}")
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = load_settings()
    text = json.dumps(settings.topology().definitions(settings.rabbitmq_vhost), indent=2) + "\n"
    if args.output:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
