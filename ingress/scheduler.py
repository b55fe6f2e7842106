"""Per-contact single flight with priority among waiting contacts.

Each contact (``contact.remoteJid``) has a lane. A lane's head is *ready*; the rest of the
lane waits until the head is done, so one contact never has two requests in flight and its
replies leave in arrival order. Ready heads are served ``urgent`` > ``high`` > ``normal``,
then in arrival order. Different contacts run in parallel up to the number of workers.

Priority orders contacts, never the messages of one contact: reordering one customer's
messages would answer them out of order, which is worse than answering them a little later.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["LaneScheduler", "Ticket"]

T = TypeVar("T")


@dataclass(order=True)
class Ticket(Generic[T]):
    """One queued item: sorted by ``(rank, seq)``; ``lane`` groups a contact's items."""

    rank: int
    seq: int
    lane: str = field(compare=False)
    item: T = field(compare=False)


class LaneScheduler(Generic[T]):
    """Hands out items so that each lane has at most one item out at a time."""

    def __init__(self) -> None:
        self._lanes: dict[str, deque[Ticket[T]]] = {}
        self._ready: list[Ticket[T]] = []
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()

    def submit(self, lane: str, rank: int, item: T) -> Ticket[T]:
        """Queue ``item`` behind the lane's earlier items."""
        ticket = Ticket(rank, next(self._seq), lane, item)
        waiting = self._lanes.get(lane)
        if waiting is None:
            self._lanes[lane] = deque()
            heapq.heappush(self._ready, ticket)
            self._wakeup.set()
        else:
            waiting.append(ticket)
        return ticket

    async def next(self) -> Ticket[T]:
        """Wait for the best ready item and take it out."""
        while not self._ready:
            self._wakeup.clear()
            await self._wakeup.wait()
        return heapq.heappop(self._ready)

    def done(self, ticket: Ticket[T]) -> None:
        """Mark the lane's current item finished and make its next one ready."""
        waiting = self._lanes.get(ticket.lane)
        if waiting is None:
            return
        if waiting:
            heapq.heappush(self._ready, waiting.popleft())
            self._wakeup.set()
        else:
            del self._lanes[ticket.lane]

    def drain_waiting(self) -> list[T]:
        """Remove and return every item not yet handed out (ready or behind a lane head)."""
        items = [t.item for t in sorted(self._ready)]
        # A lane whose head was still ready has nothing out: forget it, or its next submit
        # would queue behind a head that never comes back and the contact would stall.
        idle = {t.lane for t in self._ready}
        self._ready.clear()
        for name, lane in list(self._lanes.items()):
            items.extend(t.item for t in lane)
            lane.clear()
            if name in idle:
                del self._lanes[name]
        return items

    @property
    def waiting(self) -> int:
        """Items queued and not yet handed out."""
        return len(self._ready) + sum(len(lane) for lane in self._lanes.values())

    @property
    def lanes(self) -> int:
        """Contacts with at least one item queued or out."""
        return len(self._lanes)
