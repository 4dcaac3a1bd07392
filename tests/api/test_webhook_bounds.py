"""Bounds on what one tenant can make the service do: endpoints, and redeliveries."""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from infrastructure.deliveries import LEASE, Deliveries, Delivery

HOOKS = "/api/v1/webhooks"
PUBLIC = "https://hooks.partner.invalid/x"  # a name that never resolves: let through


def register(client: TestClient[Litestar], key: str, url: str = PUBLIC) -> int:
    return client.post(HOOKS, json={"url": url}, headers={"x-api-key": key}).status_code


def test_at_most_20_endpoints_per_tenant_and_mode(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    assert [register(client, tenant_key, f"{PUBLIC}/{n}") for n in range(20)] == [201] * 20
    refused = client.post(HOOKS, json={"url": PUBLIC}, headers={"x-api-key": tenant_key})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert "20" in refused.json()["error"]["message"]
    endpoints = client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"]
    assert len(endpoints) == 20
    assert register(client, service.access.issue_key("acme", "test")) == 201
    removed = client.delete(f"{HOOKS}/{endpoints[0]['id']}", headers={"x-api-key": tenant_key})
    assert removed.status_code == 200
    assert register(client, tenant_key) == 201


def queued(service: Services, now: float) -> str:
    delivery = Delivery(
        id="msg_1",
        tenant="acme",
        mode="live",
        endpoint_id="whe_1",
        url=PUBLIC,
        secret="whsec_x",
        event_id="evt_1",
        type="verification.completed",
        payload="{}",
    )
    assert Deliveries(service.store).enqueue([delivery], now) == 1
    return delivery.id


def attempt(status_code: int) -> dict[str, Any]:
    return {"at": "2026-01-05T10:00:00Z", "statusCode": status_code, "error": None, "durationMs": 5}


def redeliver(client: TestClient[Litestar], key: str, delivery_id: str) -> str:
    path = f"/api/v1/webhook-deliveries/{delivery_id}/redeliver"
    response = client.post(path, headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    status: str = response.json()["data"]["status"]
    return status


def test_a_delivery_is_queued_at_most_once_at_a_time(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    now = time.time()
    log = Deliveries(service.store)
    delivery_id = queued(service, now)
    assert redeliver(client, tenant_key, delivery_id) == "pending"  # already queued: as it is
    [claimed] = log.claim(time.time(), 10, LEASE, 10, {})
    for _ in range(3):
        assert redeliver(client, tenant_key, delivery_id) == "pending"
    assert log.claim(time.time(), 10, LEASE, 10, {}) == []  # not sent twice at once
    # A try that failed waits for its retry: a redelivery brings it forward.
    log.record_try(claimed.id, attempt(500), "pending", now + 3600)
    assert redeliver(client, tenant_key, delivery_id) == "pending"
    [again] = log.claim(time.time(), 10, LEASE, 10, {})
    # A delivered one is sent again, once however often it is asked for.
    log.record_try(again.id, attempt(200), "delivered", time.time())
    assert redeliver(client, tenant_key, delivery_id) == "pending"
    assert redeliver(client, tenant_key, delivery_id) == "pending"
    assert [d.id for d in log.claim(time.time(), 10, LEASE, 10, {})] == [delivery_id]
    assert log.claim(time.time(), 10, LEASE, 10, {}) == []


def test_a_redelivery_retried_with_its_idempotency_key_is_not_queued_again(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    log = Deliveries(service.store)
    delivery_id = queued(service, time.time())
    [claimed] = log.claim(time.time(), 10, LEASE, 10, {})
    log.record_try(claimed.id, attempt(200), "delivered", time.time())
    path = f"/api/v1/webhook-deliveries/{delivery_id}/redeliver"
    once = {"x-api-key": tenant_key, "Idempotency-Key": "redeliver-1"}
    first = client.post(path, headers=once)
    assert first.json()["data"]["status"] == "pending"
    [again] = log.claim(time.time(), 10, LEASE, 10, {})
    log.record_try(again.id, attempt(200), "delivered", time.time())  # sent meanwhile
    retried = client.post(path, headers=once)
    assert (retried.status_code, retried.json()) == (200, first.json())  # the first answer
    assert log.claim(time.time(), 10, LEASE, 10, {}) == []  # and not queued a third time
    other = client.post("/api/v1/webhook-deliveries/whd_other/redeliver", headers=once)
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
