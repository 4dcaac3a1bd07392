"""Every error code of the contract over HTTP: status, envelope, order of checks, no effects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, NamedTuple
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from application.service import AssessmentService
from tests.support import REACT, STUDENT, Clock, answer_sheet, make_service

API = "/api/v1"
VERIFY = f"{API}/verify"
GENERATE = f"{API}/assessment/generate"
SUBMIT = f"{API}/assessment/submit"
VERIFY_BODY: dict[str, Any] = {"student": STUDENT, "skills": [REACT]}
ONE_ANSWER = [{"questionId": "q_unknown", "selectedAnswer": 0}]


class Record(NamedTuple):
    """A started verification as its tenant and its student's client know it."""

    record_id: str
    session: str


# -- helpers -------------------------------------------------------------------------------


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """Check the error envelope, status and code; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"success", "error"}
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message.strip()
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    return message


def start(client: TestClient[Litestar], tenant_key: str) -> Record:
    """Start a verification of React."""
    response = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": tenant_key})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Record(data["recordVerificationId"], data["sessionToken"])


def generate(client: TestClient[Litestar], record: Record) -> list[dict[str, Any]]:
    """Draw the pending questions with the session; return them."""
    response = client.post(GENERATE, headers={"x-api-key": record.session})
    assert response.status_code == 200, response.text
    questions: list[dict[str, Any]] = response.json()["data"]["questions"]
    return questions


def post(
    client: TestClient[Litestar], path: str, credential: str | None, body: Any = None
) -> httpx.Response:
    """POST a JSON body (or none) with x-api-key when a credential is given."""
    headers = {} if credential is None else {"x-api-key": credential}
    if body is None:
        return client.post(path, headers=headers)
    return client.post(path, json=body, headers=headers)


def event_count(client: TestClient[Litestar], tenant_key: str, record_id: str) -> int:
    """How many events the record's history holds."""
    response = client.get(
        f"{API}/verifications/{record_id}/history", headers={"x-api-key": tenant_key}
    )
    assert response.status_code == 200, response.text
    return len(response.json()["data"]["events"])


def zero_answers(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per question, each choosing the first option."""
    return [{"questionId": question["questionId"], "selectedAnswer": 0} for question in questions]


@pytest.fixture
def record(client: TestClient[Litestar], tenant_key: str) -> Record:
    """A started verification without questions."""
    return start(client, tenant_key)


@pytest.fixture
def questions(client: TestClient[Litestar], record: Record) -> list[dict[str, Any]]:
    """The pending questions of the record's first attempt."""
    return generate(client, record)


@pytest.fixture
def locked(
    client: TestClient[Litestar], service: AssessmentService, record: Record
) -> list[dict[str, Any]]:
    """Pass the record (it is then locked); return the questions it was passed with."""
    drawn = generate(client, record)
    response = client.post(
        SUBMIT,
        json={"answers": answer_sheet(service, record.record_id, 10)},
        headers={"x-api-key": record.session},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["passed"] is True
    return drawn


# -- UNAUTHORIZED --------------------------------------------------------------------------

BAD_CREDENTIALS = [
    None,
    "",
    "nonsense",
    "ak_live_" + "x" * 43,
    "ak_test_" + "x" * 43,
    "sess_" + "0" * 32 + "_" + "A" * 43,
    "sess_short",
]


@pytest.mark.parametrize("credential", BAD_CREDENTIALS)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", VERIFY, VERIFY_BODY),
        ("POST", GENERATE, {}),
        ("POST", SUBMIT, {"answers": ONE_ANSWER}),
        ("GET", f"{API}/verifications/ver_live_{'0' * 32}/history", None),
    ],
)
def test_a_missing_or_unknown_key_is_unauthorized(
    client: TestClient[Litestar], method: str, path: str, body: Any, credential: str | None
) -> None:
    headers = {} if credential is None else {"x-api-key": credential}
    response = client.request(method, path, json=body, headers=headers)
    assert_error(response, 401, "UNAUTHORIZED")


def test_a_session_token_cannot_start_verifications_or_read_history(
    client: TestClient[Litestar], record: Record
) -> None:
    assert_error(post(client, VERIFY, record.session, VERIFY_BODY), 401, "UNAUTHORIZED")
    response = client.get(
        f"{API}/verifications/{record.record_id}/history", headers={"x-api-key": record.session}
    )
    assert_error(response, 401, "UNAUTHORIZED")


def test_a_session_token_with_a_wrong_secret_is_unauthorized(
    client: TestClient[Litestar], record: Record
) -> None:
    forged = record.session[: -len("A" * 43)] + "A" * 43
    assert forged != record.session
    assert_error(post(client, GENERATE, forged), 401, "UNAUTHORIZED")


def test_a_session_token_is_bound_to_its_record(
    client: TestClient[Litestar], tenant_key: str, record: Record
) -> None:
    other = start(client, tenant_key)
    mac = record.session.split("_", 2)[2]  # sess_<record hex>_<MAC of that record>
    forged = f"sess_{other.record_id.rsplit('_', 1)[1]}_{mac}"
    assert forged != other.session
    assert_error(post(client, GENERATE, forged), 401, "UNAUTHORIZED")
    assert post(client, GENERATE, other.session).status_code == 200


