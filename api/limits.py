"""Limits counted in one-minute windows in this process's memory: requests per credential
(`RequestLimit`, every path but the open ones) and failed authentications per address
(the guards in api/auth.py).

Each worker counts on its own (N workers allow up to N times a limit): a count shared
through the store would cost a round trip per request, the very cost a limit saves. Only
the event loop touches the counts, so they need no lock, and a request costs one
dictionary lookup whatever the traffic (Litestar's own limiter kept, decoded and encoded
again every timestamp of the window on each request, under one lock for every caller)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from time import monotonic

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

WINDOW_SECONDS = 60


class MinuteWindows:
    """Counts per key in one-minute windows. At most max_keys windows are kept: ended ones
    make room, and when all are live the memory starts over rather than grow."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}  # key: (window's end, count)

    def __len__(self) -> int:
        return len(self._windows)

    def blocked_for(self, key: str) -> int | None:
        """Seconds until the key's window ends, if its count reached the limit; else None."""
        now = self.clock()
        ends, count = self._windows.get(key, (now, 0))
        if ends <= now or count < self.per_minute:
            return None
        return math.ceil(ends - now)

    def count(self, key: str) -> tuple[int, int]:
        """Count one for the key; its window's count and the seconds until it ends."""
        now = self.clock()
        ends, count = self._windows.get(key, (now, 0))
        if ends <= now:
            if len(self._windows) >= self.max_keys:
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
            if len(self._windows) >= self.max_keys:
                self._windows.clear()
            ends, count = now + WINDOW_SECONDS, 0
        self._windows[key] = (ends, count + 1)
        return count + 1, math.ceil(ends - now)


def identity(scope: Scope) -> str:
    """Whom a request counts against: its x-api-key (as a hash), else its address."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return hashlib.sha256(value).hexdigest()
    client = scope.get("client")
    return client[0] if client else "unknown"


class RequestLimit(ASGIMiddleware):
    """At most `per_minute` requests a minute per credential (callers without one: per
    address); past it, 429 RATE_LIMITED until the window ends. Every answer says where
    its caller stands, in the IETF draft's RateLimit-* headers."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, per_minute: int, exclude: Sequence[str]) -> None:
        """Limit every path but those starting with one of `exclude`."""
        self.windows = MinuteWindows(per_minute)
        self.policy = f"{per_minute}; w={WINDOW_SECONDS}"
        unlimited = tuple(exclude)
        self.should_bypass_for_scope = lambda scope: scope["path"].startswith(unlimited)

    def headers(self, count: int, reset: int) -> dict[str, str]:
        """The RateLimit-* headers of an answer."""
        limit = self.windows.per_minute
        return {
            "RateLimit-Policy": self.policy,
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(limit - count, 0)),
            "RateLimit-Reset": str(reset),
        }

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Count the request, or refuse it; pass it on with the headers."""
        key = identity(scope)
        wait = self.windows.blocked_for(key)
        if wait is not None:
            raise TooManyRequestsException(headers=self.headers(self.windows.per_minute, wait))
        headers = self.headers(*self.windows.count(key))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableScopeHeaders(message).update(headers)
            await send(message)

        await next_app(scope, receive, with_headers)
