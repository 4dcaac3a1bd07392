"""Fixtures: real stores (SQLite files and a fresh PostgreSQL database) and the HTTP app."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.broker import Broker, running_broker
from tests.pgserver import fresh_database, running_server
from tests.support import Clock, kept_logs, make_service


@pytest.fixture(autouse=True)
def undocumented_errors() -> Iterator[list[logging.LogRecord]]:
    """Fail a test in which the API answered an error code that its OpenAPI operation does
    not list (api/errors.py `documented`): the document may not drift from the answers."""
    with kept_logs("assess.api") as records:
        yield records
    found = [r.getMessage() for r in records if r.getMessage().startswith("undocumented error")]
    assert found == [], found


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server: the machine's, or a private one started for this run."""
    with running_server() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """A Kafka-protocol broker for the whole run (tests use their own topics)."""
    with running_broker() as broker:
        yield broker


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped after the test."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'assess.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each contract test runs on both stores."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def clock() -> Clock:
    """The clock every service of the test reads."""
    return Clock()


@pytest.fixture
def service(sqlite_url: str, clock: Clock) -> Iterator[Services]:
    """A service on a fresh SQLite store with the shipped banks."""
    service = make_service(sqlite_url, clock)
    yield service
    service.store.close()


@pytest.fixture
def client(service: Services) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The HTTP app over the service."""
    with TestClient(create_app(service)) as client:
        yield client


@pytest.fixture
def tenant_key(service: Services) -> str:
    """A live key of tenant acme."""
    return service.access.issue_key("acme", "live")


# Modules whose tests start processes of the service, a broker or a browser, or wait for
# an outage or a retry, or fuzz: `scripts/test.sh -m "not slow"` runs the rest.
SLOW_MODULES = {
    "api/test_fuzz",
    "integration/test_audit_bundle",
    "integration/test_fanout",
    "integration/test_forwarded",
    "integration/test_generated_client",
    "integration/test_hostile_fuzz",
    "integration/test_keys",
    "integration/test_processes",
    "integration/test_projector_processes",
    "integration/test_readme",
    "integration/test_relay",
    "integration/test_tracing_processes",
}


# Tests held to a wall-clock bound: `scripts/test.sh` runs them after the parallel pass,
# alone, so that no other test's processes slow the machine under them.
SERIAL = {
    "integration/test_delivery_bounds::test_a_reply_trickling_its_headers_ends_at_the_timeout",
    "integration/test_delivery_bounds::test_a_reply_trickling_its_body_ends_at_the_timeout",
    "integration/test_delivery_bounds::test_an_endless_reply_body_is_not_read",
    "integration/test_keys::test_the_embedded_server_refuses_a_key_revoked_by_id_within_5_seconds",
    "integration/test_keys::test_every_worker_refuses_a_revoked_key_within_5_seconds",
    "integration/test_processes::test_the_service_recovers_within_a_second_of_the_stores_return",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs: `postgres`, `kafka`, `browser`; `slow`; `serial`."""
    for item in items:
        folder, module = item.path.parent.name, item.path.stem
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if {"pg_server", "pg_url"} & fixtures or params.get("store_url") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if "broker" in fixtures or folder == "kafka":
            item.add_marker(pytest.mark.kafka)
        if folder == "browser":
            item.add_marker(pytest.mark.browser)
        if folder in ("kafka", "browser") or f"{folder}/{module}" in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if f"{folder}/{module}::{getattr(item, 'originalname', item.name)}" in SERIAL:
            item.add_marker(pytest.mark.serial)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the figures a test recorded as its `summary` (the hostile-input run's count of
    cases and server errors), also from xdist's workers."""
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) == "call":
                for name, value in report.user_properties:
                    if name == "summary":
                        terminalreporter.write_line(f"{report.nodeid}: {value}")


ROOT = Path(__file__).resolve().parents[1]


def working_tree() -> str | None:
    """The repository's changes as git sees them (None outside a git checkout, such as
    mutmut's copy): what a run of the tests must leave as it found it."""
    try:
        found = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        changed = subprocess.run(
            ["git", "diff", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return found + changed


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note the working tree, to find a test that writes into it."""
    session.config.stash[TREE] = working_tree()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the tests changed a file of the repository (or left one there)."""
    before, after = session.config.stash.get(TREE, None), working_tree()
    if before is not None and after != before and not hasattr(session.config, "workerinput"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nthe tests changed the working tree:\n{after}")


TREE = pytest.StashKey[str | None]()
