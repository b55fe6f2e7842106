"""An HTTP client that can only reach the public internet: the SSRF guard of web search.

Whatever URL a fetch starts from (configured, or written by a model that read a web page),
it must not reach the replica's own network: loopback, private ranges, link-local (which
includes the 169.254.169.254 cloud metadata service), carrier-grade NAT, multicast, reserved
or unspecified addresses, and any scheme other than http and https. The check is made

* after DNS resolution, on every address the name resolves to (one bad address refuses),
* on every redirect hop (redirects are followed here, by hand, never by httpx),
* and the connection is then pinned to the address that was checked (the request goes to
  the IP with the original ``Host`` header and TLS server name), so a DNS answer that
  changes between the check and the connect ("DNS rebinding") cannot slip through.

Each fetch has a timeout and a response size cap; proxies from the environment are ignored
because a proxy would make the address check meaningless.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

__all__ = ["FetchResult", "GuardedClient", "Resolver", "UnsafeURLError", "check_address"]

#: Resolves (host, port) to IP address strings.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class UnsafeURLError(Exception):
    """Raised when a URL, a redirect target or a resolved address is not allowed."""


@dataclass(frozen=True)
class FetchResult:
    """A completed fetch (the final hop)."""

    url: str
    status_code: int
    content_type: str
    body: bytes


def check_address(address: str) -> None:
    """Raise :class:`UnsafeURLError` unless ``address`` is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_link_local:
        raise UnsafeURLError(f"address {ip} is not a public address")


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the event loop's resolver (a thread pool: never blocks the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class GuardedClient:
    """Fetch public http(s) URLs with timeouts, a size cap and an address check on every hop."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_bytes: int = 1_000_000,
        max_redirects: int = 3,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._resolver = resolver or system_resolver
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Create the connection pool (idempotent)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                trust_env=False,
                transport=self._transport,
                headers={"User-Agent": "agentcluster-websearch/0.1", "Accept": "application/json, text/*"},
            )

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _pin(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str], dict[str, object]]:
        if url.scheme not in ("http", "https"):
            raise UnsafeURLError(f"scheme {url.scheme or '(none)'!r} is not allowed")
        host = url.host
        if not host:
            raise UnsafeURLError("URL has no host")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await self._resolver(host, port)
            except OSError as exc:
                raise UnsafeURLError(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise UnsafeURLError(f"{host} has no address")
        for address in addresses:
            check_address(address)
        pinned = url.copy_with(host=addresses[0])
        default_port = port == (443 if url.scheme == "https" else 80)
        headers = {"Host": host if default_port else f"{host}:{port}"}
        extensions: dict[str, object] = {"sni_hostname": host} if url.scheme == "https" else {}
        return pinned, headers, extensions

    async def get(self, url: str, params: dict[str, str] | None = None) -> FetchResult:
        """GET ``url``, following up to ``max_redirects`` redirects, each one checked."""
        if self._client is None:
            raise RuntimeError("GuardedClient used before start()")
        try:
            current = httpx.URL(url, params=params) if params else httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise UnsafeURLError(f"invalid URL: {exc}") from None
        async with asyncio.timeout(self.timeout * (self.max_redirects + 1)):
            for _hop in range(self.max_redirects + 1):
                pinned, headers, extensions = await self._pin(current)
                request = self._client.build_request("GET", pinned, headers=headers, extensions=extensions)
                response = await self._client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        current = current.join(location)
                        continue
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise UnsafeURLError(f"response larger than {self.max_bytes} bytes")
                    return FetchResult(
                        url=str(current),
                        status_code=response.status_code,
                        content_type=response.headers.get("content-type", ""),
                        body=bytes(body),
                    )
                finally:
                    await response.aclose()
        raise UnsafeURLError(f"more than {self.max_redirects} redirects")
