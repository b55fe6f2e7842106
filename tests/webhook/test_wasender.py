"""The Wasender client against httpx's MockTransport: 429 waits, failure classes, the key."""

from __future__ import annotations

import json

import httpx
import pytest

from webhook.wasender import (
    DeliveryUnknownError,
    WasenderClient,
    WasenderRejectedError,
    WasenderUnavailableError,
)


def _client(handler: httpx.MockTransport, **kwargs: object) -> WasenderClient:
    return WasenderClient("http://wasender.test", "k3y", rate=1000.0, transport=handler, **kwargs)  # type: ignore[arg-type]


async def test_given_a_429_with_retry_after_when_sending_then_the_client_waits_and_sends_once() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, json={"message": "slow down", "retry_after": 0.05})
        return httpx.Response(200, json={"success": True, "data": {"msgId": 7}})

    client = _client(httpx.MockTransport(handler))
    await client.start()
    try:
        answer = await client.send_text("+256703722777", "hi")
    finally:
        await client.stop()
    assert answer["data"]["msgId"] == 7
    assert len(calls) == 2
    assert calls[1].headers["authorization"] == "Bearer k3y"
    assert json.loads(calls[1].content) == {"to": "+256703722777", "text": "hi"}


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(500), WasenderUnavailableError),
        (httpx.Response(422, json={"message": "invalid number"}), WasenderRejectedError),
        (httpx.Response(429, json={"retry_after": 3600}), WasenderUnavailableError),
    ],
)
async def test_given_a_failing_answer_when_sending_then_the_error_says_whether_a_retry_may_help(
    response: httpx.Response, error: type[Exception]
) -> None:
    client = _client(httpx.MockTransport(lambda request: response))
    await client.start()
    try:
        with pytest.raises(error):
            await client.send_text("+256703722777", "hi")
    finally:
        await client.stop()


async def test_given_no_answer_after_sending_when_sending_then_delivery_is_unknown_not_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    client = _client(httpx.MockTransport(handler))
    await client.start()
    try:
        with pytest.raises(DeliveryUnknownError) as caught:
            await client.send_text("+256703722777", "hi")
    finally:
        await client.stop()
    assert caught.value.retryable is False


async def test_given_a_refused_connection_when_sending_then_it_is_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = _client(httpx.MockTransport(handler))
    await client.start()
    try:
        with pytest.raises(WasenderUnavailableError) as caught:
            await client.send_text("+256703722777", "hi")
    finally:
        await client.stop()
    assert caught.value.retryable is True


def test_given_each_send_error_when_pickled_then_it_round_trips() -> None:
    import pickle

    for error in (WasenderUnavailableError("a"), WasenderRejectedError("b"), DeliveryUnknownError("c")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
