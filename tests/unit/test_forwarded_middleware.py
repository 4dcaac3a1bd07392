"""The forwarded-address middleware, called as the ASGI server calls it: the client it
passes on is the peer's, unless the peer is a named proxy."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from api.forwarded import ForwardedFor

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::1/128")]


def passed_on(peer: str | None, *headers: tuple[bytes, bytes], kind: str = "http") -> Any:
    """The client the next app sees, for a request from `peer` with these headers."""
    seen: list[Any] = []

    async def receive() -> Any: ...
    async def send(message: Any) -> None: ...

    async def next_app(scope: Any, given_receive: Any, given_send: Any) -> None:
        assert (given_receive, given_send) == (receive, send)  # the body and the answer
        seen.append(scope.get("client"))

    scope: dict[str, Any] = {"type": kind, "headers": list(headers)}
    if peer is not None:
        scope["client"] = (peer, 4321)
    middleware = ForwardedFor(PROXIES)
    asyncio.run(middleware.handle(scope, receive, send, next_app))  # type: ignore[arg-type]
    [client] = seen
    return client


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.1.2.3", [b"203.0.113.9"], ("203.0.113.9", 4321)),  # a named proxy: believed
        ("10.1.2.3", [b"198.51.100.1, 203.0.113.9"], ("203.0.113.9", 4321)),  # rightmost
        ("10.1.2.3", [b"203.0.113.9, 10.9.9.9"], ("203.0.113.9", 4321)),  # past a proxy
        ("10.1.2.3", [b"198.51.100.1", b"203.0.113.9"], ("203.0.113.9", 4321)),  # 2 headers
        ("2001:db8::1", [b"2001:db8::2"], ("2001:db8::2", 4321)),
        ("10.1.2.3", [], ("10.1.2.3", 4321)),  # no header: the proxy itself
        ("10.1.2.3", [b"not-an-address"], ("10.1.2.3", 4321)),
        ("192.0.2.7", [b"203.0.113.9"], ("192.0.2.7", 4321)),  # not a proxy: not believed
        ("testclient", [b"203.0.113.9"], ("testclient", 4321)),  # not an address
    ],
)
def test_the_client_is_the_peer_unless_a_named_proxy_forwarded_it(
    peer: str, forwarded: list[bytes], client: tuple[str, int]
) -> None:
    headers = [(b"x-forwarded-for", value) for value in forwarded]
    assert passed_on(peer, (b"x-other", b"203.0.113.1"), *headers) == client


def test_other_headers_and_a_missing_client_are_left_alone() -> None:
    assert passed_on("10.1.2.3", (b"forwarded", b"for=203.0.113.9")) == ("10.1.2.3", 4321)
    assert passed_on(None, (b"x-forwarded-for", b"203.0.113.9")) is None
