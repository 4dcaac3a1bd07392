"""The read endpoints over HTTP: records, pages of records, a student's skills."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.support import PYTHON, REACT, STUDENT, answer_sheet, project


def start(client: TestClient[Litestar], key: str, student: str = "stu_1") -> tuple[str, str]:
    body = {"student": {**STUDENT, "studentId": student}, "skills": [REACT, PYTHON]}
    data = client.post("/api/v1/verify", json=body, headers={"x-api-key": key}).json()["data"]
    return data["recordVerificationId"], data["sessionToken"]


def take_attempt(
    client: TestClient[Litestar], service: Services, token: str, record_id: str, right: int
) -> None:
    client.post("/api/v1/assessment/generate", headers={"x-api-key": token})
    answers = answer_sheet(service, record_id, right)
    response = client.post(
        "/api/v1/assessment/submit", json={"answers": answers}, headers={"x-api-key": token}
    )
    assert response.status_code == 200


def get(client: TestClient[Litestar], path: str, key: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_record_reads_the_same_before_and_after_the_view_has_it(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, token = start(client, tenant_key)
    take_attempt(client, service, token, record_id, right=4)
    from_store = get(client, f"/api/v1/verifications/{record_id}", tenant_key)
    project(service)
    from_view = get(client, f"/api/v1/verifications/{record_id}", tenant_key)
    assert from_view == from_store
    assert set(from_view) == {
        "recordVerificationId",
        "studentId",
        "status",
        "isLocked",
        "skills",
        "attempts",
        "createdAt",
        "updatedAt",
        "method",
        "reviewer",
    }
    assert (from_view["status"], from_view["isLocked"], from_view["studentId"]) == (
        "failed",
        False,
        "stu_1",
    )
    assert (from_view["method"], from_view["reviewer"]) == ("assessment", None)
    assert from_view["attempts"] == [
        {
            "attemptNumber": 1,
            "score": 40,
            "passed": False,
            "correctAnswers": 4,
            "totalQuestions": 10,
            "submittedAt": from_view["updatedAt"],
        }
    ]


def test_records_page_by_cursor_and_filter(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    created = [start(client, tenant_key, student=f"s{n % 2}")[0] for n in range(3)]
    project(service)
    first = get(client, "/api/v1/verifications", tenant_key, limit=2)
    second = get(client, "/api/v1/verifications", tenant_key, limit=2, cursor=first["nextCursor"])
    assert [i["recordVerificationId"] for i in first["items"] + second["items"]] == created[::-1]
    assert second["nextCursor"] is None
    only = get(client, "/api/v1/verifications", tenant_key, studentId="s1", status="pending")
    assert [i["recordVerificationId"] for i in only["items"]] == [created[1]]
    bad = client.get(
        "/api/v1/verifications", params={"limit": 0}, headers={"x-api-key": tenant_key}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "VALIDATION_ERROR")


def test_a_students_skills_across_records(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    passed_id, token = start(client, tenant_key)
    take_attempt(client, service, token, passed_id, right=10)
    failed_id, token = start(client, tenant_key)
    take_attempt(client, service, token, failed_id, right=0)
    project(service)
    skills = get(client, "/api/v1/students/stu_1/skills", tenant_key)
    assert [(s["skillId"], s["status"], s["recordVerificationId"]) for s in skills] == [
        ("skill_001", "verified", passed_id),
        ("skill_002", "verified", passed_id),
    ]
    assert all(s["verifiedBy"] == "assessment" and s["verifiedAt"] for s in skills)
    assert get(client, "/api/v1/students/nobody/skills", tenant_key) == []


def test_reads_are_for_the_tenant_that_owns_the_record(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, token = start(client, tenant_key)
    project(service)
    other = service.access.issue_key("other", "live")
    test_mode = service.access.issue_key("acme", "test")
    for key in (other, test_mode):
        response = client.get(f"/api/v1/verifications/{record_id}", headers={"x-api-key": key})
        assert response.json()["error"]["code"] == "VERIFICATION_NOT_FOUND"
        assert get(client, "/api/v1/verifications", key)["items"] == []
        assert get(client, "/api/v1/students/stu_1/skills", key) == []
    for path in (
        f"/api/v1/verifications/{record_id}",
        "/api/v1/verifications",
        "/api/v1/students/stu_1/skills",
    ):
        response = client.get(path, headers={"x-api-key": token})
        assert (response.status_code, response.json()["error"]["code"]) == (401, "UNAUTHORIZED")


def test_the_skills_a_record_can_name_are_listed_with_their_banks(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    listed = get(client, "/api/v1/skills", tenant_key)
    assert [skill["skillId"] for skill in listed] == [f"skill_00{n}" for n in range(1, 7)]
    assert listed[0] == {"skillId": "skill_001", "name": "React", "questions": 82}
    assert all(set(skill) == {"skillId", "name", "questions"} for skill in listed)
    assert [s["questions"] for s in listed] == [
        len(service.banks.bank(s["skillId"]).questions) for s in listed
    ]
    _, token = start(client, tenant_key)
    refused = client.get("/api/v1/skills", headers={"x-api-key": token})
    assert refused.status_code == 401  # a student's session cannot list them
    assert client.get("/api/v1/skills").status_code == 401
