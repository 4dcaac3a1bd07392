"""The webhook retries' defaults, as data (SPEC: 10 s a try; retries 5 s, 5 min, 30 min,
2 h, 5 h, 10 h and 10 h apart, each with jitter; then `failed`): a worker on the default
settings tries a target that refuses, and the log says when each next try is due, without
waiting hours."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from consumers.delivery import DeliveryWorker
from entrypoints.bootstrap import Services
from infrastructure.database import transaction
from infrastructure.deliveries import TABLE, Deliveries, Delivery, new_delivery_id
from infrastructure.egress import CheckedTransport
from tests.integration.test_egress import SECRET
from tests.processes import free_port
from tests.support import Clock, make_service

DEFAULT_DELAYS = [5, 300, 1800, 7200, 18000, 36000, 36000]  # SPEC's, in seconds


@pytest.fixture
def service(tmp_path: Path, clock: Clock) -> Services:
    return make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", clock)


def worker_of(service: Services) -> DeliveryWorker:
    """A worker on the service's settings, which leave the schedule and timeout at their
    defaults; it may reach the loopback, where nothing listens."""
    transport = CheckedTransport(allow_private=True)
    return DeliveryWorker(
        service.deliveries, service.settings, service.secrets, transport=transport
    )


def logged(service: Services, delivery_id: str) -> Any:
    with transaction(service.store, commit=False) as sql:
        return sql.one(f"SELECT status, attempts, due_at FROM {TABLE} WHERE id = ?", delivery_id)


def refused_delivery(service: Services) -> Delivery:
    """A delivery queued to a loopback port where nothing listens (each try is refused)."""
    delivery_id = new_delivery_id()
    url = f"http://127.0.0.1:{free_port()}/hooks"
    delivery = Delivery(delivery_id, "acme", "live", "ep", url, SECRET, delivery_id, "t", "{}")
    Deliveries(service.store).enqueue([delivery], time.time())
    return delivery


def test_a_try_lasts_at_most_ten_seconds_by_default(service: Services) -> None:
    assert worker_of(service).client.timeout == httpx.Timeout(10.0)


def test_each_refused_try_is_retried_on_the_default_schedule_then_fails(
    service: Services,
) -> None:
    worker, delivery = worker_of(service), refused_delivery(service)
    for tries, delay in enumerate(DEFAULT_DELAYS, 1):
        before = time.time()
        worker.attempt(replace(delivery, attempts=tries - 1))
        after = time.time()
        row = logged(service, delivery.id)
        assert (row["status"], row["attempts"]) == ("pending", tries)
        assert before + 0.9 * delay <= row["due_at"] <= after + 1.1 * delay  # with jitter
    worker.attempt(replace(delivery, attempts=len(DEFAULT_DELAYS)))
    row = logged(service, delivery.id)
    assert (row["status"], row["attempts"]) == ("failed", len(DEFAULT_DELAYS) + 1)


def test_the_retries_of_many_deliveries_spread_within_a_tenth_of_the_delay(
    service: Services,
) -> None:
    """Jitter: deliveries refused at one moment are not all retried at the same moment."""
    worker = worker_of(service)
    delays = []
    for _ in range(20):
        delivery = refused_delivery(service)
        before = time.time()
        worker.attempt(delivery)
        delays.append(logged(service, delivery.id)["due_at"] - before)
    assert all(0.9 * 5 <= delay <= 1.1 * 5 + 1 for delay in delays)
    # 20 draws of 5 s ± 0.5 s all within 0.2 s of each other: odds under 1e-12.
    assert max(delays) - min(delays) > 0.2
