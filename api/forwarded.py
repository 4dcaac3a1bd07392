"""The client address of a request: the peer's, unless the peer is a proxy the operator
named in ASSESS_TRUSTED_PROXIES, whose X-Forwarded-For is then believed up to the first
address it did not add itself. Nothing else is believed (no `Forwarded`, no other peer's
headers), so a client cannot choose the address its limits count against."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from application.settings import Network


def trusted(address: str, proxies: Sequence[Network]) -> bool:
    """Whether an address is one of the proxies (False for anything not an address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: list[bytes], proxies: Sequence[Network]) -> str:
    """The peer, or through trusted proxies the rightmost address they did not add."""
    if not trusted(peer, proxies) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in b",".join(forwarded_for).decode("latin-1").split(",")]
    for hop in reversed(hops):
        if not trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy passed on what is not an address: believe nothing
    return hops[0] or peer  # every hop a proxy: the first one


class ForwardedFor(ASGIMiddleware):
    """Sets the scope's client to the address `client_address` finds."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, proxies: Sequence[Network]) -> None:
        self.proxies = tuple(proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Rewrite the client, only when the peer is a named proxy."""
        client = scope.get("client")
        if client and trusted(client[0], self.proxies):
            values = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
            scope["client"] = (client_address(client[0], values, self.proxies), client[1])
        await next_app(scope, receive, send)
