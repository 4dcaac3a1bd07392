"""The reviewer page's refusals: every link that cannot be served is a page with its reason
and the status the API answers (never the JSON envelope), rate limits and hostile paths
included."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import PAGE, assert_error, event_count, invite
from tests.api.review_pages import assert_problem, invited, start_human
from tests.support import Clock, link_token, make_service


def test_each_link_that_cannot_be_served_is_a_page_with_its_reason(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    record_id, session = start_human(client, tenant_key)
    first = f"/review/{link_token(service, record_id, 1)}"
    for path in ("/review", "/review/"):
        assert_problem(client.get(path), 400, "This link is incomplete")
        assert_problem(
            client.post(path, data={"skillIds": ["skill_001"]}), 400, "This link is incomplete"
        )
    assert_problem(client.get(first), 401, "This link is not valid")  # not invited yet
    assert invite(client, session).status_code == 200
    assert invite(client, session).status_code == 200
    second = f"/review/{link_token(service, record_id, 2)}"
    reason = assert_problem(client.get(first), 401, "This link is not valid")
    assert "a newer invitation replaced it" in reason
    assert_problem(
        client.post(first, data={"skillIds": ["skill_001"]}), 401, "This link is not valid"
    )
    forged = second[:-2] + ("AA" if not second.endswith("AA") else "BB")
    assert_problem(client.get(forged), 401, "This link is not valid")
    assert event_count(client, tenant_key, record_id) == 3

    clock.advance(days=14)
    reason = assert_problem(client.get(second), 410, "This link has expired")
    assert "invite you again" in reason
    expired = client.post(second, data={"skillIds": ["skill_001"]})
    assert_problem(expired, 410, "This link has expired")
    assert event_count(client, tenant_key, record_id) == 3

    assert invite(client, session).status_code == 200
    third = f"/review/{link_token(service, record_id, 3)}"
    assert client.post(third, data={"skillIds": ["skill_001"]}).status_code == 200
    used = "These skills were already endorsed"
    assert_problem(client.get(third), 409, used)
    assert_problem(client.post(third, data={"skillIds": ["skill_002"]}), 409, used)
    assert event_count(client, tenant_key, record_id) == 6


def test_an_address_past_its_failed_links_is_rate_limited_on_the_page_and_the_api(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, link = invited(client, service, tenant_key)
    for n in range(service.settings.auth_failures_per_minute):
        assert client.get(f"/review/rvw_guess_{n}").status_code == 401
    limited = client.get(link)  # even the good link, from this address
    assert_problem(limited, 429, "Too many attempts")
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert_problem(client.post(link, data={"skillIds": ["skill_001"]}), 429, "Too many attempts")
    api = client.get(PAGE, params={"reviewerToken": link_token(service, record_id)})
    assert_error(api, 429, "RATE_LIMITED")
    assert event_count(client, tenant_key, record_id) == 2


def test_the_request_limit_per_address_is_a_page_too(sqlite_url: str) -> None:
    service = make_service(sqlite_url, Clock(), rate_limit_per_minute=2)
    with TestClient(create_app(service)) as client:
        assert client.get("/review/rvw_guess").status_code == 401
        assert client.get("/review/rvw_guess").status_code == 401
        limited = client.get("/review/rvw_guess")
    service.store.close()
    assert_problem(limited, 429, "Too many attempts")
    assert int(limited.headers["retry-after"]) > 0


HOSTILE = [
    "%00",
    "%0a",
    "%ff",
    "%E2%80%AE",
    "%3Cscript%3Ealert(1)%3C%5Cscript%3E",
    "x" * 5000,
    "rvw_" + "0" * 32 + "_" + "A" * 43,
    "rvw_" + "f" * 32 + "_" + "%00" * 43,
    "%2e%2e",
    "%20",
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_hostile_path_is_a_page_never_a_server_error(
    client: TestClient[Litestar],
    service: Services,
    tenant_key: str,
    method: str,
    hostile: str,
) -> None:
    record_id, _ = invited(client, service, tenant_key)
    response = client.request(method, f"/review/{hostile}", data={"skillIds": ["skill_001"]})
    assert_problem(response, 401, "This link is not valid")
    assert "<script>" not in response.text
    assert event_count(client, tenant_key, record_id) == 2


def test_a_body_over_the_limit_is_a_page(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, link = invited(client, service, tenant_key)
    big = {"skillIds": ["skill_001"], "pad": "x" * service.settings.max_body_bytes}
    assert_problem(client.post(link, data=big), 413, "This request could not be served")
    assert event_count(client, tenant_key, record_id) == 2
