"""Every answer asked for with a key or token, or carrying a secret or personal data, is
sent with Cache-Control: no-store: successes, errors and limits alike. The open paths
(health, schema) may be cached."""

from __future__ import annotations

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import GENERATE, PAGE, invite, start_human
from tests.support import STUDENT, make_service


def no_store(response: httpx.Response) -> bool:
    marks = (response.headers.get("cache-control"), response.headers.get("pragma"))
    return marks == ("no-store", "no-cache")


def test_authenticated_and_token_bearing_answers_are_not_stored(
    client: TestClient[Litestar], tenant_key: str, service: Services
) -> None:
    key = {"x-api-key": tenant_key}
    record, session = start_human(client, tenant_key)
    invited = invite(client, session)
    assert invited.status_code == 200, invited.text
    answers = {
        "record": client.get(f"/api/v1/verifications/{record}", headers=key),
        "history": client.get(f"/api/v1/verifications/{record}/history", headers=key),
        "export": client.get(f"/api/v1/students/{STUDENT['studentId']}/export", headers=key),
        "callback secret": client.get("/api/v1/webhooks/callback-secret", headers=key),
        "invite": invited,
        "wrong method": client.post(GENERATE, headers={"x-api-key": session}),
        "no key": client.get(f"/api/v1/verifications/{record}"),
        "bad token": client.get(PAGE, params={"reviewerToken": "rvw_x"}),
        "review page": client.get("/review/rvw_" + "0" * 32 + "_" + "A" * 43),
        "unknown path": client.get("/api/v1/nothing-here", headers=key),
    }
    assert {name: no_store(r) for name, r in answers.items()} == dict.fromkeys(answers, True)
    assert [r.status_code for r in answers.values()] == [
        200,
        200,
        200,
        200,
        200,
        409,
        401,
        401,
        401,
        404,
    ]
    open_answers = [client.get("/health"), client.get("/schema/openapi.json")]
    assert [no_store(r) for r in open_answers] == [False, False]


def test_an_answer_of_the_limits_is_not_stored(sqlite_url: str) -> None:
    service = make_service(sqlite_url, rate_limit_per_minute=1, auth_failures_per_minute=1)
    key = {"x-api-key": service.access.issue_key("acme", "live")}
    with TestClient(create_app(service)) as client:
        client.get("/api/v1/webhooks", headers=key)
        limited = client.get("/api/v1/webhooks", headers=key)
        client.get("/api/v1/webhooks", headers={"x-api-key": "ak_live_" + "0" * 43})
        guessing = client.get("/api/v1/webhooks", headers={"x-api-key": "ak_live_" + "1" * 43})
    service.store.close()
    assert [limited.status_code, guessing.status_code] == [429, 429]
    assert no_store(limited)
    assert no_store(guessing)
