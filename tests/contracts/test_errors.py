"""The error tree: every class pickles with its attributes (Ray moves errors between processes)."""

from __future__ import annotations

import inspect
import pickle

import pytest

import contracts
from contracts import errors
from contracts.errors import AgentClusterError, PermanentError, PoisonMessageError, RetryableError

ERROR_CLASSES = sorted(
    (obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, AgentClusterError)),
    key=lambda cls: cls.__name__,
)


def test_given_the_errors_module_when_listing_classes_then_all_are_exported() -> None:
    assert sorted(cls.__name__ for cls in ERROR_CLASSES) == sorted(errors.__all__)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_given_each_error_when_pickled_and_unpickled_then_type_and_attributes_survive(
    cls: type[AgentClusterError],
) -> None:
    original = cls("something went wrong: queue 'ag_queue'")
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is cls
    assert (copy.code, copy.retryable, copy.reason, str(copy)) == (
        original.code,
        original.retryable,
        original.reason,
        "something went wrong: queue 'ag_queue'",
    )


def test_given_a_poison_error_with_contact_and_id_when_pickled_then_both_survive() -> None:
    contact: dict[str, object] = {"remoteJid": "256703722777@s.whatsapp.net", "phoneNumber": "+256703722777"}
    original = PoisonMessageError("taskType: bad", contact, "uuid-v4")
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(original, protocol=protocol))
        assert (copy.reason, copy.contact, copy.message_id, copy.code, copy.retryable) == (
            "taskType: bad",
            contact,
            "uuid-v4",
            "INVALID_MESSAGE",
            False,
        )


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_given_each_error_when_classified_then_it_is_exactly_one_of_retryable_or_permanent(
    cls: type[AgentClusterError],
) -> None:
    if cls in (AgentClusterError, RetryableError, PermanentError):
        return
    assert issubclass(cls, RetryableError) != issubclass(cls, PermanentError)
    assert cls.retryable is issubclass(cls, RetryableError)
    assert cls.code not in {"AGENT_CLUSTER_ERROR", "TRANSIENT_ERROR", "PERMANENT_ERROR"}


def test_given_all_errors_when_comparing_codes_then_each_code_is_unique() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]
    assert len(codes) == len(set(codes))


def test_given_the_contracts_package_when_reading_all_then_it_is_sorted_and_every_name_resolves() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    def rank(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert contracts.__all__ == sorted(contracts.__all__, key=rank)
    assert all(hasattr(contracts, name) for name in contracts.__all__)
