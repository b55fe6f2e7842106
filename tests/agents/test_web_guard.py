"""The web-search guard refuses private destinations, before connecting and on every redirect.

A real HTTP listener on loopback counts requests: every refusal must leave it at zero hits.
Public hosts are simulated with an injected resolver (a name → a public IP) and httpx's
``MockTransport`` standing in for the internet, which also shows the request is pinned to
the checked address with the original ``Host`` header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agents.models import ScriptedModel, Turn
from agents.web import GuardedClient, UnsafeURLError, WebSearch, WebSearchUnavailableError
from tests.agents.conftest import make_request

PUBLIC_IP = "93.184.216.34"


class _Counter(ThreadingHTTPServer):
    hits = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Counter

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits += 1
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def loopback() -> Iterator[_Counter]:
    server = _Counter(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _internet(loopback_port: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/to-loopback":
            return httpx.Response(302, headers={"location": f"http://127.0.0.1:{loopback_port}/"})
        if path == "/to-file":
            return httpx.Response(301, headers={"location": "file:///etc/passwd"})
        if path == "/to-metadata":
            return httpx.Response(307, headers={"location": "http://metadata.internal/latest/meta-data/"})
        if path == "/huge":
            return httpx.Response(200, content=b"x" * 2_000_000)
        results = [{"title": "Kampala weather", "url": "https://example.org/w", "content": "Sunny, 27 °C"}]
        return httpx.Response(200, json={"results": results})

    return httpx.MockTransport(handle)


async def _resolver(host: str, port: int) -> list[str]:
    table = {
        "public.example": [PUBLIC_IP],
        "localhost": ["127.0.0.1"],
        "metadata.internal": ["169.254.169.254"],
        "mixed.example": [PUBLIC_IP, "10.1.2.3"],
    }
    return table.get(host, [])


@pytest.fixture
async def client(loopback: _Counter) -> Any:
    seen: list[httpx.Request] = []
    guarded = GuardedClient(
        timeout=5.0, max_bytes=100_000, resolver=_resolver, transport=_internet(loopback.server_address[1], seen)
    )
    await guarded.start()
    guarded.seen = seen  # type: ignore[attr-defined]
    yield guarded
    await guarded.aclose()


REFUSED = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port}/",
    "http://10.0.0.1/",
    "http://192.168.1.10/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://mixed.example/",
    "http://public.example/to-loopback",
    "http://public.example/to-metadata",
    "http://public.example/to-file",
    "http://public.example/huge",
    "file:///etc/passwd",
    "ftp://public.example/",
    "gopher://127.0.0.1:{port}/",
]


@pytest.mark.parametrize("template", REFUSED)
async def test_given_a_private_or_odd_destination_when_fetched_then_refused_and_loopback_sees_no_hit(
    client: GuardedClient, loopback: _Counter, template: str
) -> None:
    url = template.format(port=loopback.server_address[1])
    with pytest.raises(UnsafeURLError):
        await client.get(url)
    assert loopback.hits == 0


async def test_given_a_public_host_when_fetched_then_the_connection_is_pinned_to_the_checked_ip(
    client: GuardedClient,
) -> None:
    search = WebSearch("https://public.example/search", client)
    hits = await search.search("weather kampala")
    assert hits == [{"title": "Kampala weather", "url": "https://example.org/w", "snippet": "Sunny, 27 °C"}]
    request = client.seen[-1]  # type: ignore[attr-defined]
    assert request.url.host == PUBLIC_IP
    assert request.headers["host"] == "public.example"
    assert request.extensions["sni_hostname"] == "public.example"
    assert request.url.params["q"] == "weather kampala" and request.url.params["format"] == "json"


async def test_given_search_pointed_at_loopback_when_searching_then_unavailable_and_no_hit(
    client: GuardedClient, loopback: _Counter
) -> None:
    search = WebSearch(f"http://127.0.0.1:{loopback.server_address[1]}/search", client)
    with pytest.raises(WebSearchUnavailableError, match="not a public address"):
        await search.search("anything")
    assert loopback.hits == 0


async def test_given_the_engine_configured_with_a_loopback_provider_when_the_agent_searches_then_it_says_unavailable(
    engine_factory: Any, loopback: _Counter
) -> None:
    model = ScriptedModel(script=[Turn.call("web_search", query="kampala weather"), Turn.say("Sorry.")])
    url = f"http://127.0.0.1:{loopback.server_address[1]}/search"
    async with engine_factory(model, web_search_url=url) as engine:
        assert engine.health()["web_search"] is True
        result = await engine.run(make_request("search", "weather in kampala"))
    assert result.reasoning_steps == ("web_search(query=kampala weather) → unavailable",)
    assert loopback.hits == 0
