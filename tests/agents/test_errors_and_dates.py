"""Error classification and pickling (Ray moves errors between processes), and date parsing."""

from __future__ import annotations

import pickle
from datetime import date

import httpx
import pytest

from agents.dates import parse_date, parse_time
from agents.models import InjectedModelError, classify
from agents.web import UnsafeURLError, WebSearchUnavailableError
from contracts.errors import (
    AgentClusterError,
    AgentFailedError,
    AgentTimeoutError,
    ConfigError,
    ModelUnavailableError,
    RetryableError,
)


class _SdkError(Exception):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class OperationalError(Exception):
    """Named like SQLAlchemy's, which is what the classifier looks at."""


def _caused(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as final:
        return final


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (InjectedModelError(429, "slow down"), ModelUnavailableError),
        (InjectedModelError(503, "down"), ModelUnavailableError),
        (_SdkError("rate limited", 429), ModelUnavailableError),
        (_SdkError("bad gateway", 502), ModelUnavailableError),
        (_SdkError("request timeout", 408), ModelUnavailableError),
        (_SdkError("bad request", 400), AgentFailedError),
        (_SdkError("bad key", 401), AgentFailedError),
        (TimeoutError("read timed out"), ModelUnavailableError),
        (ConnectionRefusedError("refused"), ModelUnavailableError),
        (httpx.ConnectTimeout("connect"), ModelUnavailableError),
        (_caused(RuntimeError("wrapped"), _SdkError("x", 503)), ModelUnavailableError),
        (OperationalError("database is locked"), RetryableError),
        (ValueError("bug in a tool"), AgentFailedError),
        (KeyError("missing"), AgentFailedError),
    ],
)
def test_given_a_provider_or_tool_error_when_classified_then_retryable_only_if_waiting_helps(
    raised: Exception, expected: type[AgentClusterError]
) -> None:
    error = classify(raised)
    assert type(error) is expected
    assert error.retryable is issubclass(expected, RetryableError)


def test_given_a_project_error_when_classified_then_it_is_kept() -> None:
    error = AgentTimeoutError("too slow")
    assert classify(error) is error


@pytest.mark.parametrize(
    "error",
    [
        ModelUnavailableError("model provider answered HTTP 429"),
        AgentTimeoutError("agent run exceeded MAX_PROCESSING_TIME (300 s)"),
        AgentFailedError("agent produced no reply"),
        RetryableError("the business database is unavailable"),
        ConfigError("MODEL: unknown model 'x'"),
        InjectedModelError(503, "injected"),
        UnsafeURLError("address 127.0.0.1 is not a public address"),
        WebSearchUnavailableError("refused"),
    ],
)
def test_given_each_error_when_pickled_then_it_round_trips(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.args == error.args
    if isinstance(error, AgentClusterError):
        assert copy.code == error.code and copy.retryable == error.retryable  # type: ignore[attr-defined]
    if isinstance(error, InjectedModelError):
        assert copy.status_code == error.status_code  # type: ignore[attr-defined]


THURSDAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 3pm", date(2026, 12, 4)),
        ("next Monday 10:00", date(2026, 12, 7)),
        ("on monday", date(2026, 12, 7)),
        ("this thursday", THURSDAY),
        ("next thursday", date(2026, 12, 10)),
        ("day after tomorrow", date(2026, 12, 5)),
        ("in 3 days", date(2026, 12, 6)),
        ("4 Dec at 14:30", date(2026, 12, 4)),
        ("December 24th", date(2026, 12, 24)),
        ("2 January", date(2027, 1, 2)),
        ("05/01", date(2027, 1, 5)),
        ("2026-12-19", date(2026, 12, 19)),
        ("whenever", None),
    ],
)
def test_given_whatsapp_dates_when_parsed_then_the_right_day(text: str, expected: date | None) -> None:
    assert parse_date(text, THURSDAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3pm", "15:00"), ("at 3", "15:00"), ("10:00", "10:00"), ("10.30am", "10:30"), ("12pm", "12:00"),
     ("noon", "12:00"), ("at 10", "10:00"), ("9 am", "09:00"), ("sometime", None)],
)  # fmt: skip
def test_given_whatsapp_times_when_parsed_then_hh_mm(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected
