"""``agentcluster``: the one command-line entry point.

Each subcommand lives in its own module under :mod:`cluster.commands` and exposes
``register(subparsers)``; this file only wires them together, parses the settings once and
turns a :class:`~contracts.errors.ConfigError` into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from contracts.errors import AgentClusterError, ConfigError

__all__ = ["build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (
    "run",
    "status",
    "send",
    "ask",
    "dlq",
    "stop",
    "topology",
    "webhook",
    "sandbox",
    "demo",
    "contacts",
)

DESCRIPTION = """\
Run Google ADK agents behind RabbitMQ on a Ray cluster.

Requests arrive on ag_queue, a pool of warm agents answers them, and replies leave on
wb_queue. Settings come from environment variables (and a .env file); see the README's
configuration table. Run `agentcluster COMMAND --help` for each command's options."""


def build_parser() -> argparse.ArgumentParser:
    """The parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="agentcluster", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"cluster.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cluster.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agentcluster`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except ConfigError as exc:
        print(f"agentcluster: {exc}", file=sys.stderr)
        return 2
    except AgentClusterError as exc:
        print(f"agentcluster {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
