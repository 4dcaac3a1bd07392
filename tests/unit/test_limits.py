"""The limits' arithmetic (api/limits.py): credit, leases that get finer near the limit,
what one process admits exactly, and the ledger's memory of windows."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from litestar.exceptions import TooManyRequestsException

from api.limits import PROCESSES, MemoryLedger, MinuteWindows, RequestLimit, address_of

MINUTE = 60_000.0  # a window's start


class Recording:
    """The memory ledger, noting each lease asked for: (admitted on credit, wanted)."""

    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.asked: list[tuple[int, int]] = []

    async def lease(
        self, key: str, window: int, admitted: int, want: int, limit: int
    ) -> tuple[int, int]:
        self.asked.append((admitted, want))
        return await self.ledger.lease(key, window, admitted, want, limit)


def admitted(limit: MinuteWindows, key: str, tries: int) -> list[bool]:
    async def run() -> list[bool]:
        return [(await limit.take(key))[0] for _ in range(tries)]

    return asyncio.run(run())


def test_one_process_admits_exactly_its_limit_credit_included() -> None:
    ledger = Recording()
    limit = MinuteWindows(160, ledger, lambda: MINUTE)
    assert limit.credit == 2  # a tenth of 160, shared by 8 processes
    assert admitted(limit, "k", 160) == [True] * 160
    leases = len(ledger.asked)
    assert admitted(limit, "k", 40) == [False] * 40
    assert len(ledger.asked) == leases == 59
    # The credit is reported with the first lease; leases are a sixteenth of what is left,
    # then one at a time; no lease is asked for once the key is refused.
    assert ledger.asked[0] == (2, 160 // (2 * PROCESSES))
    assert [want for _, want in ledger.asked[:4]] == [10, 9, 8, 8]
    assert [want for _, want in ledger.asked[-3:]] == [1, 1, 1]
    assert sum(on_credit for on_credit, _ in ledger.asked) == 2


def test_a_key_refused_is_refused_without_asking_until_its_minute_ends() -> None:
    now = [MINUTE + 30]
    ledger = Recording()
    limit = MinuteWindows(3, ledger, lambda: now[0])
    assert admitted(limit, "k", 5) == [True, True, True, False, False]
    asked = len(ledger.asked)
    assert limit.blocked_for("k") == 30
    assert admitted(limit, "k", 3) == [False] * 3
    assert len(ledger.asked) == asked
    now[0] = MINUTE + 60
    assert limit.blocked_for("k") is None
    assert admitted(limit, "k", 4) == [True, True, True, False]


def test_the_memory_ledger_keeps_the_last_two_windows_only() -> None:
    ledger = MemoryLedger()

    async def leases() -> None:
        for window in range(10, 15):
            for key in ("a", "b"):
                assert await ledger.lease(key, window, 0, 2, 5) == (2, 2)
        assert len(ledger) == 4  # windows 13 and 14, two keys each
        assert await ledger.lease("a", 14, 1, 5, 5) == (2, 5)  # 2 + 1 on credit + 2

    asyncio.run(leases())


def test_concurrent_requests_of_a_key_lose_none_of_its_leases() -> None:
    """Two requests of one key may ask for a lease at once: each grant adds to what the
    process holds, so it still admits exactly the limit."""

    class Yielding(MemoryLedger):
        async def lease(
            self, key: str, window: int, admitted: int, want: int, limit: int
        ) -> tuple[int, int]:
            await asyncio.sleep(0)  # the other request's take runs meanwhile
            return await super().lease(key, window, admitted, want, limit)

    limit = MinuteWindows(32, Yielding(), lambda: MINUTE)

    async def pairs() -> list[bool]:
        answers: list[bool] = []
        for _ in range(20):
            both = await asyncio.gather(limit.take("k"), limit.take("k"))
            answers += [admitted for admitted, _, _ in both]
        return answers

    assert asyncio.run(pairs()).count(True) == 32


def test_each_answer_counts_what_the_window_admitted_so_far() -> None:
    limit = MinuteWindows(160, MemoryLedger(), lambda: MINUTE)

    async def run() -> list[int]:
        return [(await limit.take("k"))[1] for _ in range(170)]

    # On credit, from leases (bought ahead: the count is what was admitted, not leased),
    # then refused: the count stays at the limit.
    assert asyncio.run(run()) == [*range(1, 161), *[160] * 10]


def test_after_the_memory_is_cleared_no_key_gets_credit() -> None:
    """A key dropped from memory may be an offender the ledger refuses: it must ask."""
    ledger = Recording()
    limit = MinuteWindows(160, ledger, lambda: MINUTE, max_keys=2)
    assert admitted(limit, "a", 2) == [True, True]  # on credit: no lease yet
    assert ledger.asked == []
    admitted(limit, "b", 1)
    admitted(limit, "c", 1)  # a third key: the memory is cleared
    assert len(limit) == 1
    assert admitted(limit, "d", 1) == [True]
    assert ledger.asked[-1] == (0, 10)  # d asked at once, with nothing on credit


def test_the_memory_never_holds_more_keys_than_its_bound() -> None:
    limit = MinuteWindows(160, MemoryLedger(), lambda: MINUTE, max_keys=3)
    for key in "abcdefgh":
        admitted(limit, key, 1)
        assert len(limit) <= 3
    assert len(limit) == 2  # g and h: cleared at d and at g


def test_a_request_without_a_client_address_counts_as_unknown() -> None:
    assert address_of({"headers": []}) == "unknown"  # type: ignore[arg-type]
    assert address_of({"client": None, "headers": []}) == "unknown"  # type: ignore[arg-type]


def test_a_request_the_ledger_refuses_gets_the_limit_headers() -> None:
    """Another process took the key's whole limit: this one learns it from the ledger."""
    ledger = MemoryLedger()
    elsewhere = MinuteWindows(3, ledger, lambda: MINUTE + 30)
    assert admitted(elsewhere, hashlib.sha256(b"ak_x").hexdigest(), 3) == [True] * 3
    here = RequestLimit(MinuteWindows(3, ledger, lambda: MINUTE + 30), ["/health"])
    scope: Any = {"type": "http", "path": "/api/v1/verify", "headers": [(b"x-api-key", b"ak_x")]}

    async def never(*_: Any) -> None:
        raise AssertionError("a refused request reaches no handler")

    with pytest.raises(TooManyRequestsException) as refused:
        asyncio.run(here.handle(scope, never, never, never))  # type: ignore[arg-type]
    assert refused.value.headers == {
        "RateLimit-Policy": "3; w=60",
        "RateLimit-Limit": "3",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "30",
    }


def test_the_memory_holds_ten_thousand_keys_as_documented() -> None:
    limit = MinuteWindows(160, MemoryLedger(), lambda: MINUTE)

    async def fill() -> None:
        for number in range(10_000):
            await limit.take(str(number))

    asyncio.run(fill())
    assert len(limit) == 10_000
    admitted(limit, "one more", 1)
    assert len(limit) == 1
