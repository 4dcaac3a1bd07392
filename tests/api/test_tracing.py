"""Request spans: named by the route's template, with no path or query as sent (a reviewer's
token lives there); none for the operators' endpoints, and none at all with tracing off."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from api.app import create_app
from tests.support import Clock, make_service
from tests.tracing import exported_spans

TOKEN = "rvw_0123456789abcdef_secretsecretsecret"


def requests_with_secrets(tmp_path: Path, tracing: bool) -> None:
    service = make_service(f"sqlite:///{tmp_path / 'a.sqlite3'}", Clock(), tracing=tracing)
    with TestClient(create_app(service)) as client:
        client.get(f"/review/{TOKEN}")
        client.get(f"/api/v1/humanverification/verify-page?reviewerToken={TOKEN}")
        client.post(f"/api/v1/humanverification/verify?reviewerToken={TOKEN}", json={})
        client.get(f"/nowhere/{TOKEN}")
        assert client.get("/health").status_code == 200
    service.store.close()


def test_a_request_span_names_its_route_and_holds_no_token(tmp_path: Path) -> None:
    spans = exported_spans()
    requests_with_secrets(tmp_path, tracing=True)
    finished = spans.get_finished_spans()
    assert [span.name for span in finished] == [
        "GET /review/{reviewer_token}",
        "GET /api/v1/humanverification/verify-page",
        "POST /api/v1/humanverification/verify",
        "GET",  # no route
    ]
    for span in finished:
        assert span.attributes is not None
        assert not [value for value in span.attributes.values() if "secret" in str(value)]
    assert (finished[0].attributes or {})["http.route"] == "/review/{reviewer_token}"


def test_with_tracing_off_no_request_has_a_span(tmp_path: Path) -> None:
    spans = exported_spans()
    requests_with_secrets(tmp_path, tracing=False)
    assert spans.get_finished_spans() == ()
