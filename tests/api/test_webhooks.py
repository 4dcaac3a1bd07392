"""Webhook endpoints and callback secrets over HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from application.callers import tenant_of
from application.commands import Idempotency, RegisterWebhook
from application.handlers.register_webhook import register_webhook as register
from entrypoints.bootstrap import Services
from tests.support import REACT, STUDENT, Clock, answer_sheet, make_service

HOOKS = "/api/v1/webhooks"
PUBLIC = "https://hooks.partner.invalid/x"  # a name that never resolves: let through


def post(client: TestClient[Litestar], path: str, key: str, body: Any = None) -> Any:
    return client.post(path, json=body, headers={"x-api-key": key})


def test_register_list_and_delete(client: TestClient[Litestar], tenant_key: str) -> None:
    created = post(client, HOOKS, tenant_key, {"url": PUBLIC})
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["secret"].startswith("whsec_")
    assert data["events"] == [
        "verification.completed",
        "verification.initiated",
        "verification.revoked",
    ]
    listed = client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"]
    assert listed == [{"id": data["id"], "url": PUBLIC, "events": data["events"]}]
    gone = client.delete(f"{HOOKS}/{data['id']}", headers={"x-api-key": tenant_key})
    assert gone.json() == {"success": True, "data": {"id": data["id"], "deleted": True}}
    assert client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"] == []
    again = client.delete(f"{HOOKS}/{data['id']}", headers={"x-api-key": tenant_key})
    assert (again.status_code, again.json()["error"]["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"url": PUBLIC, "events": ["verification.exploded"]},
        {"url": PUBLIC, "events": []},
        {"url": "ftp://203.0.113.7/x"},
        {"url": "http://127.0.0.1:9/x"},
        {"url": "http://localhost/x"},
        {"url": "http://10.1.2.3/x"},
        {"url": "http://169.254.169.254/latest"},
        {"url": "http://[::1]/x"},
        {"url": "http://["},
        {"url": "http://203.0.113.7:99999/x"},
    ],
)
def test_bad_or_private_targets_are_refused(
    client: TestClient[Litestar], tenant_key: str, body: dict[str, Any]
) -> None:
    response = post(client, HOOKS, tenant_key, body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    assert client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"] == []


def test_private_targets_when_the_operator_allows_them(sqlite_url: str, clock: Clock) -> None:
    service = make_service(sqlite_url, clock, webhook_allow_private=True)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        assert post(client, HOOKS, key, {"url": "http://127.0.0.1:9/x"}).status_code == 201
        body = {"student": STUDENT, "skills": [REACT], "callbackWebhookUrl": "http://127.0.0.1/x"}
        assert post(client, "/api/v1/verify", key, body).status_code == 201


def test_a_private_callback_url_is_refused_at_verify(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    body = {"student": STUDENT, "skills": [REACT], "callbackWebhookUrl": "http://127.0.0.1/x"}
    response = post(client, "/api/v1/verify", tenant_key, body)
    assert response.status_code == 400
    assert "callbackWebhookUrl" in response.json()["error"]["message"]


def test_the_callback_secret_is_stable_until_rotated(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    first = client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": tenant_key}).json()
    second = client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": tenant_key}).json()
    assert first == second
    assert first["data"]["secret"].startswith("whsec_")
    rotated = post(client, f"{HOOKS}/callback-secret/rotate", tenant_key).json()["data"]["secret"]
    assert rotated != first["data"]["secret"]
    now = client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": tenant_key}).json()
    assert now["data"]["secret"] == rotated
    other = service.access.issue_key("other", "live")
    theirs = client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": other}).json()
    assert theirs["data"]["secret"] != rotated


def test_tenants_see_only_their_endpoints(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    mine = post(client, HOOKS, tenant_key, {"url": PUBLIC}).json()["data"]["id"]
    for key in (
        service.access.issue_key("other", "live"),
        service.access.issue_key("acme", "test"),
    ):
        assert client.get(HOOKS, headers={"x-api-key": key}).json()["data"] == []
        response = client.delete(f"{HOOKS}/{mine}", headers={"x-api-key": key})
        assert response.status_code == 404
    assert len(client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"]) == 1


def test_submit_says_queued_when_an_endpoint_wants_completed(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    def submit() -> Any:
        started = post(
            client, "/api/v1/verify", tenant_key, {"student": STUDENT, "skills": [REACT]}
        )
        data = started.json()["data"]
        post(client, "/api/v1/assessment/generate", data["sessionToken"])
        answers = answer_sheet(service, data["recordVerificationId"], 0)
        done = post(client, "/api/v1/assessment/submit", data["sessionToken"], {"answers": answers})
        return done.json()["data"]["webhook"]

    post(client, HOOKS, tenant_key, {"url": PUBLIC, "events": ["verification.initiated"]})
    assert submit() == {"sent": False, "status": "no_endpoint"}
    post(client, HOOKS, tenant_key, {"url": PUBLIC, "events": ["verification.completed"]})
    assert submit() == {"sent": True, "status": "queued"}


def test_a_session_cannot_manage_webhooks(client: TestClient[Litestar], tenant_key: str) -> None:
    body = {"student": STUDENT, "skills": [REACT]}
    token = post(client, "/api/v1/verify", tenant_key, body).json()["data"]["sessionToken"]
    for response in (
        client.get(HOOKS, headers={"x-api-key": token}),
        post(client, HOOKS, token, {"url": PUBLIC}),
        client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": token}),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (401, "UNAUTHORIZED")


def test_registration_with_an_idempotency_key_happens_once(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    headers = {"x-api-key": tenant_key, "idempotency-key": "register-1"}
    first = client.post(HOOKS, json={"url": PUBLIC}, headers=headers)
    again = client.post(HOOKS, json={"url": PUBLIC}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same endpoint, the same secret
    listed = client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"]
    assert [endpoint["id"] for endpoint in listed] == [first.json()["data"]["id"]]
    other = client.post(HOOKS, json={"url": PUBLIC + "/other"}, headers=headers)
    assert (other.status_code, other.json()["error"]["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(client.get(HOOKS, headers={"x-api-key": tenant_key}).json()["data"]) == 1


def test_rotation_with_an_idempotency_key_happens_once(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    rotate = f"{HOOKS}/callback-secret/rotate"
    headers = {"x-api-key": tenant_key, "idempotency-key": "rotate-1"}
    first = client.post(rotate, headers=headers)
    again = client.post(rotate, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    current = client.get(f"{HOOKS}/callback-secret", headers={"x-api-key": tenant_key})
    assert current.json()["data"] == first.json()["data"]  # the first secret is the one kept
    fresh = client.post(rotate, headers={"x-api-key": tenant_key, "idempotency-key": "rotate-2"})
    assert fresh.json()["data"]["secret"] != first.json()["data"]["secret"]


def test_racing_registrations_with_one_idempotency_key_make_one_endpoint(
    store_url: str,
) -> None:
    service = make_service(store_url, Clock())
    key = service.access.issue_key("acme", "live")
    caller = service.access.authenticate(key)
    once = Idempotency(key="race", fingerprint="same body")
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: service.commands.execute(register, caller, RegisterWebhook(PUBLIC), once),
                range(8),
            )
        )
    assert len({answer.id for answer in answers}) == 1
    assert len({answer.secret for answer in answers}) == 1
    assert len(service.webhooks.endpoints(tenant_of(caller))) == 1
    service.store.close()
