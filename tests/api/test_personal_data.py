"""A student's personal data over HTTP: the export holds everything about them in the
caller's tenant and mode; the erasure is at once, for good, idempotent, and isolated like
every read; afterwards every read shows "[erased]" and no email goes to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    GRACE,
    PAGE,
    SKILLS,
    SOURCE,
    assert_error,
    draw,
    generated,
    history,
    invite,
    start,
    start_human,
    submitted,
    zero_answers,
)
from tests.support import STUDENT, Clock, link_token, make_service, project, public_messages

ERASED = {"name": "[erased]", "email": "[erased]"}
ADA = {"name": STUDENT["name"], "email": STUDENT["email"]}


@pytest.fixture
def service(tmp_path: Path, clock: Clock) -> Iterator[Services]:
    """A service whose emails go to an outbox in the test's folder."""
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    service = make_service(url, clock, data_dir=tmp_path, outbox_dir=tmp_path / "outbox")
    yield service
    service.store.close()


def export(client: TestClient[Litestar], key: str, student: str = "stu_1") -> dict[str, Any]:
    response = client.get(f"{API}/students/{student}/export", headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def erase(client: TestClient[Litestar], key: str, student: str = "stu_1") -> httpx.Response:
    return client.delete(f"{API}/students/{student}", headers={"x-api-key": key})


def send_emails(service: Services) -> list[Path]:
    """What the email consumer sends for every stored event (once each); the outbox."""
    project(service)  # the contacts the email consumer reads
    emails = service.emails()
    for message in public_messages(service):
        emails.handle(message)
    return sorted(service.settings.outbox.glob("*.eml"))


def take_a_failed_attempt(client: TestClient[Litestar], tenant_key: str) -> str:
    record = start(client, tenant_key)
    submitted(client, record.session, zero_answers(draw(client, record)))
    return record.record_id


def test_the_export_holds_everything_about_the_student(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    assessed = take_a_failed_attempt(client, tenant_key)
    clock.advance(minutes=1)
    human, session = start_human(client, tenant_key)
    assert invite(client, session).status_code == 200
    start(client, service.access.issue_key("acme", "test"))  # the other mode: not exported
    project(service)
    assert len(send_emails(service)) == 2

    data = export(client, tenant_key)
    assert (data["studentId"], data["exportedAt"]) == ("stu_1", "2026-01-05T10:01:00.000Z")
    assert data["personalData"] == ADA
    assert [record["recordVerificationId"] for record in data["records"]] == [assessed, human]
    first, second = data["records"]
    assert first["student"] == {"studentId": "stu_1", **ADA}
    assert (first["method"], first["status"], first["personalDataErased"]) == (
        "assessment",
        "failed",
        False,
    )
    assert [attempt["attemptNumber"] for attempt in first["attempts"]] == [1]
    assert [skill["status"] for skill in first["skills"]] == ["rejected"]
    [result] = first["emails"]
    assert (result["type"], result["to"]) == ("result", "student")
    assert result["subject"].startswith("React: not passed, score ")
    assert result["sentAt"].endswith("Z")
    assert second["reviewer"] == {
        "name": "Grace Hopper",
        "company": "Navy",
        "endorsementType": "tech_lead",
    }
    [invitation] = second["emails"]
    assert (invitation["type"], invitation["to"]) == ("invitation", "reviewer")
    assert invitation["subject"] == "Endorsement request: React, Python"
    assert {skill["skillId"] for skill in data["skills"]} == {"skill_001", "skill_002"}
    assert export(client, tenant_key, "stu_unknown")["records"] == []


def test_erasure_answers_the_same_on_a_repeat_and_the_history_keeps_its_versions(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    record_id = take_a_failed_attempt(client, tenant_key)
    before = history(client, tenant_key, record_id)
    assert before["events"][0]["data"]["student"] == {"studentId": "stu_1", **ADA}
    clock.advance(hours=1)

    first = erase(client, tenant_key)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "success": True,
        "data": {
            "studentId": "stu_1",
            "recordsAffected": 1,
            "erasedAt": "2026-01-05T11:00:00.000Z",
        },
    }
    clock.advance(hours=1)
    assert erase(client, tenant_key).json() == first.json()

    after = history(client, tenant_key, record_id)
    versions = [(event["version"], event["type"]) for event in after["events"]]
    assert versions == [
        *((event["version"], event["type"]) for event in before["events"]),
        (len(before["events"]) + 1, "PersonalDataErased"),
    ]
    assert after["events"][0]["data"]["student"] == {"studentId": "stu_1", **ERASED}
    assert after["state"]["student"] == {"studentId": "stu_1", **ERASED}
    assert after["state"]["attempts"] == before["state"]["attempts"]
    assert after["state"]["skills"] == before["state"]["skills"]
    assert after["events"][1:-1] == before["events"][1:]
    assert export(client, tenant_key)["personalData"] is None


def test_erasure_is_isolated_by_tenant_and_mode(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    live = start(client, tenant_key).record_id
    test_key = service.access.issue_key("acme", "test")
    in_test = start(client, test_key).record_id
    other_key = service.access.issue_key("globex", "live")

    assert erase(client, other_key).json()["data"]["recordsAffected"] == 0
    assert erase(client, test_key).json()["data"]["recordsAffected"] == 1
    assert (
        history(client, tenant_key, live)["events"][0]["data"]["student"]["name"] == STUDENT["name"]
    )
    assert history(client, test_key, in_test)["state"]["student"]["name"] == "[erased]"
    assert export(client, tenant_key)["personalData"] == ADA
    assert export(client, other_key)["records"] == []


def test_a_later_verify_for_the_same_student_starts_a_new_data_subject(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    erased = start(client, tenant_key).record_id
    erase(client, tenant_key)
    clock.advance(minutes=1)
    body = {
        "student": {**STUDENT, "name": "Ada King"},
        "skills": [{"skillId": "skill_001", "name": "React"}],
    }
    again = client.post(f"{API}/verify", json=body, headers={"x-api-key": tenant_key})
    assert again.status_code == 201, again.text
    fresh = again.json()["data"]["recordVerificationId"]

    assert history(client, tenant_key, fresh)["state"]["student"]["name"] == "Ada King"
    assert history(client, tenant_key, erased)["state"]["student"]["name"] == "[erased]"
    data = export(client, tenant_key)
    assert data["personalData"] == {"name": "Ada King", "email": STUDENT["email"]}
    assert [r["student"]["name"] for r in data["records"]] == ["[erased]", "Ada King"]
    assert erase(client, tenant_key).json()["data"]["recordsAffected"] == 1  # the new one only
    assert history(client, tenant_key, fresh)["state"]["student"]["name"] == "[erased]"


def test_after_erasure_no_read_shows_the_name_or_email(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    assert invite(client, session).status_code == 200
    erase(client, tenant_key)
    headers = {"x-api-key": tenant_key}
    # Before the views have it, a record is read from the store; then from the record view.
    fallback = client.get(f"{API}/verifications/{record_id}", headers=headers)
    assert client.get(f"{API}/verifications", headers=headers).json()["data"]["items"] == []
    project(service)
    view = client.get(f"{API}/verifications/{record_id}", headers=headers).json()["data"]
    listed = client.get(f"{API}/verifications", headers=headers).json()["data"]["items"]
    page = client.get(PAGE, params={"reviewerToken": link_token(service, record_id)})
    for shown in (view, listed[0], fallback.json()["data"]):
        assert shown["reviewer"] == {
            "name": "[erased]",
            "company": "Navy",
            "endorsementType": "tech_lead",
        }
    assert page.json()["data"]["requesterInfo"] == {**ERASED, "externalStudentId": "stu_1"}
    assert {**page.json()["data"]["endorserInfo"], "company": None} == {**ERASED, "company": None}
    invited = history(client, tenant_key, record_id)["events"][1]["data"]["reviewer"]
    assert invited == {**ERASED, "company": "Navy", "endorsementType": "tech_lead"}
    for text in (str(view), str(listed), fallback.text, page.text, str(export(client, tenant_key))):
        for personal in (STUDENT["name"], STUDENT["email"], GRACE["name"], GRACE["email"]):
            assert personal not in text


def test_an_erased_record_takes_no_new_reviewer(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    erase(client, tenant_key)
    events = len(history(client, tenant_key, record_id)["events"])
    by_tenant = invite(client, tenant_key, recordVerificationId=record_id)
    message = assert_error(by_tenant, 410, "PERSONAL_DATA_ERASED")
    assert message == "this record's personal data was erased: start a new verification"
    assert_error(invite(client, session), 401, "UNAUTHORIZED")  # the session ended with it
    assert len(history(client, tenant_key, record_id)["events"]) == events


def test_no_email_goes_to_an_erased_student_and_the_outbox_keeps_none_of_theirs(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record = start(client, tenant_key)
    submitted(client, record.session, zero_answers(draw(client, record)))
    _, session = start_human(client, tenant_key)
    assert invite(client, session).status_code == 200
    assert len(send_emails(service)) == 2
    other = start(client, tenant_key)  # a second attempt and invitation, not yet emailed
    submitted(client, other.session, zero_answers(draw(client, other)))
    assert invite(client, session, name="Alan Turing", email="alan@example.com").status_code == 200

    erase(client, tenant_key)
    assert list(service.settings.outbox.glob("*.eml")) == []  # the copies kept are gone
    answers = zero_answers(generated(client, tenant_key, other.record_id)["questions"])
    submitted(client, tenant_key, answers, other.record_id)  # scored after it, by the tenant
    assert send_emails(service) == []  # and nothing new goes to them or their reviewer


def test_an_invitations_idempotent_answer_keeps_no_email(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    _, session = start_human(client, tenant_key)
    headers = {"x-api-key": session, "Idempotency-Key": "invite-1"}
    first = client.post(f"{API}/humanverification/reviewer", json=GRACE, headers=headers)
    again = client.post(f"{API}/humanverification/reviewer", json=GRACE, headers=headers)
    assert (first.status_code, again.json()) == (200, first.json())
    assert again.json()["data"]["reviewerEmail"] == GRACE["email"]
    rows = service.store.recorder.select_notifications(start=1, limit=1000)
    assert not any(GRACE["email"].encode() in row.state for row in rows)
    assert not any(GRACE["name"].encode() in row.state for row in rows)


def test_a_session_token_can_neither_export_nor_erase(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    record = start(client, tenant_key)
    headers = {"x-api-key": record.session}
    assert_error(client.get(f"{API}/students/stu_1/export", headers=headers), 401, "UNAUTHORIZED")
    assert_error(client.delete(f"{API}/students/stu_1", headers=headers), 401, "UNAUTHORIZED")
    assert_error(client.delete(f"{API}/students/stu_1"), 401, "UNAUTHORIZED")


def test_erasing_a_student_never_seen_answers_nothing_erased_and_the_same_again(
    client: TestClient[Litestar], tenant_key: str, clock: Clock
) -> None:
    first = erase(client, tenant_key, "stu_never")
    clock.advance(minutes=5)
    assert first.json()["data"] == {
        "studentId": "stu_never",
        "recordsAffected": 0,
        "erasedAt": "2026-01-05T10:00:00.000Z",
    }
    assert erase(client, tenant_key, "stu_never").json() == first.json()


def test_sources_and_proof_links_are_shown_while_held_and_erased_with_the_student(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    """They name the student through their work: sealed with the name and email, shown to
    the tenant and the reviewer while held, gone everywhere once the student is erased, and
    never on a public message."""
    record_id, session = start_human(client, tenant_key)
    assert invite(client, session).status_code == 200
    token = link_token(service, record_id)
    work = [SOURCE["title"], SOURCE["url"], SKILLS[0]["proofUrls"][0]]

    def reads() -> dict[str, str]:
        return {
            "history": str(history(client, tenant_key, record_id)),
            "export": str(export(client, tenant_key)),
            "verify page": client.get(PAGE, params={"reviewerToken": token}).text,
            "review page": client.get(f"/review/{token}").text,
        }

    page = client.get(PAGE, params={"reviewerToken": token}).json()["data"]
    assert page["sources"] == [SOURCE]
    assert [skill["proofUrls"] for skill in page["skills"]] == [SKILLS[0]["proofUrls"], []]
    started = history(client, tenant_key, record_id)["events"][0]["data"]
    assert (started["sources"], started["skills"]) == ([SOURCE], SKILLS)
    [exported] = export(client, tenant_key)["records"]
    assert exported["sources"] == [SOURCE]
    assert exported["proofUrls"] == {"skill_001": SKILLS[0]["proofUrls"], "skill_002": []}
    before = reads()
    assert all(
        text in before[read] for read in ("history", "export", "verify page") for text in work
    )
    [message] = [m for m in public_messages(service) if m["type"] == "VerificationStarted"]
    assert not [text for text in work if text in str(message)]

    erase(client, tenant_key)
    after = reads()
    left = {read: [t for t in work if t in text] for read, text in after.items()}
    assert left == {read: [] for read in after}
