"""The error map's rarer ways in (a lost race, a store gone, a rate limit) and how the
OpenAPI document lists every error."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from psycopg import sql

from api.app import create_app
from application.handlers.generate_questions import generate_questions
from application.messages import GenerateQuestions
from tests.api.http import GENERATE, VERIFY, VERIFY_BODY, assert_error, post, start
from tests.support import ACME, Clock, make_service


class RacingClock(Clock):
    """A clock that, once armed, first lets another writer in. A handler reads the clock
    after it loaded the record and before it saves, so that writer wins the race."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: Callable[[], object] | None = None

    def __call__(self) -> datetime:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        return self.now


def test_a_command_that_lost_a_race_is_a_conflict_and_records_nothing(sqlite_url: str) -> None:
    clock = RacingClock()
    service = make_service(sqlite_url, clock)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        record = start(client, key)
        rival = GenerateQuestions(record.record_id)
        clock.rival = lambda: service.execute(generate_questions, ACME, rival, None)
        response = post(client, GENERATE, key, {"recordVerificationId": record.record_id})
        assert_error(response, 409, "CONFLICT")
        events = service.history(None, record.record_id, None).events
    assert [event["type"] for event in events] == ["VerificationStarted", "QuestionsGenerated"]
    service.store.close()


def test_a_store_that_cannot_be_reached_is_service_unavailable(pg_url: str) -> None:
    service = make_service(pg_url, Clock())
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        record = start(client, key)
        base, name = pg_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        for response in [
            post(client, GENERATE, record.session),
            post(client, VERIFY, key, VERIFY_BODY),
        ]:
            message = assert_error(response, 503, "SERVICE_UNAVAILABLE")
            assert message == "the event store cannot be reached"
    service.store.close()


def test_retry_after_is_the_limiter_reset(sqlite_url: str) -> None:
    service = make_service(sqlite_url, Clock(), rate_limit_per_minute=1)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        assert post(client, VERIFY, key, VERIFY_BODY).status_code == 201
        time.sleep(1.05 - time.time() % 1)  # into the next second: the reset is below 60
        response = post(client, VERIFY, key, VERIFY_BODY)
    assert_error(response, 429, "RATE_LIMITED")
    reset = response.headers["RateLimit-Reset"]
    assert 0 < int(reset) < 60
    assert response.headers["Retry-After"] == reset
    service.store.close()


# Every status an endpoint may answer with an error, and (at least) the codes it carries.
DOCUMENTED = {
    "400": {
        "VALIDATION_ERROR",
        "MISSING_VERIFICATION_ID",
        "MISSING_ANSWERS",
        "INCOMPLETE_ANSWERS",
        "INVALID_ANSWERS",
    },
    "401": {"UNAUTHORIZED"},
    "403": {"ASSESSMENT_LOCKED"},
    "404": {"VERIFICATION_NOT_FOUND", "NO_QUESTIONS", "NOT_FOUND"},
    "409": {"CONFLICT"},
    "413": {"PAYLOAD_TOO_LARGE"},
    "422": {"IDEMPOTENCY_KEY_REUSED"},
    "429": {"RATE_LIMITED"},
    "500": {"INTERNAL_ERROR"},
    "503": {"SERVICE_UNAVAILABLE"},
}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/verify", "post"),
        ("/api/v1/assessment/generate", "post"),
        ("/api/v1/assessment/submit", "post"),
        ("/api/v1/verifications/{record_verification_id}/history", "get"),
    ],
)
def test_the_openapi_document_lists_each_error_status_with_its_codes(
    client: TestClient[Litestar], path: str, method: str
) -> None:
    document = client.get("/schema/openapi.json").json()
    responses = document["paths"][path][method]["responses"]
    for status, codes in DOCUMENTED.items():
        response = responses[status]
        assert codes <= set(response["description"].split(" or ")), status
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, status
    envelope = document["components"]["schemas"]["ErrorResponse"]
    assert set(envelope["properties"]) == {"success", "error"}
