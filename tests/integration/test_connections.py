"""Connections by budget: every process opens PostgreSQL connections as it needs them, up
to ASSESS_DB_POOL_SIZE, and closes unused ones; an idle `assess serve --workers 4` holds
at most 8 (counted in pg_stat_activity)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from litestar.testing import TestClient

from application.settings import Settings
from infrastructure.database import datastore
from infrastructure.persistence import open_store
from tests.processes import server
from tests.support import MASTER_KEY, kept_logs, make_service

pytestmark = pytest.mark.slow


def connections(url: str) -> int:
    """The connections to the URL's database, other than this count's own."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url) as own:
        row = own.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def settled(url: str, at_most: int, seconds: float) -> int:
    """The count once it is at most `at_most`, or the last count after `seconds`."""
    deadline = time.monotonic() + seconds
    while (count := connections(url)) > at_most and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def test_an_idle_api_with_four_workers_holds_at_most_eight(pg_url: str, tmp_path: Path) -> None:
    env = {"ASSESS_DATABASE_URL": pg_url, "ASSESS_MASTER_KEY": MASTER_KEY}
    with server("serve", "--workers", "4", env=env, log=tmp_path / "serve.log") as url:
        for _ in range(40):  # every worker answers (each opened its pools at its start)
            assert httpx.get(f"{url}/ready", timeout=10).status_code == 200
        idle = settled(pg_url, 8, 30)  # what a burst opened closes within its idle seconds
    assert 4 <= idle <= 8, idle


def test_a_process_opens_up_to_its_budget_and_closes_what_it_no_longer_uses(
    pg_url: str,
) -> None:
    settings = Settings(
        database_url=pg_url, master_key=MASTER_KEY, db_pool_size=4, db_idle_seconds=1
    )
    store = open_store(settings)
    database = datastore(store)
    assert isinstance(database, PostgresDatastore)
    assert (database.pool.min_size, database.pool.max_size) == (1, 4)
    before = settled(pg_url, 1, 5)

    def hold() -> None:  # eight threads want a connection at once: four at a time get one
        with database.get_connection() as connection:
            connection.execute("SELECT pg_sleep(1)")

    threads = [threading.Thread(target=hold) for _ in range(8)]
    peak = 0
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, connections(pg_url))
        time.sleep(0.05)
    assert before <= 1
    assert 2 <= peak <= 4  # opened as needed, never past the budget
    assert settled(pg_url, 1, 15) == 1  # one closed each idle second, down to the first
    store.close()


def test_a_full_pool_answers_503_busy_and_keeps_its_connections(pg_url: str) -> None:
    service = make_service(pg_url, db_pool_size=1, db_connect_timeout=1)
    key = service.access.issue_key("acme", "live")
    database = datastore(service.store)
    assert isinstance(database, PostgresDatastore)
    pool = database.pool
    with TestClient(service.app()) as client:
        assert client.get("/api/v1/skills", headers={"x-api-key": key}).status_code == 200
        with database.get_connection(), kept_logs("assess.api") as logs:
            # the threads' one connection, held elsewhere
            busy = client.get("/api/v1/verifications", headers={"x-api-key": key})
        assert busy.status_code == 503
        [logged] = logs
        assert logged.levelno == logging.WARNING
        assert logged.getMessage().startswith("every connection of the pool is busy: ")
        assert busy.json()["error"] == {
            "code": "SERVICE_UNAVAILABLE",
            "message": "the service is busy; try again",
        }
        assert database.pool is pool  # a full pool is waited out, not replaced
        assert client.get("/api/v1/verifications", headers={"x-api-key": key}).status_code == 200
    service.store.close()
