"""The assessment flow over HTTP: start, generate, submit, retry, history, idempotency, expiry."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from application.service import AssessmentService
from domain.questions import parse_bank
from projections.runner import MODELS, catch_up
from projections.views import open_live_view
from tests.support import PYTHON, REACT, STUDENT, Clock, answer_sheet, make_service

API = "/api/v1"
SUBMITTED_MESSAGE = "Assessment submitted successfully"
SECRET_KEYS = {"answer", "answerKey", "sessionTokenHash"}


# -- helpers -------------------------------------------------------------------------------


def start(
    client: TestClient[Litestar],
    tenant_key: str,
    skills: list[dict[str, str]] | None = None,
    callback: str | None = None,
) -> tuple[str, str]:
    """Start a verification; return its record id and session token."""
    body: dict[str, Any] = {"student": STUDENT, "skills": skills or [REACT]}
    if callback is not None:
        body["callbackWebhookUrl"] = callback
    response = client.post(f"{API}/verify", json=body, headers={"x-api-key": tenant_key})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data["recordVerificationId"], data["sessionToken"]


def generate(
    client: TestClient[Litestar], credential: str, record_id: str | None = None
) -> httpx.Response:
    """POST /assessment/generate, with the record id in the body when given."""
    body = {} if record_id is None else {"recordVerificationId": record_id}
    return client.post(f"{API}/assessment/generate", json=body, headers={"x-api-key": credential})


def generated(
    client: TestClient[Litestar], credential: str, record_id: str | None = None
) -> dict[str, Any]:
    """The data of a successful generate."""
    response = generate(client, credential, record_id)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def submit(
    client: TestClient[Litestar],
    credential: str,
    answers: list[dict[str, Any]],
    record_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /assessment/submit."""
    body: dict[str, Any] = {"answers": answers}
    if record_id is not None:
        body["recordVerificationId"] = record_id
    return client.post(
        f"{API}/assessment/submit", json=body, headers={"x-api-key": credential, **(headers or {})}
    )


