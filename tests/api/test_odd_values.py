"""Odd values and odd requests a client may send: each gets a clear answer in the envelope,
and changes nothing."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import assert_error

DIGITS_ONLY = "must be an integer written in digits"


@pytest.mark.parametrize("value", ["1e1", "2.0", "null", "+5", " 5", "1_0", "٣", "Infinity"])
def test_a_query_integer_is_read_from_digits_alone(
    client: TestClient[Litestar], tenant_key: str, value: str
) -> None:
    key = {"x-api-key": tenant_key}
    listed = client.get("/api/v1/verifications", params={"limit": value}, headers=key)
    assert assert_error(listed, 400, "VALIDATION_ERROR") == f"limit {DIGITS_ONLY}"
    sized = client.get("/api/v1/audit/checkpoint", params={"size": value}, headers=key)
    assert assert_error(sized, 400, "VALIDATION_ERROR") == f"size {DIGITS_ONLY}"


def test_integers_in_digits_still_read_and_other_words_keep_their_messages(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    key = {"x-api-key": tenant_key}
    assert client.get("/api/v1/verifications?limit=10", headers=key).status_code == 200
    below = client.get("/api/v1/verifications?limit=0", headers=key)
    assert assert_error(below, 400, "VALIDATION_ERROR") == "limit must be at least 1"
    word = client.get("/api/v1/verifications?limit=ten", headers=key)
    assert assert_error(word, 400, "VALIDATION_ERROR") == "limit must be an integer, not a string"


def test_a_query_parameter_is_named_as_the_query_names_it(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    response = client.get(
        "/api/v1/audit/consistency?from=0&to=1", headers={"x-api-key": tenant_key}
    )
    assert assert_error(response, 400, "VALIDATION_ERROR") == "from must be at least 1"


def test_options_names_every_method_of_a_path(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    key = {"x-api-key": tenant_key}
    allowed = {
        path: client.options(path, headers=key).headers["allow"]
        for path in ("/api/v1/webhooks", "/api/v1/verify", "/review/rvw_x", "/review")
    }
    assert allowed == {
        "/api/v1/webhooks": "GET, OPTIONS, POST",
        "/api/v1/verify": "OPTIONS, POST",
        "/review/rvw_x": "GET, OPTIONS, POST",
        "/review": "GET, OPTIONS, POST",
    }


def test_a_path_no_route_serves_is_a_404_in_the_envelope(client: TestClient[Litestar]) -> None:
    """No route handler takes it: the error map answers without one."""
    for path in ("/api/v1/nothing", "/nothing"):
        assert assert_error(client.get(path), 404, "NOT_FOUND") == "Not Found"


def test_an_unknown_schema_document_is_a_404_in_the_envelope(client: TestClient[Litestar]) -> None:
    for path in ("/schema/nothing", "/schema/nothing.json"):
        message = assert_error(client.get(path), 404, "NOT_FOUND")
        assert "nothing" not in message
    assert client.get("/schema/openapi.json").status_code == 200


def test_the_schema_requires_the_reviewer_token_and_dates_the_history(
    service: Services,
) -> None:
    schema = create_app(service).openapi_schema.to_schema()
    page = schema["paths"]["/api/v1/humanverification/verify-page"]["get"]["parameters"]
    [token] = [p for p in page if p["name"] == "reviewerToken"]
    assert token["required"] is True
    history = schema["paths"]["/api/v1/verifications/{record_verification_id}/history"]["get"]
    [as_of] = [p for p in history["parameters"] if p["name"] == "asOf"]
    assert as_of["schema"]["format"] == "date-time"
