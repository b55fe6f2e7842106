"""``classify`` maps any pool/publisher failure onto the error tree; errors and results pickle.

Ray is imported for its exception classes and cloudpickle only; no Ray instance is started.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from ray import cloudpickle
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError

from actors.pool import PoolResult
from contracts import errors
from contracts.errors import AgentClusterError, PoisonMessageError, ReplicaLostError, RetryableError
from ingress.ports import classify

ERROR_CLASSES = sorted(
    (obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, AgentClusterError)),
    key=lambda cls: cls.__name__,
)
CONTACT: dict[str, object] = {"remoteJid": "256700000001@s.whatsapp.net", "phoneNumber": "+256700000001"}


def build(cls: type[AgentClusterError]) -> AgentClusterError:
    if cls is PoisonMessageError:
        return PoisonMessageError("taskType: bad", CONTACT, "uuid-v4")
    return cls(f"{cls.__name__} happened")


def ray_wrapped(cause: BaseException) -> BaseException:
    """What a Serve handle raises when the replica raised ``cause``."""
    return RayTaskError("AgentPool.run", "Traceback (most recent call last):\n  ...", cause).as_instanceof_cause()


def attributes(error: BaseException) -> tuple[Any, ...]:
    return (
        type(error),
        error.args,
        str(error),
        getattr(error, "code", None),
        getattr(error, "retryable", None),
        getattr(error, "contact", None),
        getattr(error, "message_id", None),
    )


SERIALISERS: list[tuple[str, Callable[[Any], Any]]] = [
    *[
        (f"pickle-{p}", lambda obj, p=p: pickle.loads(pickle.dumps(obj, protocol=p)))
        for p in range(2, pickle.HIGHEST_PROTOCOL + 1)
    ],
    ("cloudpickle", lambda obj: cloudpickle.loads(cloudpickle.dumps(obj))),
]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_given_one_of_our_errors_when_classified_then_it_is_returned_as_is(cls: type[AgentClusterError]) -> None:
    error = build(cls)

    assert classify(error) is error


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_given_our_error_wrapped_by_ray_when_classified_then_the_original_comes_back(
    cls: type[AgentClusterError],
) -> None:
    error = build(cls)
    wrapped = ray_wrapped(error)
    assert isinstance(wrapped, RayTaskError) and isinstance(wrapped, cls), "Ray's hybrid class, as in production"

    assert classify(wrapped) is error


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_given_a_ray_wrapped_error_that_crossed_a_process_when_classified_then_type_and_fields_survive(
    cls: type[AgentClusterError],
) -> None:
    error = build(cls)
    wrapped = cloudpickle.loads(cloudpickle.dumps(ray_wrapped(error)))

    assert attributes(classify(wrapped)) == attributes(error)


def test_given_a_plain_ray_task_error_when_classified_then_its_cause_decides() -> None:
    error = errors.ModelUnavailableError("429 from the provider")

    assert classify(RayTaskError("AgentPool.run", "tb", error)) is error


def test_given_a_ray_error_wrapping_a_ray_error_when_classified_then_the_innermost_of_ours_wins() -> None:
    error = errors.AgentFailedError("tool exploded")

    assert classify(ray_wrapped(ray_wrapped(error))) is error


def test_given_our_error_as_the_explicit_cause_when_classified_then_it_is_found() -> None:
    error = errors.PublishError("not confirmed")
    try:
        try:
            raise error
        except errors.PublishError as inner:
            raise RuntimeError("handle call failed") from inner
    except RuntimeError as outer:
        assert classify(outer) is error


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("boom\nsecond line"),
        ray_wrapped(KeyError("engine bug")),
        RayActorError(),
        ActorDiedError(),
        TimeoutError(),
        RuntimeError(""),
    ],
    ids=["ValueError", "RayTaskError(KeyError)", "RayActorError", "ActorDiedError", "TimeoutError", "empty-message"],
)
def test_given_an_unknown_failure_when_classified_then_it_is_a_retryable_lost_replica(exc: BaseException) -> None:
    error = classify(exc)

    assert type(error) is ReplicaLostError
    assert isinstance(error, RetryableError) and error.retryable
    assert error.code == "REPLICA_LOST"
    assert "\n" not in str(error) and len(str(error)) <= 500
    assert str(error).startswith(type(exc).__name__)


def test_given_a_huge_unknown_message_when_classified_then_the_reason_is_one_short_line() -> None:
    error = classify(ValueError("x" * 10_000))

    assert len(str(error)) == 500


def test_given_an_exception_whose_cause_chain_loops_when_classified_then_it_terminates() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first

    assert type(classify(first)) is ReplicaLostError


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(("name", "roundtrip"), SERIALISERS, ids=[name for name, _ in SERIALISERS])
def test_given_each_error_when_serialised_and_loaded_then_type_and_fields_survive(
    cls: type[AgentClusterError], name: str, roundtrip: Callable[[Any], Any]
) -> None:
    error = build(cls)

    assert attributes(roundtrip(error)) == attributes(error)


@pytest.mark.parametrize(("name", "roundtrip"), SERIALISERS, ids=[name for name, _ in SERIALISERS])
def test_given_a_pool_result_when_serialised_and_loaded_then_it_is_equal(
    name: str, roundtrip: Callable[[Any], Any]
) -> None:
    result = PoolResult(
        reply=b'{"status":"success"}',
        reply_id="6f1c1f0e-8a43-5b7e-9d1a-3c5e2b7a9f10",
        status="success",
        task_type="conversation",
        tools_used=("search_knowledge", "get_business_hours"),
        tokens_used=42,
        processing_time=0.25,
    )

    copy = roundtrip(result)

    assert copy == result and type(copy) is PoolResult
