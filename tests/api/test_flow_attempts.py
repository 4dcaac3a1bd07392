"""The assessment flow over HTTP: pass, fail and retry, scores, the tenant key, several skills."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    error_code,
    event_types,
    generate,
    generated,
    start,
    submit,
    submitted,
)
from tests.support import PYTHON, REACT, Clock, answer_sheet, make_service

SUBMITTED_MESSAGE = "Assessment submitted successfully"
SECRET_KEYS = {"answer", "answerKey", "sessionTokenHash"}


def all_keys(value: Any) -> set[str]:
    """Every key of every object nested in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(all_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(all_keys(item) for item in value))
    return set()


# -- pass on the first attempt -------------------------------------------------------------


@pytest.mark.parametrize(
    ("callback", "webhook"),
    [
        (None, {"sent": False, "status": "no_endpoint"}),
        ("https://partner.example.com/hooks", {"sent": True, "status": "queued"}),
    ],
)
def test_pass_on_the_first_attempt(
    client: TestClient[Litestar],
    service: Services,
    tenant_key: str,
    clock: Clock,
    callback: str | None,
    webhook: dict[str, Any],
) -> None:
    record_id, session = start(client, tenant_key, callback=callback)

    response = generate(client, session)
    assert response.status_code == 200
    assert not all_keys(response.json()) & SECRET_KEYS
    first = response.json()["data"]
    assert first["recordVerificationId"] == record_id
    assert first["attemptNumber"] == 1
    assert first["totalQuestions"] == 10
    assert first["alreadyGenerated"] is False
    assert len(first["questions"]) == 10
    assert len({question["questionId"] for question in first["questions"]}) == 10
    for question in first["questions"]:
        assert set(question) == {"questionId", "skillId", "question", "options", "origin"}
        assert question["origin"] == "bank"
        assert question["skillId"] == REACT["skillId"]

    again = generated(client, session)
    assert again["alreadyGenerated"] is True
    assert again["attemptNumber"] == 1
    assert again["questions"] == first["questions"]

    clock.advance(minutes=5)
    response = submit(client, session, answer_sheet(service, record_id, 8))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "data", "message"}
    assert body["success"] is True
    assert body["message"] == SUBMITTED_MESSAGE
    data = body["data"]
    assert set(data) == {
        "recordVerificationId",
        "result",
        "verifiedSkills",
        "skillsUpdated",
        "webhook",
    }
    assert data["recordVerificationId"] == record_id
    result = data["result"]
    assert set(result) == {
        "score",
        "passed",
        "attemptNumber",
        "correctAnswers",
        "totalQuestions",
        "message",
    }
    assert result["score"] == 80
    assert result["passed"] is True
    assert result["attemptNumber"] == 1
    assert result["correctAnswers"] == 8
    assert result["totalQuestions"] == 10
    assert isinstance(result["message"], str)
    assert result["message"]
    assert data["verifiedSkills"] == [
        {
            "skillId": REACT["skillId"],
            "name": REACT["name"],
            "verified": True,
            "status": "verified",
            "verifiedAt": "2026-01-05T10:05:00.000Z",
            "verifiedBy": "assessment",
        }
    ]
    assert data["skillsUpdated"] == 1
    assert data["webhook"] == webhook

    assert error_code(generate(client, session)) == (403, "ASSESSMENT_LOCKED")
    answers = [{"questionId": q["questionId"], "selectedAnswer": 0} for q in first["questions"]]
    assert error_code(submit(client, session, answers)) == (403, "ASSESSMENT_LOCKED")


# -- rounding ------------------------------------------------------------------------------


@pytest.fixture
def eight_per_attempt(sqlite_url: str, clock: Clock) -> Iterator[Services]:
    """A service that draws 8 questions per attempt."""
    service = make_service(sqlite_url, clock, questions_per_attempt=8)
    yield service
    service.store.close()


@pytest.mark.parametrize(
    ("correct", "score", "passed"),
    [(5, 63, True), (1, 13, False), (8, 100, True), (0, 0, False)],
)
def test_score_rounds_halves_up(
    eight_per_attempt: Services, correct: int, score: int, passed: bool
) -> None:
    tenant_key = eight_per_attempt.access.issue_key("acme", "live")
    with TestClient(create_app(eight_per_attempt)) as client:
        record_id, session = start(client, tenant_key)
        assert generated(client, session)["totalQuestions"] == 8
        data = submitted(client, session, answer_sheet(eight_per_attempt, record_id, correct))
    assert data["result"]["totalQuestions"] == 8
    assert data["result"]["correctAnswers"] == correct
    assert data["result"]["score"] == score
    assert data["result"]["passed"] is passed


