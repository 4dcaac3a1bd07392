"""Failed authentications per client address: past the limit, 429 without a store lookup."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.limits import MemoryLedger, MinuteWindows, address_of
from entrypoints.bootstrap import Services
from tests.support import Clock, make_service

HOOKS = "/api/v1/webhooks"
LIMIT = 5


@pytest.fixture
def guarded(sqlite_url: str, clock: Clock) -> Iterator[Services]:
    """A service that allows each client address 5 failed authentications a minute."""
    service = make_service(sqlite_url, clock, auth_failures_per_minute=LIMIT)
    yield service
    service.store.close()


def bogus(number: int) -> dict[str, str]:
    return {"x-api-key": f"ak_live_{number:043d}"}


def test_an_address_past_its_failures_is_rate_limited_without_a_store_lookup(
    guarded: Services,
) -> None:
    with TestClient(create_app(guarded)) as client:
        statuses = [client.get(HOOKS, headers=bogus(n)).status_code for n in range(LIMIT)]
        guarded.store.close()  # from here on, a lookup would fail with 500 or 503
        limited = [client.get(HOOKS, headers=bogus(LIMIT + n)) for n in range(3)]
        no_key = client.get(HOOKS)
    assert statuses == [401] * LIMIT
    for response in [*limited, no_key]:
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "RATE_LIMITED"
        assert 0 < int(response.headers["Retry-After"]) <= 60


def test_a_key_this_process_knows_still_works_from_a_limited_address(
    guarded: Services,
) -> None:
    key = guarded.access.issue_key("acme", "live")
    unseen = guarded.access.issue_key("other", "live")
    with TestClient(create_app(guarded)) as client:
        assert client.get(HOOKS, headers={"x-api-key": key}).status_code == 200
        for n in range(LIMIT):
            assert client.get(HOOKS, headers=bogus(n)).status_code == 401
        assert client.get(HOOKS, headers=bogus(LIMIT)).status_code == 429
        assert client.get(HOOKS, headers={"x-api-key": key}).status_code == 200
        # A key this process never saw is told apart from a bogus one only by a lookup.
        assert client.get(HOOKS, headers={"x-api-key": unseen}).status_code == 429
        guarded.access.revoke_key(key)
        assert client.get(HOOKS, headers={"x-api-key": key}).status_code == 429


def test_valid_keys_do_not_count_as_failures(guarded: Services) -> None:
    key = guarded.access.issue_key("acme", "live")
    with TestClient(create_app(guarded)) as client:
        for _ in range(LIMIT * 2):
            assert client.get(HOOKS, headers={"x-api-key": key}).status_code == 200
        for n in range(LIMIT):
            assert client.get(HOOKS, headers=bogus(n)).status_code == 401


def test_the_default_allows_60_failures_a_minute(client: TestClient[Litestar]) -> None:
    statuses = [client.get(HOOKS, headers=bogus(n)).status_code for n in range(61)]
    assert statuses == [401] * 60 + [429]


class Ticks:
    """A wall clock the test moves by hand (windows are the clock's minutes)."""

    def __init__(self) -> None:
        self.now = 60_000.0  # a window's start

    def __call__(self) -> float:
        return self.now


def test_failures_are_forgotten_when_their_minute_ends() -> None:
    ticks = Ticks()
    limit = MinuteWindows(2, MemoryLedger(), ticks)
    asyncio.run(limit.take("a"))
    asyncio.run(limit.take("a"))
    assert limit.blocked_for("a") == 60
    assert limit.blocked_for("b") is None
    ticks.now += 59.5
    assert limit.blocked_for("a") == 1
    ticks.now += 0.5
    assert limit.blocked_for("a") is None
    asyncio.run(limit.take("a"))
    assert limit.blocked_for("a") is None


def test_the_memory_is_bounded_and_forgets_no_offender() -> None:
    """Past max_keys, keys are dropped from this process's memory; the ledger keeps every
    count, so an offender dropped is found over its limit at its next request."""
    ticks, ledger = Ticks(), MemoryLedger()
    limit = MinuteWindows(2, ledger, ticks, max_keys=3)

    async def failures() -> None:
        for _ in range(2):
            await limit.take("offender")
        assert limit.blocked_for("offender") == 60
        for address in "abcdefgh":  # one failure each: more keys than the memory holds
            await limit.take(address)
        assert len(limit) <= 3
        admitted, _, _ = await limit.take("offender")
        assert not admitted  # the ledger has its count: refused again
        assert limit.blocked_for("offender") == 60
        ticks.now += 60
        await limit.take("z")  # a new window: the ended one makes room
        assert len(limit) == 1

    asyncio.run(failures())


def test_ipv6_clients_count_by_their_64_and_ipv4_by_address() -> None:
    def scope(host: str) -> Any:
        return {"client": (host, 1), "headers": []}

    assert address_of(scope("2001:db8:1:2:aaaa::1")) == address_of(scope("2001:db8:1:2::ffff"))
    assert address_of(scope("2001:db8:1:2::1")) == "2001:db8:1:2::/64"
    assert address_of(scope("2001:db8:1:3::1")) != address_of(scope("2001:db8:1:2::1"))
    assert address_of(scope("::ffff:198.51.100.7")) == "198.51.100.7"
    assert address_of(scope("198.51.100.7")) != address_of(scope("198.51.100.8"))
