"""``agentcluster stop``: drain the ingress and delete the application."""

from __future__ import annotations

import argparse

from cluster.settings import load_settings

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``stop``."""
    parser = subparsers.add_parser(
        "stop",
        help="drain and remove a deployed cluster",
        description="Stop consuming ag_queue, let running work finish within --timeout (default DRAIN_TIMEOUT), "
        "requeue the rest, then delete the Serve application. Nothing is lost or dead-lettered.",
    )
    parser.add_argument("--address", default="auto", help="Ray cluster (default: auto)")
    parser.add_argument("--timeout", type=float, default=None, help="drain timeout in seconds")
    parser.set_defaults(func=_stop)


def _stop(args: argparse.Namespace) -> int:
    from cluster import runtime

    settings = load_settings()
    runtime.init_ray(args.address)
    counts = runtime.shutdown_app(args.timeout if args.timeout is not None else settings.drain_timeout)
    print(f"stopped: {counts}")
    return 0
