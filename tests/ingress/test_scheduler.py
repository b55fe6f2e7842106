"""LaneScheduler: per-contact single flight, submit order per lane, priority among ready lanes.

A hypothesis state machine drives any interleaving of ``submit``/``next``/``done``/
``drain_waiting`` against a plain model of what must come out.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ingress.scheduler import LaneScheduler, Ticket

T = TypeVar("T")
LANES = st.sampled_from(["a", "b", "c", "d"])
RANKS = st.integers(min_value=0, max_value=2)


def take_ready(coro: Coroutine[Any, Any, Ticket[T]]) -> Ticket[T]:
    """Run ``next()`` when an item is ready: it must return without suspending."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("next() suspended although the model has a ready item")


class SchedulerMachine(RuleBasedStateMachine):
    """The scheduler against a model: per lane, the items not handed out and the one out."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduler: LaneScheduler[int] = LaneScheduler()
        self.items = itertools.count()
        self.arrival = itertools.count()
        self.pending: dict[str, deque[tuple[int, int, int]]] = {}  # lane -> (rank, arrival, item)
        self.out: dict[str, Ticket[int]] = {}
        self.submitted: dict[str, list[int]] = {}
        self.handed_out: dict[str, list[int]] = {}
        self.drained: set[int] = set()

    def expected_next(self) -> tuple[int, int, int] | None:
        heads = [lane[0] for name, lane in self.pending.items() if lane and name not in self.out]
        return min(heads) if heads else None

    @rule(lane=LANES, rank=RANKS)
    def submit(self, lane: str, rank: int) -> None:
        item = next(self.items)
        self.scheduler.submit(lane, rank, item)
        self.pending.setdefault(lane, deque()).append((rank, next(self.arrival), item))
        self.submitted.setdefault(lane, []).append(item)

    @precondition(lambda self: self.expected_next() is not None)
    @rule()
    def take(self) -> None:
        expected = self.expected_next()
        assert expected is not None
        ticket = take_ready(self.scheduler.next())
        assert ticket.item == expected[2], "the best ready lane head (rank, then arrival) comes out first"
        assert ticket.lane not in self.out, "a lane never has two tickets out at once"
        self.pending[ticket.lane].popleft()
        self.out[ticket.lane] = ticket
        self.handed_out.setdefault(ticket.lane, []).append(ticket.item)

    @precondition(lambda self: bool(self.out))
    @rule(data=st.data())
    def done(self, data: st.DataObject) -> None:
        lane = data.draw(st.sampled_from(sorted(self.out)))
        self.scheduler.done(self.out.pop(lane))

    @rule()
    def drain(self) -> None:
        expected = sorted(item for lane in self.pending.values() for _, _, item in lane)
        got = self.scheduler.drain_waiting()
        assert sorted(got) == expected, "drain_waiting returns exactly the items not handed out"
        assert len(got) == len(set(got))
        self.drained.update(got)
        for lane in self.pending.values():
            lane.clear()

    @invariant()
    def counts_match(self) -> None:
        assert self.scheduler.waiting == sum(len(lane) for lane in self.pending.values())
        live = {name for name, lane in self.pending.items() if lane} | set(self.out)
        assert self.scheduler.lanes == len(live)

    @invariant()
    def each_lane_in_submit_order(self) -> None:
        for lane, items in self.handed_out.items():
            order = [i for i in self.submitted[lane] if i not in self.drained or i in items]
            assert items == order[: len(items)], "a lane's items come out in submit order"


TestSchedulerMachine = SchedulerMachine.TestCase
TestSchedulerMachine.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_given_two_lanes_when_one_is_urgent_then_it_runs_first_and_the_other_keeps_arrival_order() -> None:
    scheduler: LaneScheduler[str] = LaneScheduler()
    scheduler.submit("a", 2, "a1")
    scheduler.submit("b", 2, "b1")
    scheduler.submit("c", 1, "c1")
    scheduler.submit("d", 0, "d1")

    order = [take_ready(scheduler.next()).item for _ in range(4)]

    assert order == ["d1", "c1", "a1", "b1"]


def test_given_an_urgent_item_behind_a_normal_head_when_taking_then_the_lane_order_wins() -> None:
    scheduler: LaneScheduler[str] = LaneScheduler()
    first = scheduler.submit("a", 2, "a-normal")
    scheduler.submit("a", 0, "a-urgent")
    scheduler.submit("b", 1, "b-high")

    taken = [take_ready(scheduler.next()).item, take_ready(scheduler.next()).item]
    scheduler.done(first)

    assert taken == ["b-high", "a-normal"], "a-urgent may not overtake a-normal, its own lane's head"
    assert take_ready(scheduler.next()).item == "a-urgent"


def test_given_a_drained_ready_lane_when_the_contact_sends_again_then_its_new_item_is_ready() -> None:
    scheduler: LaneScheduler[str] = LaneScheduler()
    scheduler.submit("a", 2, "a1")
    scheduler.submit("a", 2, "a2")

    assert scheduler.drain_waiting() == ["a1", "a2"]
    assert (scheduler.waiting, scheduler.lanes) == (0, 0)
    scheduler.submit("a", 2, "a1-redelivered")

    assert take_ready(scheduler.next()).item == "a1-redelivered"


def test_given_a_lane_with_its_head_out_when_drained_then_the_lane_still_waits_for_the_head() -> None:
    scheduler: LaneScheduler[str] = LaneScheduler()
    scheduler.submit("a", 2, "a1")
    head = take_ready(scheduler.next())
    scheduler.submit("a", 2, "a2")

    assert scheduler.drain_waiting() == ["a2"]
    scheduler.submit("a", 2, "a3")
    assert (scheduler.waiting, scheduler.lanes) == (1, 1)
    scheduler.done(head)

    assert take_ready(scheduler.next()).item == "a3"


async def test_given_no_ready_item_when_a_worker_waits_then_submit_and_done_wake_it() -> None:
    scheduler: LaneScheduler[str] = LaneScheduler()
    scheduler.submit("a", 2, "a1")
    head = await scheduler.next()
    scheduler.submit("a", 2, "a2")
    waiter = asyncio.create_task(scheduler.next())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done(), "a2 waits behind a1, which is still out"

    scheduler.done(head)
    ticket = await asyncio.wait_for(waiter, 5)

    assert ticket.item == "a2"
    other = asyncio.create_task(scheduler.next())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not other.done()
    scheduler.submit("b", 2, "b1")
    assert (await asyncio.wait_for(other, 5)).item == "b1"
