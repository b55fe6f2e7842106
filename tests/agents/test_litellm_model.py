"""The LiteLLM path over real HTTP: a tiny OpenAI-compatible server on 127.0.0.1.

The server answers the first chat completion with a tool call and the second (which carries
the tool result) with text, both with usage, so the test sees ADK's ``LiteLlm`` drive a real
tool round trip and the provider's token counts arrive in ``tokensUsed``. It also proves the
SDK's own retries are off: a 429 costs exactly one HTTP request and is a retryable error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agents.models import build_model
from contracts.errors import AgentFailedError, ModelUnavailableError
from tests.agents.conftest import make_request

pytest.importorskip("litellm")


class _Provider(ThreadingHTTPServer):
    status = 200
    requests: list[dict[str, Any]]
    auth: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Provider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.requests.append(body)
        self.server.auth.append(self.headers.get("authorization", ""))
        if self.server.status != 200:
            payload: dict[str, Any] = {"error": {"message": "nope", "type": "rate_limit", "code": self.server.status}}
        elif any(m.get("role") == "tool" for m in body["messages"]):
            message = {"role": "assistant", "content": "We are on Kampala Road, open 08:00–19:00."}
            payload = self._completion(message, "stop", 70, 12)
        else:
            call = {"id": "call_1", "type": "function", "function": {"name": "get_business_info", "arguments": "{}"}}
            payload = self._completion(
                {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls", 50, 8
            )
        data = json.dumps(payload).encode()
        self.send_response(self.server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _completion(message: dict[str, Any], finish: str, prompt: int, completion: int) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": "tiny-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }


@pytest.fixture
def provider() -> Iterator[_Provider]:
    server = _Provider(("127.0.0.1", 0), _Handler)
    server.requests, server.auth = [], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _litellm_settings(settings_for: Any, provider: _Provider) -> Any:
    port = provider.server_address[1]
    return settings_for(
        model="litellm/openai/tiny-model",
        litellm_api_base=f"http://127.0.0.1:{port}/v1",
        litellm_api_key="sk-test-key",
        model_timeout=10.0,
    )


async def test_given_an_openai_compatible_server_when_run_then_tool_call_text_and_tokens_come_through(
    engine_factory: Any, settings_for: Any, provider: _Provider
) -> None:
    settings = _litellm_settings(settings_for, provider)
    model = build_model(settings)
    async with engine_factory(model, database_url=settings.database_url) as engine:
        result = await engine.run(make_request("conversation", "Where are you?"))
    assert result.tools_used == ("get_business_info",)
    assert result.text == "We are on Kampala Road, open 08:00–19:00."
    assert result.tokens_used == (50 + 8) + (70 + 12)
    assert len(provider.requests) == 2
    assert provider.auth == ["Bearer sk-test-key"] * 2
    tool_message = next(m for m in provider.requests[1]["messages"] if m.get("role") == "tool")
    assert "Kampala Road" in tool_message["content"]
    assert {t["function"]["name"] for t in provider.requests[0]["tools"]} >= {"get_business_info", "search_knowledge"}


@pytest.mark.parametrize(
    ("status", "error"), [(429, ModelUnavailableError), (503, ModelUnavailableError), (400, AgentFailedError)]
)
async def test_given_a_provider_error_when_run_then_one_http_request_and_a_classified_error(
    engine_factory: Any, settings_for: Any, provider: _Provider, status: int, error: type[Exception]
) -> None:
    provider.status = status
    settings = _litellm_settings(settings_for, provider)
    async with engine_factory(build_model(settings), database_url=settings.database_url) as engine:
        with pytest.raises(error):
            await engine.run(make_request("conversation", "Where are you?"))
        assert engine.sessions.count() == 0
    assert len(provider.requests) == 1