def test_a_session_expires_at_its_expiry_exactly(
    client: TestClient[Litestar], tenant_key: str, clock: Clock
) -> None:
    started = clock.now
    record = start(client, tenant_key)
    clock.now = started + timedelta(days=40, seconds=-1)
    assert post(client, GENERATE, record.session).status_code == 200
    clock.now = started + timedelta(days=40)
    assert_error(post(client, GENERATE, record.session), 401, "UNAUTHORIZED")


def test_an_expired_session_is_unauthorized(
    client: TestClient[Litestar], record: Record, clock: Clock
) -> None:
    clock.advance(days=41)
    assert_error(post(client, GENERATE, record.session), 401, "UNAUTHORIZED")
    assert_error(post(client, SUBMIT, record.session, {"answers": ONE_ANSWER}), 401, "UNAUTHORIZED")


# -- MISSING_VERIFICATION_ID ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GENERATE, None),
        (GENERATE, {}),
        (GENERATE, {"recordVerificationId": None}),
        (GENERATE, {"recordVerificationId": ""}),
        (SUBMIT, None),
        (SUBMIT, {}),
        (SUBMIT, {"answers": ONE_ANSWER}),
        (SUBMIT, {"answers": ONE_ANSWER, "recordVerificationId": None}),
    ],
)
def test_a_tenant_key_needs_the_verification_id(
    client: TestClient[Litestar], tenant_key: str, path: str, body: Any
) -> None:
    message = assert_error(post(client, path, tenant_key, body), 400, "MISSING_VERIFICATION_ID")
    assert "recordVerificationId" in message


# -- VERIFICATION_NOT_FOUND ----------------------------------------------------------------

Target = Callable[[TestClient[Litestar], str, str], httpx.Response]


def generate_for(client: TestClient[Litestar], credential: str, record_id: str) -> httpx.Response:
    return post(client, GENERATE, credential, {"recordVerificationId": record_id})


def submit_for(client: TestClient[Litestar], credential: str, record_id: str) -> httpx.Response:
    body = {"recordVerificationId": record_id, "answers": ONE_ANSWER}
    return post(client, SUBMIT, credential, body)


def history_of(client: TestClient[Litestar], credential: str, record_id: str) -> httpx.Response:
    return client.get(f"{API}/verifications/{record_id}/history", headers={"x-api-key": credential})


@pytest.mark.parametrize("target", [generate_for, submit_for, history_of])
@pytest.mark.parametrize(
    "case",
    [
        "unknown id",
        "malformed id",
        "uppercase id",
        "id with the other mode",
        "another tenant's record",
        "test key on a live record",
    ],
)
def test_a_record_the_caller_cannot_see_is_not_found(
    client: TestClient[Litestar],
    service: AssessmentService,
    tenant_key: str,
    record: Record,
    target: Target,
    case: str,
) -> None:
    credential, record_id = {
        "unknown id": (tenant_key, f"ver_live_{uuid4().hex}"),
        "malformed id": (tenant_key, "not-a-record"),
        "uppercase id": (tenant_key, record.record_id.upper()),
        "id with the other mode": (tenant_key, record.record_id.replace("_live_", "_test_")),
        "another tenant's record": (service.access.issue_key("other", "live"), record.record_id),
        "test key on a live record": (service.access.issue_key("acme", "test"), record.record_id),
    }[case]
    before = event_count(client, tenant_key, record.record_id)

    assert_error(target(client, credential, record_id), 404, "VERIFICATION_NOT_FOUND")
    assert event_count(client, tenant_key, record.record_id) == before


@pytest.mark.parametrize("path", [GENERATE, SUBMIT])
def test_a_session_cannot_name_another_record(
    client: TestClient[Litestar], tenant_key: str, record: Record, path: str
) -> None:
    other = start(client, tenant_key)
    body = {"recordVerificationId": other.record_id, "answers": ONE_ANSWER}
    assert_error(post(client, path, record.session, body), 404, "VERIFICATION_NOT_FOUND")
    assert event_count(client, tenant_key, other.record_id) == 1


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
    service: AssessmentService,
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


def replace_first(answers: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    """The answers with fields of the first one replaced."""
    return [{**answers[0], **fields}, *answers[1:]]


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
    service: AssessmentService,
    tenant_key: str,
    record: Record,
    questions: list[dict[str, Any]],
) -> None:
    headers = {"x-api-key": record.session, "Idempotency-Key": "answers-1"}
    answers = answer_sheet(service, record.record_id, 2)
    assert client.post(SUBMIT, json={"answers": answers}, headers=headers).status_code == 200
    before = event_count(client, tenant_key, record.record_id)
    generate(client, record)

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
def limited(sqlite_url: str, clock: Clock) -> Iterator[AssessmentService]:
    """A service that lets each key send 3 requests a minute."""
    service = make_service(sqlite_url, clock, rate_limit_per_minute=3)
    yield service
    service.store.close()


def test_the_fourth_request_a_minute_is_rate_limited(limited: AssessmentService) -> None:
    key = limited.access.issue_key("acme", "live")
    other_key = limited.access.issue_key("other", "live")
    with TestClient(create_app(limited)) as client:
        statuses = [
            client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key}).status_code
            for _ in range(3)
        ]
        response = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": key})
        other = client.post(VERIFY, json=VERIFY_BODY, headers={"x-api-key": other_key})

    assert statuses == [201, 201, 201]
    assert_error(response, 429, "RATE_LIMITED")
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None
    assert retry_after.isdigit()
    assert int(retry_after) > 0
    assert other.status_code == 201


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
    service: AssessmentService,
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
