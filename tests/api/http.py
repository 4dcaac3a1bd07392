"""Requests and checks that the API tests share: start, draw, submit, read, and the envelope."""

from __future__ import annotations

from typing import Any, NamedTuple

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from tests.support import REACT, STUDENT

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


def start(
    client: TestClient[Litestar],
    tenant_key: str,
    skills: list[dict[str, str]] | None = None,
    callback: str | None = None,
) -> Record:
    """Start a verification (of React unless skills are given); return its id and session."""
    body: dict[str, Any] = {"student": STUDENT, "skills": skills or [REACT]}
    if callback is not None:
        body["callbackWebhookUrl"] = callback
    response = client.post(VERIFY, json=body, headers={"x-api-key": tenant_key})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return Record(data["recordVerificationId"], data["sessionToken"])


# -- the error tests' requests and checks --------------------------------------------------


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


def draw(client: TestClient[Litestar], record: Record) -> list[dict[str, Any]]:
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


def replace_first(answers: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    """The answers with fields of the first one replaced."""
    return [{**answers[0], **fields}, *answers[1:]]


# -- the flow tests' requests and checks ---------------------------------------------------


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


def event_types(data: dict[str, Any]) -> list[str]:
    """The types of the events of a history, in order."""
    return [event["type"] for event in data["events"]]


# -- the human path ---------------------------------------------------------------------

REVIEWER = f"{API}/humanverification/reviewer"
PAGE = f"{API}/humanverification/verify-page"
ENDORSE = f"{API}/humanverification/verify"
SKILLS: list[dict[str, Any]] = [
    {"skillId": "skill_001", "name": "React", "proofUrls": ["https://github.com/ada/app"]},
    {"skillId": "skill_002", "name": "Python"},
]
SOURCE = {
    "type": "project",
    "title": "Analytical Engine notes",
    "startDate": "2025-01-01",
    "url": "https://example.com/notes",
}
GRACE = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "company": "Navy",
    "endorsementType": "tech_lead",
}


def start_human(client: TestClient[Litestar], tenant_key: str) -> tuple[str, str]:
    body = {
        "student": STUDENT,
        "skills": SKILLS,
        "method": "human_endorsement",
        "sources": [SOURCE],
    }
    response = client.post(VERIFY, json=body, headers={"x-api-key": tenant_key})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return data["recordVerificationId"], data["sessionToken"]


def invite(client: TestClient[Litestar], credential: str, **body: Any) -> httpx.Response:
    return client.post(REVIEWER, json={**GRACE, **body}, headers={"x-api-key": credential})


def endorse(client: TestClient[Litestar], reviewer: str | None, body: Any) -> httpx.Response:
    params = {} if reviewer is None else {"reviewerToken": reviewer}
    return client.post(ENDORSE, params=params, json=body)
