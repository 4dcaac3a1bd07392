"""The limits hold for the whole deployment: several API processes (here, apps each with
their own service, on one PostgreSQL database) share one ledger, so a client spreading its
requests over them gets the limit once, not once per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.support import Clock, make_service

HOOKS = "/api/v1/webhooks"
PROCESSES = 3


@pytest.fixture
def deployment(pg_url: str) -> Iterator[tuple[list[Services], list[TestClient[Litestar]]]]:
    """Three API processes on one database, with one clock (windows are its minutes)."""
    clock = Clock()
    services = [
        make_service(pg_url, clock, rate_limit_per_minute=50, auth_failures_per_minute=20)
        for _ in range(PROCESSES)
    ]
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(s))) for s in services]
        yield services, clients
    for service in services:
        service.store.close()


def test_a_key_spread_over_processes_gets_its_limit_once(
    deployment: tuple[list[Services], list[TestClient[Litestar]]],
) -> None:
    services, clients = deployment
    key = {"x-api-key": services[0].access.issue_key("acme", "live")}
    statuses = [clients[n % PROCESSES].get(HOOKS, headers=key).status_code for n in range(150)]
    admitted = statuses.count(200)
    assert 45 <= admitted <= 50, statuses  # within 10% of 50, never past it
    assert set(statuses) == {200, 429}
    assert statuses[-PROCESSES:] == [429] * PROCESSES  # refused in every process
    other = {"x-api-key": services[0].access.issue_key("acme", "live")}
    assert clients[1].get(HOOKS, headers=other).status_code == 200  # each key its own


def test_failed_authentications_spread_over_processes_are_counted_once(
    deployment: tuple[list[Services], list[TestClient[Litestar]]],
) -> None:
    _, clients = deployment
    statuses = [
        clients[n % PROCESSES].get(HOOKS, headers={"x-api-key": f"ak_live_{n:043d}"}).status_code
        for n in range(60)
    ]
    failed = statuses.count(401)
    # 20 a minute: each other process learns of it at its next failure (at most one more)
    assert 20 <= failed <= 20 + PROCESSES - 1, statuses
    assert statuses[-PROCESSES:] == [429] * PROCESSES


def test_a_new_minute_starts_every_count_again(
    deployment: tuple[list[Services], list[TestClient[Litestar]]],
) -> None:
    services, clients = deployment
    key = {"x-api-key": services[0].access.issue_key("acme", "live")}
    for n in range(60):
        clients[n % PROCESSES].get(HOOKS, headers=key)
    assert clients[0].get(HOOKS, headers=key).status_code == 429
    services[0].clock.advance(minutes=1)  # type: ignore[attr-defined]  # the shared Clock
    assert [c.get(HOOKS, headers=key).status_code for c in clients] == [200] * PROCESSES
