"""Validation errors in words: the field and what is wrong with it, no regular expressions,
and malformed JSON with the place of the fault."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.http import SUBMIT, VERIFY, assert_error, post
from tests.support import REACT, STUDENT


def verify(**change: Any) -> dict[str, Any]:
    """A verify body with some fields changed."""
    return {"student": STUDENT, "skills": [REACT], **change}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            verify(student={**STUDENT, "email": "ada"}),
            "student.email must be an email address",
            id="email",
        ),
        pytest.param(
            verify(student={**STUDENT, "name": "Ada\x07"}),
            "student.name must be text without control characters",
            id="control character",
        ),
        pytest.param(
            verify(student={"studentId": "s1", "email": "ada@example.com"}),
            "student.name is required",
            id="missing field",
        ),
        pytest.param(verify(skills=[]), "skills must have at least 1 item", id="too few"),
        pytest.param(
            verify(skills=[{**REACT, "skillId": "x" * 129}]),
            "skills[0].skillId must have at most 128 characters",
            id="too long",
        ),
        pytest.param(
            verify(method="robot"),
            "method must be one of assessment, human_endorsement, not 'robot'",
            id="enum",
        ),
        pytest.param(
            verify(sources=[{"type": "hobby", "title": "t"}]),
            "sources[0].type must be one of certificate, experience, project, not 'hobby'",
            id="nested enum",
        ),
        pytest.param(
            verify(skills=[{**REACT, "proofUrls": ["ftp://files.example.com/a"]}]),
            "skills[0].proofUrls[0] must be an http or https URL",
            id="url",
        ),
        pytest.param(
            verify(sources=[{"type": "project", "title": "t", "startDate": "2025-13-01"}]),
            "sources[0].startDate must be a date (YYYY-MM-DD)",
            id="date",
        ),
        pytest.param([1], "body must be an object, not an array", id="not an object"),
    ],
)
def test_a_bad_verify_field_is_named_and_explained(
    client: TestClient[Litestar], tenant_key: str, body: Any, message: str
) -> None:
    response = post(client, VERIFY, tenant_key, body)
    assert assert_error(response, 400, "VALIDATION_ERROR") == message


def test_a_wrong_type_says_what_was_expected_and_what_came(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    body = {"answers": [{"questionId": "q1", "selectedAnswer": "1"}]}
    response = post(client, SUBMIT, tenant_key, body)
    assert assert_error(response, 400, "VALIDATION_ERROR") == (
        "answers[0].selectedAnswer must be an integer, not a string"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            b'{"answers": [',
            "body is not valid JSON: it ends too early, at line 1, column 14 (byte 13)",
            id="truncated",
        ),
        pytest.param(
            b'{\n  "answers": [],\n}',
            "body is not valid JSON: trailing comma in object, at line 3, column 1 (byte 19)",
            id="trailing comma",
        ),
        pytest.param(
            b'{\n  "answers": @\n}',
            "body is not valid JSON: invalid character, at line 2, column 14 (byte 15)",
            id="bad token",
        ),
    ],
)
def test_malformed_json_gives_the_place_of_the_fault(
    client: TestClient[Litestar], tenant_key: str, raw: bytes, message: str
) -> None:
    headers = {"x-api-key": tenant_key, "content-type": "application/json"}
    response = client.post(SUBMIT, content=raw, headers=headers)
    assert assert_error(response, 400, "VALIDATION_ERROR") == message


def test_no_message_quotes_a_pattern(client: TestClient[Litestar], tenant_key: str) -> None:
    for body in [
        verify(student={**STUDENT, "email": "a b@c.d"}),
        verify(callbackWebhookUrl="https://x\ny"),
        verify(skills=[{"skillId": "s\x00", "name": "n"}]),
    ]:
        message = assert_error(post(client, VERIFY, tenant_key, body), 400, "VALIDATION_ERROR")
        assert "regex" not in message
        assert "\\" not in message
        assert "`" not in message


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param(
            {"status": "done"},
            "status must be one of completed, failed, in_progress, in_review, passed, pending,"
            " not 'done'",
            id="enum",
        ),
        pytest.param({"limit": "0"}, "limit must be at least 1", id="below"),
        pytest.param({"limit": "101"}, "limit must be at most 100", id="above"),
        pytest.param(
            {"status": "done", "limit": "0"},
            "status must be one of completed, failed, in_progress, in_review, passed, pending,"
            " not 'done'; limit must be at least 1",
            id="two at once",
        ),
    ],
)
def test_a_bad_query_value_is_named_and_explained(
    client: TestClient[Litestar], tenant_key: str, query: dict[str, str], message: str
) -> None:
    response = client.get("/api/v1/verifications", params=query, headers={"x-api-key": tenant_key})
    assert assert_error(response, 400, "VALIDATION_ERROR") == message


def test_a_verify_without_a_body_says_a_body_is_required(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    response = client.post(VERIFY, headers={"x-api-key": tenant_key})
    assert assert_error(response, 400, "VALIDATION_ERROR") == "body is required: a JSON object"
