"""`agentcluster dlq`: dead letters are listed with their reasons and replayed on request."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
import pytest

from actors.publisher import HEADER_ERROR_CODE, HEADER_REASON
from cluster.broker import declare_topology, queue_state
from cluster.dlq import list_dead_letters, replay_dead_letters
from cluster.settings import Settings
from contracts.codec import decode_request
from tests.runtime.conftest import make_request

pytestmark = [pytest.mark.rabbitmq]


async def _dead_letter(amqp: Any, settings: Settings, body: bytes, reason: str | None) -> None:
    channel = await amqp.channel()
    headers = {HEADER_REASON: reason, HEADER_ERROR_CODE: "AGENT_FAILED"} if reason else {}
    await channel.default_exchange.publish(aio_pika.Message(body, headers=headers), settings.dlx_agent)
    await channel.close()


async def test_given_dead_letters_when_listed_then_reasons_show_and_nothing_is_removed(
    amqp: Any, settings: Settings
) -> None:
    await declare_topology(amqp, settings.topology())
    first = make_request("one", 1, max_retries=2)
    first["metadata"]["retryCount"] = 2
    await _dead_letter(amqp, settings, json.dumps(first).encode(), "retries_exhausted: 503")
    await _dead_letter(amqp, settings, b"{broken", None)

    letters = await list_dead_letters(amqp, settings.topology())

    assert [letter.message_id for letter in letters] == [first["messageId"], None]
    assert letters[0].reason == "retries_exhausted: 503" and letters[0].code == "AGENT_FAILED"
    assert letters[1].reason == "unknown"
    assert (await queue_state(amqp, settings.dlx_agent))[0] == 2


async def test_given_a_chosen_dead_letter_when_replayed_then_it_is_back_in_ag_queue_with_retry_count_zero(
    amqp: Any, settings: Settings
) -> None:
    await declare_topology(amqp, settings.topology())
    chosen, other = make_request("chosen", 1), make_request("other", 2)
    chosen["metadata"]["retryCount"] = 3
    for request in (chosen, other):
        await _dead_letter(amqp, settings, json.dumps(request).encode(), "retries_exhausted")

    replayed, skipped = await replay_dead_letters(amqp, settings.topology(), message_ids={chosen["messageId"]})

    assert (replayed, skipped) == ([chosen["messageId"]], [])
    channel = await amqp.channel()
    queue = await channel.get_queue(settings.agent_queue)
    message = await queue.get(no_ack=True)
    assert message is not None
    back = decode_request(message.body)
    assert back.message_id == chosen["messageId"] and back.metadata.retry_count == 0
    assert (await queue_state(amqp, settings.dlx_agent))[0] == 1, "the other dead letter stays"


async def test_given_an_undecodable_dead_letter_when_replaying_all_then_it_is_skipped_and_kept(
    amqp: Any, settings: Settings
) -> None:
    await declare_topology(amqp, settings.topology())
    await _dead_letter(amqp, settings, b"not json", "INVALID_MESSAGE: body: invalid JSON")

    replayed, skipped = await replay_dead_letters(amqp, settings.topology())

    assert replayed == [] and len(skipped) == 1 and "invalid JSON" in skipped[0]
    assert (await queue_state(amqp, settings.dlx_agent))[0] == 1
