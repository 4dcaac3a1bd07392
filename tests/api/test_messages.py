"""The words a caller reads: each error's message and the result of an attempt, as sent."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.api.http import (
    GENERATE,
    SUBMIT,
    VERIFY,
    VERIFY_BODY,
    Record,
    assert_error,
    draw,
    post,
    start,
)
from tests.support import answer_sheet

HOOKS = "/api/v1/webhooks"
FAILED = (
    "You did not pass the assessment: a score of 30 is below the pass mark of 60."
    " Generate a new set of questions to try again."
)
PASSED = "You have successfully passed the assessment and earned the Verified skill."


def submit(
    client: TestClient[Litestar], service: Services, record: Record, correct: int
) -> httpx.Response:
    """Answer the pending set with `correct` right answers."""
    answers = answer_sheet(service, record.record_id, correct)
    return post(client, SUBMIT, record.session, {"answers": answers})


def result_message(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    message: str = response.json()["data"]["result"]["message"]
    return message


def test_a_fail_then_a_pass_say_so_and_the_record_is_then_locked(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record = start(client, tenant_key)
    draw(client, record)
    assert result_message(submit(client, service, record, 3)) == FAILED
    draw(client, record)
    assert result_message(submit(client, service, record, 10)) == PASSED
    for path, body in [
        (GENERATE, {}),
        (SUBMIT, {"answers": [{"questionId": "q", "selectedAnswer": 0}]}),
    ]:
        message = assert_error(post(client, path, record.session, body), 403, "ASSESSMENT_LOCKED")
        assert message == "the assessment was passed and is locked"


def test_answers_that_are_missing_or_not_asked_for(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    record = start(client, tenant_key)
    answers = [{"questionId": "q_1", "selectedAnswer": 0}]
    response = post(client, SUBMIT, record.session, {"answers": answers})
    message = assert_error(response, 404, "NO_QUESTIONS")
    assert message == "no questions to answer: call generate first"
    draw(client, record)
    response = post(client, SUBMIT, record.session, {"answers": []})
    assert assert_error(response, 400, "MISSING_ANSWERS") == "answers: give one answer per question"
    response = post(client, SUBMIT, record.session, {"answers": answers})
    message = assert_error(response, 400, "INCOMPLETE_ANSWERS")
    assert message == "answers: 10 questions were generated, 1 answered"


def test_an_idempotency_key_sent_again_with_another_request(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "start-1"}
    assert client.post(VERIFY, json=VERIFY_BODY, headers=headers).status_code == 201
    other: dict[str, Any] = {**VERIFY_BODY, "student": {**VERIFY_BODY["student"], "name": "Bo"}}
    response = client.post(VERIFY, json=other, headers=headers)
    message = assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert message == "this Idempotency-Key was used with a different request"


def test_a_bad_key_a_bad_session_and_a_session_where_a_key_is_needed(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    record = start(client, tenant_key)
    forged_session = record.session[:-1] + ("A" if record.session[-1] != "A" else "B")
    expected = [
        ("ak_live_" + "x" * 43, "a valid x-api-key is required"),
        ("nonsense", "a valid x-api-key is required"),
        (forged_session, "the session token is unknown, expired or revoked"),
        (record.session, "this endpoint needs a tenant API key, not a session token"),
    ]
    for credential, words in expected:
        response = client.get(HOOKS, headers={"x-api-key": credential})
        assert assert_error(response, 401, "UNAUTHORIZED") == words, credential


def test_webhook_endpoints_of_unknown_events_or_ids(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    body = {"url": "https://hooks.partner.invalid/x", "events": ["verification.exploded"]}
    response = post(client, HOOKS, tenant_key, body)
    message = assert_error(response, 400, "VALIDATION_ERROR")
    assert message == (
        "events[0] must be one of verification.completed, verification.initiated,"
        " not 'verification.exploded'"
    )
    response = client.delete(f"{HOOKS}/whe_nope", headers={"x-api-key": tenant_key})
    assert assert_error(response, 404, "NOT_FOUND") == "no webhook endpoint 'whe_nope'"


def test_a_request_with_two_bad_query_fields_names_both(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    response = client.get(
        "/api/v1/verifications",
        params={"limit": "ten", "cursor": "a\x01b"},
        headers={"x-api-key": tenant_key},
    )
    assert assert_error(response, 400, "VALIDATION_ERROR") == (
        "limit must be an integer, not a string; cursor must be text without control characters"
    )
