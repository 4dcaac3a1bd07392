"""Operational endpoints and the last-resort error: health, readiness, metrics, schema, 500."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services


def test_health_and_ready(client: TestClient[Litestar]) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["details"]["eventStore"]["head"] > 0  # the seeded banks are events


def test_metrics_are_prometheus_text(client: TestClient[Litestar], tenant_key: str) -> None:
    client.post("/api/v1/verify", json={}, headers={"x-api-key": tenant_key})
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'path="/api/v1/verify"' in metrics.text
    assert "assess_requests_total" in metrics.text


def test_the_schema_is_openapi_3_1_with_every_endpoint(client: TestClient[Litestar]) -> None:
    document = client.get("/schema/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = {
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    }
    assert {
        "startVerification",
        "generateQuestions",
        "submitAssessment",
        "getVerificationHistory",
    } <= operations
    assert "SubmitRequest" in document["components"]["schemas"]
    assert client.get("/schema").status_code == 200


def test_an_unexpected_error_is_500_without_a_trace(service: Services) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret detail from deep inside")

    app = create_app(service)
    app.register(boom)
    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "an unexpected error occurred"},
    }
