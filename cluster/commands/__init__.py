"""Subcommands of ``agentcluster``; each module exposes ``register(subparsers)``."""
