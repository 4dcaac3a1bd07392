"""Limits counted in one-minute windows for the whole deployment: requests per credential
(`RequestLimit`) and failed authentications per client address (api/auth.py), leased
from a ledger every process shares (docs/security.md, "Limits for the whole deployment")."""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

WINDOW_SECONDS = 60
PROCESSES = 8  # the processes (workers on every machine) a limit is shared within 10% by
CREDIT = 0.1  # of a limit, admitted across PROCESSES processes before any round trip


class Ledger(Protocol):
    """Counts per key and window, shared by every process of the deployment."""

    async def lease(
        self, key: str, window: int, admitted: int, want: int, limit: int
    ) -> tuple[int, int]:
        """Report what was admitted on credit, and lease up to `want` more without the
        window's total passing the limit: what was granted, and the total after."""


class MemoryLedger:
    """The counts in this process's memory: the ledger of a service that is one process
    (the embedded default). Windows before the last are dropped as time goes on."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self._totals)

    async def lease(
        self, key: str, window: int, admitted: int, want: int, limit: int
    ) -> tuple[int, int]:
        """As the shared ledger does it, in memory."""
        if any(seen < window - 1 for _, seen in self._totals):
            self._totals = {k: n for k, n in self._totals.items() if k[1] >= window - 1}
        used = self._totals.get((key, window), 0) + admitted
        granted = min(want, max(limit - used, 0))
        self._totals[key, window] = used + granted
        return granted, used + granted


@dataclass
class Budget:
    """What this process holds of a key's limit in the current window."""

    window: int
    credit: int  # admissions this process may still make on credit
    left: int = 0  # admissions still leased to this process
    on_credit: int = 0  # admitted on credit, not yet reported
    total: int = 0  # the ledger's total (leases included) when last heard from
    refused: bool = False  # the ledger had nothing left: refused until the window ends


class MinuteWindows:
    """A limit of `per_minute` per key, admitted from budget leased from the ledger."""

    def __init__(
        self,
        per_minute: int,
        ledger: Ledger,
        clock: Callable[[], float],
        max_keys: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self.ledger = ledger
        self.clock = clock
        self.max_keys = max_keys
        self.credit = int(per_minute * CREDIT) // PROCESSES
        self._budgets: dict[str, Budget] = {}  # of the window held
        self._window_held = self._cleared = -1

    def __len__(self) -> int:
        return len(self._budgets)

    def _window(self) -> tuple[int, int]:
        """The current window's number, and the seconds until it ends."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        return window, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))

    def blocked_for(self, key: str) -> int | None:
        """Seconds until the key's window ends, if the ledger refused it this window (no
        round trip); else None."""
        window, reset = self._window()
        budget = self._budgets.get(key)
        if budget is None or budget.window != window or not budget.refused:
            return None
        return reset

    async def take(self, key: str) -> tuple[bool, int, int]:
        """Admit one for the key, or not: whether it is admitted, the window's total as far
        as this process knows it, and the seconds until the window ends."""
        window, reset = self._window()
        if window != self._window_held:  # a new minute: the budgets of the last are void
            self._budgets, self._window_held = {}, window
        budget = self._budgets.get(key)
        if budget is None:
            if len(self._budgets) >= self.max_keys:
                self._budgets.clear()  # the ledger keeps their counts, refusals included
                self._cleared = window
            # After a clearing, a key may be one that was refused: it gets no credit.
            credit = 0 if self._cleared == window else self.credit
            budget = self._budgets[key] = Budget(window, credit=credit)
        if budget.refused:
            pass  # refused until the window ends, without asking
        elif budget.credit:
            budget.credit -= 1
            budget.on_credit += 1
        elif budget.left:
            budget.left -= 1
        else:
            await self._lease(key, budget)
        used = budget.total - budget.left + budget.on_credit
        if budget.refused:
            return False, max(used, self.per_minute), reset
        budget.refused = used >= self.per_minute  # the next one is refused without asking
        return True, used, reset

    async def _lease(self, key: str, budget: Budget) -> None:
        """Report what was admitted on credit and lease a share of what is left: admit
        one from it, or learn that the key is refused."""
        want = max(1, (self.per_minute - budget.total) // (2 * PROCESSES))
        admitted, budget.on_credit = budget.on_credit, 0
        granted, budget.total = await self.ledger.lease(
            key, budget.window, admitted, want, self.per_minute
        )
        budget.left += granted  # another take of this key may have leased meanwhile
        if budget.left:
            budget.left -= 1
        else:
            budget.refused = True


def address_of(scope: Scope) -> str:
    """Whom a request without a credential counts against: its client address, an IPv6
    address by its /64 (one subscriber's network holds more addresses than any limit)."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def identity(scope: Scope) -> str:
    """Whom a request counts against: its x-api-key (as a hash), else its address."""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return hashlib.sha256(value).hexdigest()
    return address_of(scope)


class RequestLimit(ASGIMiddleware):
    """At most `per_minute` requests a minute per credential (callers without one: per
    address); past it, 429 RATE_LIMITED until the window ends. Every answer says where
    its caller stands, in the IETF draft's RateLimit-* headers."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, windows: MinuteWindows, exclude: Sequence[str]) -> None:
        """Limit every path but those starting with one of `exclude`."""
        self.windows = windows
        self.policy = f"{windows.per_minute}; w={WINDOW_SECONDS}"
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
        admitted, count, reset = await self.windows.take(key)
        if not admitted:
            raise TooManyRequestsException(headers=self.headers(count, reset))
        headers = self.headers(count, reset)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableScopeHeaders(message).update(headers)
            await send(message)

        await next_app(scope, receive, with_headers)
