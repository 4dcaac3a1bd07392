"""A session lives no longer than what it stands for: the tenant key that started its record
(revoked here or in another process) and the student's personal data (erased). On both
stores: PostgreSQL authenticates on the event loop, SQLite in a worker thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import GENERATE, assert_error, start
from tests.support import STUDENT, make_service

REFUSED = "the session token is unknown, expired or revoked"


@pytest.fixture
def both(store_url: str) -> Iterator[tuple[Services, TestClient[Litestar]]]:
    """A service on either store, and its HTTP app."""
    service = make_service(store_url)
    with TestClient(create_app(service)) as client:
        yield service, client
    service.store.close()


def generate(client: TestClient[Litestar], session: str) -> int:
    return client.post(GENERATE, headers={"x-api-key": session}).status_code


def test_a_revoked_keys_sessions_are_refused_with_it(
    both: tuple[Services, TestClient[Litestar]],
) -> None:
    service, client = both
    revoked, kept = (
        service.access.issue_key("acme", "live"),
        service.access.issue_key("acme", "live"),
    )
    by_revoked, by_kept = start(client, revoked), start(client, kept)
    assert generate(client, by_revoked.session) == 200
    service.access.revoke_key(revoked)
    response = client.post(GENERATE, headers={"x-api-key": by_revoked.session})
    assert assert_error(response, 401, "UNAUTHORIZED") == REFUSED
    assert generate(client, by_kept.session) == 200  # the tenant's other key's sessions live


def test_a_key_revoked_by_another_process_ends_its_sessions_within_seconds(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other process remembers the key as live for KEY_MEMORY_SECONDS, no longer."""
    now = [1000.0]
    monkeypatch.setattr("application.recent.monotonic", lambda: now[0])
    serving, operator = make_service(store_url), make_service(store_url)
    key = operator.access.issue_key("acme", "live")
    with TestClient(create_app(serving)) as client:
        record = start(client, key)
        assert generate(client, record.session) == 200
        operator.access.revoke_key(key)
        now[0] += 2.9
        assert (
            client.get(
                f"/api/v1/verifications/{record.record_id}", headers={"x-api-key": key}
            ).status_code
            == 200
        )
        assert generate(client, record.session) == 200  # remembered live a moment ago
        now[0] += 0.2
        assert_error(
            client.post(GENERATE, headers={"x-api-key": record.session}), 401, "UNAUTHORIZED"
        )
    serving.store.close()
    operator.store.close()


def test_an_erased_students_sessions_are_refused(
    both: tuple[Services, TestClient[Litestar]],
) -> None:
    service, client = both
    key = service.access.issue_key("acme", "live")
    record = start(client, key)
    erased = client.delete(f"/api/v1/students/{STUDENT['studentId']}", headers={"x-api-key": key})
    assert erased.status_code == 200, erased.text
    response = client.post(GENERATE, headers={"x-api-key": record.session})
    assert assert_error(response, 401, "UNAUTHORIZED") == REFUSED