# -- fail, retry, pass ---------------------------------------------------------------------


def test_fail_then_retry_then_pass(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start(client, tenant_key)
    first = generated(client, session)
    first_answers = answer_sheet(service, record_id, 5)

    failed = submitted(client, session, first_answers)
    assert failed["result"]["score"] == 50
    assert failed["result"]["passed"] is False
    assert failed["result"]["attemptNumber"] == 1
    assert failed["verifiedSkills"] == [
        {
            "skillId": REACT["skillId"],
            "name": REACT["name"],
            "verified": False,
            "status": "rejected",
            "verifiedAt": None,
            "verifiedBy": None,
        }
    ]
    assert failed["skillsUpdated"] == 1

    assert error_code(submit(client, session, first_answers)) == (404, "NO_QUESTIONS")

    second = generated(client, session)
    assert second["attemptNumber"] == 2
    assert second["alreadyGenerated"] is False
    assert {q["questionId"] for q in second["questions"]} != {
        q["questionId"] for q in first["questions"]
    }
    failed_again = submitted(client, session, answer_sheet(service, record_id, 3))
    assert failed_again["result"]["attemptNumber"] == 2
    assert failed_again["result"]["score"] == 30
    assert failed_again["verifiedSkills"][0]["status"] == "rejected"
    assert failed_again["skillsUpdated"] == 0

    assert generated(client, session)["attemptNumber"] == 3
    passed = submitted(client, session, answer_sheet(service, record_id, 10))
    assert passed["result"]["attemptNumber"] == 3
    assert passed["result"]["score"] == 100
    assert passed["result"]["passed"] is True
    assert passed["verifiedSkills"][0]["status"] == "verified"
    assert passed["verifiedSkills"][0]["verified"] is True
    assert passed["skillsUpdated"] == 1
    assert failed["result"]["message"] != passed["result"]["message"]

    response = client.get(
        f"{API}/verifications/{record_id}/history", headers={"x-api-key": tenant_key}
    )
    assert response.status_code == 200
    assert not all_keys(response.json()) & SECRET_KEYS
    assert session not in response.text
    audit = response.json()["data"]
    attempt = ["QuestionsGenerated", "AnswersSubmitted", "Scored"]
    assert event_types(audit) == ["VerificationStarted", *attempt * 3, "Locked"]
    assert [event["version"] for event in audit["events"]] == list(range(1, 12))
    state = audit["state"]
    assert state["recordVerificationId"] == record_id
    assert state["status"] == "passed"
    assert state["isLocked"] is True
    assert [(a["attemptNumber"], a["score"], a["passed"]) for a in state["attempts"]] == [
        (1, 50, False),
        (2, 30, False),
        (3, 100, True),
    ]


# -- the tenant key instead of the session -------------------------------------------------


def test_tenant_key_generates_and_submits_with_the_id_in_the_body(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start(client, tenant_key)

    questions = generated(client, tenant_key, record_id)
    assert questions["recordVerificationId"] == record_id
    assert questions["attemptNumber"] == 1
    assert questions["totalQuestions"] == 10
    assert questions["alreadyGenerated"] is False
    assert not all_keys(questions) & SECRET_KEYS
    assert generated(client, session)["questions"] == questions["questions"]

    data = submitted(client, tenant_key, answer_sheet(service, record_id, 8), record_id)
    assert data["recordVerificationId"] == record_id
    assert data["result"]["score"] == 80
    assert data["result"]["passed"] is True
    assert data["verifiedSkills"][0]["status"] == "verified"
    assert data["skillsUpdated"] == 1
    assert error_code(generate(client, tenant_key, record_id)) == (403, "ASSESSMENT_LOCKED")


# -- several skills ------------------------------------------------------------------------


def test_a_pass_verifies_every_skill_of_the_record(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    record_id, session = start(client, tenant_key, skills=[REACT, PYTHON])

    questions = generated(client, session)["questions"]
    assert len(questions) == 10
    per_skill = Counter(question["skillId"] for question in questions)
    assert set(per_skill) == {REACT["skillId"], PYTHON["skillId"]}
    assert min(per_skill.values()) >= 4

    clock.advance(hours=1)
    data = submitted(client, session, answer_sheet(service, record_id, 6))
    assert data["result"]["score"] == 60
    assert data["result"]["passed"] is True
    assert data["verifiedSkills"] == [
        {
            "skillId": skill["skillId"],
            "name": skill["name"],
            "verified": True,
            "status": "verified",
            "verifiedAt": "2026-01-05T11:00:00.000Z",
            "verifiedBy": "assessment",
        }
        for skill in (REACT, PYTHON)
    ]
    assert data["skillsUpdated"] == 2
