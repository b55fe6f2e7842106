"""CircuitBreaker with an injected clock: threshold, cooldown, half-open, close, reopen."""

from __future__ import annotations

import pytest

from ingress.breaker import BreakerState, CircuitBreaker


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=10.0, clock=clock)


def test_given_a_new_breaker_then_it_is_closed_with_nothing_remaining(breaker: CircuitBreaker) -> None:
    assert (breaker.state, breaker.remaining(), breaker.consecutive_failures) == (BreakerState.CLOSED, 0.0, 0)


def test_given_failures_below_the_threshold_when_counted_then_it_stays_closed(breaker: CircuitBreaker) -> None:
    opened = [breaker.record_failure(), breaker.record_failure()]

    assert opened == [False, False]
    assert breaker.state is BreakerState.CLOSED
    assert breaker.remaining() == 0.0
    assert breaker.consecutive_failures == 2


def test_given_the_threshold_th_failure_then_it_opens_once_and_reports_the_full_cooldown(
    breaker: CircuitBreaker,
) -> None:
    opened = [breaker.record_failure() for _ in range(3)]

    assert opened == [False, False, True]
    assert breaker.state is BreakerState.OPEN
    assert breaker.remaining() == 10.0


def test_given_a_success_between_failures_then_the_count_restarts(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()

    assert [breaker.record_failure(), breaker.record_failure()] == [False, False]
    assert breaker.state is BreakerState.CLOSED


def test_given_an_open_breaker_when_time_passes_then_remaining_shrinks_and_it_turns_half_open(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        breaker.record_failure()

    clock.advance(4.0)
    assert (breaker.state, breaker.remaining()) == (BreakerState.OPEN, 6.0)
    clock.advance(5.999)
    assert breaker.state is BreakerState.OPEN
    assert breaker.remaining() == pytest.approx(0.001)
    clock.advance(0.001)
    assert (breaker.state, breaker.remaining()) == (BreakerState.HALF_OPEN, 0.0)
    clock.advance(100.0)
    assert (breaker.state, breaker.remaining()) == (BreakerState.HALF_OPEN, 0.0)


def test_given_half_open_when_a_run_succeeds_then_it_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10.0)

    breaker.record_success()

    assert (breaker.state, breaker.remaining(), breaker.consecutive_failures) == (BreakerState.CLOSED, 0.0, 0)
    assert breaker.record_failure() is False, "after closing it takes the full threshold again"


def test_given_half_open_when_one_more_run_fails_then_it_reopens_for_a_full_cooldown(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.advance(12.0)
    assert breaker.state is BreakerState.HALF_OPEN

    reopened = breaker.record_failure()

    assert reopened is True
    assert (breaker.state, breaker.remaining()) == (BreakerState.OPEN, 10.0)
    clock.advance(10.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_given_a_threshold_of_one_then_the_first_failure_opens(clock: Clock) -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=2.0, clock=clock)

    assert breaker.record_failure() is True
    assert breaker.state is BreakerState.OPEN
