"""The submit path's errors (locked, missing, incomplete, invalid answers) and their order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.api.http import (
    GENERATE,
    ONE_ANSWER,
    SUBMIT,
    Record,
    assert_error,
    draw,
    event_count,
    post,
    replace_first,
    zero_answers,
)
from tests.support import answer_sheet


@pytest.fixture
def locked(client: TestClient[Litestar], service: Services, record: Record) -> list[dict[str, Any]]:
    """Pass the record (it is then locked); return the questions it was passed with."""
    drawn = draw(client, record)
    response = client.post(
        SUBMIT,
        json={"answers": answer_sheet(service, record.record_id, 10)},
        headers={"x-api-key": record.session},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["passed"] is True
    return drawn


# -- ASSESSMENT_LOCKED ---------------------------------------------------------------------


def test_a_passed_record_is_locked(
    client: TestClient[Litestar],
    tenant_key: str,
    record: Record,
    locked: list[dict[str, Any]],
) -> None:
    answers = zero_answers(locked)
    before = event_count(client, tenant_key, record.record_id)
    for credential, body in [
        (record.session, {}),
        (tenant_key, {"recordVerificationId": record.record_id}),
    ]:
        response = post(client, GENERATE, credential, body)
        assert_error(response, 403, "ASSESSMENT_LOCKED")
        response = post(client, SUBMIT, credential, {**body, "answers": answers})
        assert_error(response, 403, "ASSESSMENT_LOCKED")
    assert event_count(client, tenant_key, record.record_id) == before


# -- MISSING_ANSWERS, NO_QUESTIONS, INCOMPLETE_ANSWERS, INVALID_ANSWERS ---------------------


@pytest.mark.parametrize(
    "body", [None, {}, {"answers": None}, {"answers": []}], ids=["no body", "{}", "null", "[]"]
)
def test_missing_answers(
    client: TestClient[Litestar],
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
    body: Any,
) -> None:
    assert_error(post(client, SUBMIT, record.session, body), 400, "MISSING_ANSWERS")
    with_id = {**(body or {}), "recordVerificationId": record.record_id}
    assert_error(post(client, SUBMIT, tenant_key, with_id), 400, "MISSING_ANSWERS")


def test_no_questions_before_generate(client: TestClient[Litestar], record: Record) -> None:
    answers = [{"questionId": f"q_{n}", "selectedAnswer": 0} for n in range(10)]
    message = assert_error(
        post(client, SUBMIT, record.session, {"answers": answers}), 404, "NO_QUESTIONS"
    )
    assert "generate" in message


def test_no_questions_once_the_set_is_used_up(
    client: TestClient[Litestar],
    service: Services,
    record: Record,
    questions: list[dict[str, Any]],
) -> None:
    answers = answer_sheet(service, record.record_id, 0)
    response = post(client, SUBMIT, record.session, {"answers": answers})
    assert response.status_code == 200
    assert_error(post(client, SUBMIT, record.session, {"answers": answers}), 404, "NO_QUESTIONS")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda answers: answers[:1], id="one answer"),
        pytest.param(lambda answers: answers[:-1], id="one missing"),
        pytest.param(
            lambda answers: [*answers, {"questionId": "q_extra", "selectedAnswer": 0}],
            id="one too many",
        ),
        pytest.param(
            lambda answers: [{"questionId": "q_unknown", "selectedAnswer": 9}, *answers[2:]],
            id="one missing and an unknown id inside",
        ),
    ],
)
def test_incomplete_answers(
    client: TestClient[Litestar],
    record: Record,
    questions: list[dict[str, Any]],
    change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> None:
    body = {"answers": change(zero_answers(questions))}
    assert_error(post(client, SUBMIT, record.session, body), 400, "INCOMPLETE_ANSWERS")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        pytest.param(
            lambda a, q: replace_first(a, questionId="q_unknown"),
            "answers[0].questionId",
            id="unknown id",
        ),
        pytest.param(
            lambda a, q: replace_first(a, questionId=a[1]["questionId"]),
            "answers[1].questionId",
            id="repeated id",
        ),
        pytest.param(
            lambda a, q: replace_first(a, selectedAnswer=len(q[0]["options"])),
            "answers[0].selectedAnswer",
            id="index just past the options",
        ),
        pytest.param(
            lambda a, q: replace_first(a, selectedAnswer=99),
            "answers[0].selectedAnswer",
            id="index far out",
        ),
        pytest.param(
            lambda a, q: replace_first(a, selectedAnswer=-1),
            "answers[0].selectedAnswer",
            id="negative index",
        ),
    ],
)
def test_invalid_answers(
    client: TestClient[Litestar],
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
    change: Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[dict[str, Any]]],
    where: str,
) -> None:
    answers = change(zero_answers(questions), questions)
    assert len(answers) == len(questions)
    message = assert_error(
        post(client, SUBMIT, record.session, {"answers": answers}), 400, "INVALID_ANSWERS"
    )
    assert where in message
    assert event_count(client, tenant_key, record.record_id) == 2


# -- order of checks on submit -------------------------------------------------------------


def test_no_key_comes_before_a_malformed_body(client: TestClient[Litestar]) -> None:
    response = client.post(SUBMIT, content=b"{oops", headers={"content-type": "application/json"})
    assert_error(response, 401, "UNAUTHORIZED")


def test_a_missing_id_comes_before_missing_answers(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    response = post(client, SUBMIT, tenant_key, {"answers": []})
    assert_error(response, 400, "MISSING_VERIFICATION_ID")


def test_not_found_comes_before_missing_answers(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    body = {"recordVerificationId": f"ver_live_{uuid4().hex}", "answers": []}
    assert_error(post(client, SUBMIT, tenant_key, body), 404, "VERIFICATION_NOT_FOUND")


@pytest.mark.parametrize("answers", [[], None, ONE_ANSWER], ids=["empty", "null", "wrong count"])
def test_locked_comes_before_the_answers_are_looked_at(
    client: TestClient[Litestar], record: Record, locked: list[dict[str, Any]], answers: Any
) -> None:
    response = post(client, SUBMIT, record.session, {"answers": answers})
    assert_error(response, 403, "ASSESSMENT_LOCKED")


def test_missing_answers_come_before_no_questions(
    client: TestClient[Litestar], record: Record
) -> None:
    assert_error(post(client, SUBMIT, record.session, {"answers": []}), 400, "MISSING_ANSWERS")


def test_no_questions_comes_before_the_count(client: TestClient[Litestar], record: Record) -> None:
    response = post(client, SUBMIT, record.session, {"answers": ONE_ANSWER})
    assert_error(response, 404, "NO_QUESTIONS")


def test_the_count_comes_before_the_answers_themselves(
    client: TestClient[Litestar], record: Record, questions: list[dict[str, Any]]
) -> None:
    answers = [{"questionId": "q_unknown", "selectedAnswer": -1}]
    response = post(client, SUBMIT, record.session, {"answers": answers})
    assert_error(response, 400, "INCOMPLETE_ANSWERS")


# -- a rejected command records nothing ----------------------------------------------------


def test_rejected_commands_record_nothing(
    client: TestClient[Litestar],
    service: Services,
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
) -> None:
    answers = zero_answers(questions)
    other_tenant = service.access.issue_key("other", "live")
    rejected: list[tuple[str | None, str, Any, int]] = [
        (record.session, SUBMIT, {}, 400),
        (record.session, SUBMIT, {"answers": answers[:3]}, 400),
        (record.session, SUBMIT, {"answers": replace_first(answers, questionId="q_x")}, 400),
        (record.session, SUBMIT, {"answers": replace_first(answers, selectedAnswer=7)}, 400),
        (record.session, SUBMIT, {"answers": replace_first(answers, selectedAnswer="x")}, 400),
        (None, SUBMIT, {"answers": answers}, 401),
        (tenant_key, SUBMIT, {"answers": answers}, 400),
        (other_tenant, SUBMIT, {"answers": answers, "recordVerificationId": record.record_id}, 404),
        (other_tenant, GENERATE, {"recordVerificationId": record.record_id}, 404),
    ]
    before = event_count(client, tenant_key, record.record_id)
    for credential, path, body, status in rejected:
        assert post(client, path, credential, body).status_code == status, (path, body)
        assert event_count(client, tenant_key, record.record_id) == before, (path, body)

    response = post(
        client, SUBMIT, record.session, {"answers": answer_sheet(service, record.record_id, 7)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["attemptNumber"] == 1
    assert response.json()["data"]["result"]["correctAnswers"] == 7
