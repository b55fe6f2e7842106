"""An in-flight probe: a tiny actor the pool reports to, for proving single flight.

Deploy the pool with ``probe="<actor name>"`` and every run reports ``begin``/``end`` for
its contact. The probe records any overlap of one contact's runs (a violation of
per-contact single flight) and the highest number of contacts running at once (proof
that different contacts run in parallel). It is a test and drill aid; production
deployments pass no probe and pay nothing.
"""

from __future__ import annotations

import time

__all__ = ["InFlightProbe"]


class InFlightProbe:
    """Plain class; wrap with ``ray.remote`` and give the actor a name."""

    def __init__(self) -> None:
        self.active: dict[str, str] = {}
        self.violations: list[tuple[str, str, str]] = []
        self.order: dict[str, list[str]] = {}
        self.max_parallel = 0
        self.begins = 0
        self.first_begin: dict[str, float] = {}

    def begin(self, contact: str, message_id: str) -> None:
        """A run for ``contact`` started."""
        if contact in self.active:
            self.violations.append((contact, self.active[contact], message_id))
        self.active[contact] = message_id
        self.order.setdefault(contact, []).append(message_id)
        self.first_begin.setdefault(contact, time.monotonic())
        self.begins += 1
        self.max_parallel = max(self.max_parallel, len(self.active))

    def end(self, contact: str, message_id: str) -> None:
        """The run for ``contact`` finished (successfully or not)."""
        if self.active.get(contact) == message_id:
            del self.active[contact]

    def report(self) -> dict[str, object]:
        """Everything recorded so far."""
        return {
            "violations": list(self.violations),
            "order": {k: list(v) for k, v in self.order.items()},
            "max_parallel": self.max_parallel,
            "begins": self.begins,
        }