def submitted(
    client: TestClient[Litestar],
    credential: str,
    answers: list[dict[str, Any]],
    record_id: str | None = None,
) -> dict[str, Any]:
    """The data of a successful submit."""
    response = submit(client, credential, answers, record_id)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def history(
    client: TestClient[Litestar], tenant_key: str, record_id: str, as_of: str | None = None
) -> dict[str, Any]:
    """The data of GET /verifications/{id}/history."""
    params = {} if as_of is None else {"asOf": as_of}
    response = client.get(
        f"{API}/verifications/{record_id}/history",
        params=params,
        headers={"x-api-key": tenant_key},
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def error_code(response: httpx.Response) -> tuple[int, str]:
    """The status and error code of a rejected request."""
    body = response.json()
    assert body["success"] is False
    return response.status_code, body["error"]["code"]


def all_keys(value: Any) -> set[str]:
    """Every key of every object nested in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(all_keys(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(all_keys(item) for item in value))
    return set()


def event_types(data: dict[str, Any]) -> list[str]:
    """The types of the events of a history, in order."""
    return [event["type"] for event in data["events"]]


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
    service: AssessmentService,
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
        assert set(question) == {"questionId", "skillId", "question", "options"}
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
def eight_per_attempt(sqlite_url: str, clock: Clock) -> Iterator[AssessmentService]:
    """A service that draws 8 questions per attempt."""
    service = make_service(sqlite_url, clock, questions_per_attempt=8)
    yield service
    service.store.close()


@pytest.mark.parametrize(
    ("correct", "score", "passed"),
    [(5, 63, True), (1, 13, False), (8, 100, True), (0, 0, False)],
)
def test_score_rounds_halves_up(
    eight_per_attempt: AssessmentService, correct: int, score: int, passed: bool
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
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
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


# -- history as of a moment ----------------------------------------------------------------


def test_history_as_of_a_moment(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str, clock: Clock
) -> None:
    record_id, session = start(client, tenant_key)  # 10:00
    clock.advance(minutes=5)
    generated(client, session)  # 10:05
    clock.advance(minutes=5)
    submitted(client, session, answer_sheet(service, record_id, 2))  # 10:10
    clock.advance(minutes=5)

    started = history(client, tenant_key, record_id, "2026-01-05T10:02:00Z")
    assert event_types(started) == ["VerificationStarted"]
    assert started["state"]["status"] == "pending"

    in_progress = history(client, tenant_key, record_id, "2026-01-05T10:07:00Z")
    assert event_types(in_progress) == ["VerificationStarted", "QuestionsGenerated"]
    assert in_progress["state"]["status"] == "in_progress"
    assert in_progress["state"]["attempts"] == []

    at_the_moment = history(client, tenant_key, record_id, "2026-01-05T10:05:00.000Z")
    assert event_types(at_the_moment) == ["VerificationStarted", "QuestionsGenerated"]

    with_offset = history(client, tenant_key, record_id, "2026-01-05T11:07:00+01:00")
    assert with_offset == in_progress

    failed = history(client, tenant_key, record_id, "2026-01-05T10:12:00Z")
    assert event_types(failed) == [
        "VerificationStarted",
        "QuestionsGenerated",
        "AnswersSubmitted",
        "Scored",
    ]
    assert failed["state"]["status"] == "failed"
    assert [attempt["score"] for attempt in failed["state"]["attempts"]] == [20]
    assert failed == history(client, tenant_key, record_id)

    assert history(client, tenant_key, record_id, "2026-01-05T09:59:59Z") == {
        "events": [],
        "state": {},
    }

    response = client.get(
        f"{API}/verifications/{record_id}/history",
        params={"asOf": "yesterday"},
        headers={"x-api-key": tenant_key},
    )
    assert error_code(response) == (400, "VALIDATION_ERROR")
    assert "asOf" in response.json()["error"]["message"]


# -- the tenant key instead of the session -------------------------------------------------


def test_tenant_key_generates_and_submits_with_the_id_in_the_body(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
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
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str, clock: Clock
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


def skills_with_banks(service: AssessmentService, count: int) -> list[dict[str, str]]:
    """`count` distinct skills, each with a bank (the shipped ones, then small imported ones)."""
    skills = [{"skillId": f"skill_{n:03}", "name": f"Skill {n}"} for n in range(1, count + 1)]
    banked = {bank["skillId"] for bank in service.banks.list_banks()}
    for skill in skills:
        if skill["skillId"] not in banked:
            question = {"question": "Which?", "options": ["this", "that"], "answer": 0}
            document = {**skill, "questions": [question]}
            service.banks.import_bank(parse_bank(json.dumps(document).encode()))
    return skills


def test_ten_skills_start_a_record_with_every_skill_pending_and_eleven_are_refused(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    skills = skills_with_banks(service, 11)
    refused = client.post(
        f"{API}/verify",
        json={"student": STUDENT, "skills": skills},
        headers={"x-api-key": tenant_key},
    )
    assert error_code(refused) == (400, "VALIDATION_ERROR")
    assert "skills" in refused.json()["error"]["message"]

    record_id, _ = start(client, tenant_key, skills=skills[:10])
    pending = [
        {
            "skillId": skill["skillId"],
            "name": skill["name"],
            "verified": False,
            "status": "pending",
            "verifiedAt": None,
            "verifiedBy": None,
        }
        for skill in skills[:10]
    ]
    path = f"{API}/verifications/{record_id}"
    from_store = client.get(path, headers={"x-api-key": tenant_key}).json()["data"]
    for model in MODELS.values():
        catch_up(open_live_view(service.store, model), until=lambda: True)
    from_view = client.get(path, headers={"x-api-key": tenant_key}).json()["data"]
    assert from_store["skills"] == from_view["skills"] == pending
    assert (from_store["status"], from_view["status"]) == ("pending", "pending")
    assert history(client, tenant_key, record_id)["state"]["skills"] == pending


# -- Idempotency-Key -----------------------------------------------------------------------


def test_verify_retried_with_the_same_idempotency_key_starts_one_record(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    body = {"student": STUDENT, "skills": [REACT]}
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "verify-1"}

    first = client.post(f"{API}/verify", json=body, headers=headers)
    second = client.post(f"{API}/verify", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.json()["data"]["sessionToken"] == first.json()["data"]["sessionToken"]
    without_key = client.post(f"{API}/verify", json=body, headers={"x-api-key": tenant_key})
    assert (
        without_key.json()["data"]["recordVerificationId"]
        != (first.json()["data"]["recordVerificationId"])
    )

    other_body = {"student": {**STUDENT, "studentId": "stu_2"}, "skills": [REACT]}
    reused = client.post(f"{API}/verify", json=other_body, headers=headers)
    assert error_code(reused) == (422, "IDEMPOTENCY_KEY_REUSED")


def stored_states(service: AssessmentService) -> list[bytes]:
    """The state of every event in the store, as stored."""
    return [n.state for n in service.store.recorder.select_notifications(start=1, limit=10_000)]


def test_an_idempotent_verify_stores_no_session_token_and_replays_a_working_one(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    body = {"student": STUDENT, "skills": [REACT]}
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "verify-token"}

    first = client.post(f"{API}/verify", json=body, headers=headers).json()["data"]
    # sess_<32 hex>_<43 base64url>: the MAC may itself hold "_", so split from the left.
    secret = first["sessionToken"].split("_", 2)[2].encode()
    assert len(secret) == 43
    assert not [state for state in stored_states(service) if secret in state]

    replayed = client.post(f"{API}/verify", json=body, headers=headers).json()["data"]
    assert replayed == first
    generated = client.post(
        f"{API}/assessment/generate", headers={"x-api-key": replayed["sessionToken"]}
    )
    assert generated.status_code == 200


def test_a_verify_replayed_with_another_key_of_the_tenant_is_refused(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    body = {"student": STUDENT, "skills": [REACT]}
    client.post(
        f"{API}/verify", json=body, headers={"x-api-key": tenant_key, "Idempotency-Key": "v"}
    )
    other_key = service.access.issue_key("acme", "live")
    before = stored_states(service)

    replayed = client.post(
        f"{API}/verify", json=body, headers={"x-api-key": other_key, "Idempotency-Key": "v"}
    )

    assert error_code(replayed) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert stored_states(service) == before


def test_submit_retried_with_the_same_idempotency_key_is_recorded_once(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    record_id, session = start(client, tenant_key)
    generated(client, session)
    answers = answer_sheet(service, record_id, 4)
    key = {"Idempotency-Key": "submit-1"}

    first = submit(client, session, answers, headers=key)
    second = submit(client, session, answers, headers=key)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert first.json()["data"]["result"]["score"] == 40
    assert event_types(history(client, tenant_key, record_id)).count("AnswersSubmitted") == 1

    changed = [{**answers[0], "selectedAnswer": answers[0]["selectedAnswer"] ^ 1}, *answers[1:]]
    assert error_code(submit(client, session, changed, headers=key)) == (
        422,
        "IDEMPOTENCY_KEY_REUSED",
    )


# -- session expiry ------------------------------------------------------------------------


def test_the_session_expires_after_40_days(
    client: TestClient[Litestar], tenant_key: str, clock: Clock
) -> None:
    response = client.post(
        f"{API}/verify",
        json={"student": STUDENT, "skills": [REACT]},
        headers={"x-api-key": tenant_key},
    )
    started = response.json()["data"]
    assert started["expiresAt"] == "2026-02-14T10:00:00.000Z"
    assert started["expiresIn"] == 40 * 24 * 3600
    session = started["sessionToken"]

    clock.advance(days=40, minutes=-1)
    assert generated(client, session)["attemptNumber"] == 1

    clock.advance(minutes=2)
    assert error_code(generate(client, session)) == (401, "UNAUTHORIZED")
    answers = [{"questionId": "q_1", "selectedAnswer": 0}]
    assert error_code(submit(client, session, answers)) == (401, "UNAUTHORIZED")
    assert history(client, tenant_key, started["recordVerificationId"])["state"]["status"] == (
        "in_progress"
    )
