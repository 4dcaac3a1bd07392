"""The request boundary: bad fields, malformed JSON, idempotency keys, body sizes, rate limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    GENERATE,
    SUBMIT,
    VERIFY,
    VERIFY_BODY,
    Record,
    assert_error,
    draw,
    event_count,
    post,
    replace_first,
    zero_answers,
)
from tests.support import REACT, STUDENT, Clock, answer_sheet, make_service

# -- VALIDATION_ERROR ----------------------------------------------------------------------


def student(**fields: Any) -> dict[str, Any]:
    """The test student with some fields replaced."""
    return {**STUDENT, **fields}


ELEVEN_SKILLS = [{"skillId": f"skill_{n:03d}", "name": f"Skill {n}"} for n in range(1, 12)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"student": STUDENT, "skills": []}, "skills", id="no skills"),
        pytest.param({"student": STUDENT, "skills": ELEVEN_SKILLS}, "skills", id="11 skills"),
        pytest.param({"student": STUDENT, "skills": [REACT, REACT]}, "skills", id="dup skills"),
        pytest.param({"student": STUDENT, "skills": REACT}, "skills", id="skills an object"),
        pytest.param(
            {"student": student(email="ada.example.com"), "skills": [REACT]},
            "email",
            id="bad email",
        ),
        pytest.param(
            {"student": student(studentId=""), "skills": [REACT]},
            "studentId",
            id="empty studentId",
        ),
        pytest.param({"student": student(name=7), "skills": [REACT]}, "name", id="name a number"),
        pytest.param({"skills": [REACT]}, "student", id="no student"),
        pytest.param(
            {"student": STUDENT, "skills": [{"skillId": "skill_999", "name": "Cobol"}]},
            "skillId",
            id="skill without a bank",
        ),
        pytest.param(
            {**VERIFY_BODY, "callbackWebhookUrl": "ftp://partner.example.com"},
            "callbackWebhookUrl",
            id="bad callback url",
        ),
    ],
)
def test_verify_rejects_bad_fields_naming_them(
    client: TestClient[Litestar], tenant_key: str, body: dict[str, Any], field: str
) -> None:
    message = assert_error(post(client, VERIFY, tenant_key, body), 400, "VALIDATION_ERROR")
    assert field in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda a: "all of them", "answers", id="answers a string"),
        pytest.param(lambda a: [1, 2], "answers", id="answers numbers"),
        pytest.param(lambda a: replace_first(a, selectedAnswer="one"), "selectedAnswer", id="word"),
        pytest.param(
            lambda a: replace_first(a, selectedAnswer="1"), "selectedAnswer", id="numeric string"
        ),
        pytest.param(
            lambda a: replace_first(a, selectedAnswer=None), "selectedAnswer", id="null index"
        ),
        pytest.param(
            lambda a: replace_first(a, selectedAnswer=True), "selectedAnswer", id="bool index"
        ),
        pytest.param(lambda a: replace_first(a, questionId=3), "questionId", id="numeric id"),
    ],
)
def test_submit_rejects_wrong_types_naming_the_field(
    client: TestClient[Litestar],
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
    change: Callable[[list[dict[str, Any]]], Any],
    field: str,
) -> None:
    body = {"answers": change(zero_answers(questions))}
    message = assert_error(post(client, SUBMIT, record.session, body), 400, "VALIDATION_ERROR")
    assert field in message
    assert event_count(client, tenant_key, record.record_id) == 2


@pytest.mark.parametrize("path", [VERIFY, GENERATE, SUBMIT])
def test_malformed_json_is_a_validation_error(
    client: TestClient[Litestar], tenant_key: str, path: str
) -> None:
    response = client.post(
        path,
        content=b'{"answers": [',
        headers={"x-api-key": tenant_key, "content-type": "application/json"},
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_generate_rejects_a_record_id_of_the_wrong_type(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    response = post(client, GENERATE, tenant_key, {"recordVerificationId": 42})
    assert "recordVerificationId" in assert_error(response, 400, "VALIDATION_ERROR")


def test_history_rejects_a_bad_as_of(
    client: TestClient[Litestar], tenant_key: str, record: Record
) -> None:
    response = client.get(
        f"{API}/verifications/{record.record_id}/history",
        params={"asOf": "2026-13-45"},
        headers={"x-api-key": tenant_key},
    )
    assert "asOf" in assert_error(response, 400, "VALIDATION_ERROR")


def test_an_overlong_idempotency_key_is_a_validation_error(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "k" * 256}
    response = client.post(VERIFY, json=VERIFY_BODY, headers=headers)
    assert "Idempotency-Key" in assert_error(response, 400, "VALIDATION_ERROR")


# -- IDEMPOTENCY_KEY_REUSED ----------------------------------------------------------------


def test_an_idempotency_key_reused_on_verify(client: TestClient[Litestar], tenant_key: str) -> None:
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "once"}
    assert client.post(VERIFY, json=VERIFY_BODY, headers=headers).status_code == 201
    other = {**VERIFY_BODY, "callbackWebhookUrl": "https://partner.example.com/hooks"}
    response = client.post(VERIFY, json=other, headers=headers)
    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")


def test_an_idempotency_key_reused_on_submit_records_nothing(
    client: TestClient[Litestar],
    service: Services,
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
) -> None:
    headers = {"x-api-key": record.session, "Idempotency-Key": "answers-1"}
    answers = answer_sheet(service, record.record_id, 2)
    assert client.post(SUBMIT, json={"answers": answers}, headers=headers).status_code == 200
    before = event_count(client, tenant_key, record.record_id)
    draw(client, record)

    others = answer_sheet(service, record.record_id, 9)
    response = client.post(SUBMIT, json={"answers": others}, headers=headers)
    assert_error(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert event_count(client, tenant_key, record.record_id) == before + 1


# -- PAYLOAD_TOO_LARGE ---------------------------------------------------------------------

MIB = 1024 * 1024


def padded(size: int) -> bytes:
    """A JSON body of exactly size bytes: no answers and a long pad field."""
    frame = b'{"answers":[],"pad":""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


@pytest.mark.parametrize("path", [VERIFY, GENERATE, SUBMIT])
def test_a_body_over_one_mib_is_too_large(
    client: TestClient[Litestar], tenant_key: str, path: str
) -> None:
    response = client.post(
        path,
        content=padded(MIB + 1),
        headers={"x-api-key": tenant_key, "content-type": "application/json"},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_streamed_body_over_one_mib_is_too_large(
    client: TestClient[Litestar], record: Record
) -> None:
    def chunks() -> Iterator[bytes]:
        body = padded(MIB + 1024)
        for offset in range(0, len(body), 64 * 1024):
            yield body[offset : offset + 64 * 1024]

    response = client.post(
        SUBMIT,
        content=chunks(),
        headers={"x-api-key": record.session, "content-type": "application/json"},
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_body_of_exactly_one_mib_is_accepted(
    client: TestClient[Litestar], record: Record, questions: list[dict[str, Any]]
) -> None:
    response = client.post(
        SUBMIT,
        content=padded(MIB),
        headers={"x-api-key": record.session, "content-type": "application/json"},
    )
    assert_error(response, 400, "MISSING_ANSWERS")


# -- RATE_LIMITED --------------------------------------------------------------------------


@pytest.fixture
def limited(sqlite_url: str, clock: Clock) -> Iterator[Services]:
    """A service that lets each key send 3 requests a minute."""
    service = make_service(sqlite_url, clock, rate_limit_per_minute=3)
    yield service
    service.store.close()


def test_the_fourth_request_a_minute_is_rate_limited(limited: Services) -> None:
    key = limited.access.issue_key("acme", "live")
    other_key = limited.access.issue_key("other", "live")
    with TestClient(create_app(limited)) as client:
        statuses = [
            client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key}).status_code
            for _ in range(3)
        ]
        response = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key})
        again = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key})  # no asking
        other = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": other_key})

    assert statuses == [201, 201, 201]
    for refused in (response, again):
        assert_error(refused, 429, "RATE_LIMITED")
        retry_after = refused.headers["Retry-After"]
        assert retry_after.isdigit()
        assert 0 < int(retry_after) <= 60
        assert refused.headers["RateLimit-Reset"] == retry_after
        assert refused.headers["RateLimit-Limit"] == "3"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.headers["RateLimit-Policy"] == "3; w=60"
    assert other.status_code == 201


def test_answers_say_where_their_caller_stands_and_open_paths_are_not_counted(
    limited: Services,
) -> None:
    key = limited.access.issue_key("acme", "live")
    with TestClient(create_app(limited)) as client:
        answers = [
            client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key}) for _ in range(2)
        ]
        health = [client.get("/health", headers={"x-api-key": key}) for _ in range(5)]
        last = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key})

    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert answers[0].headers["RateLimit-Policy"] == "3; w=60"
    assert 0 < int(answers[0].headers["RateLimit-Reset"]) <= 60
    assert [h.status_code for h in health] == [200] * 5
    assert "RateLimit-Remaining" not in health[0].headers
    assert (last.status_code, last.headers["RateLimit-Remaining"]) == (201, "0")
