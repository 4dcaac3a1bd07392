"""The human path over HTTP: start with method human_endorsement, invite a reviewer, the
reviewer reads what to judge and endorses; its errors in SPEC's order, recording nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    ENDORSE,
    GENERATE,
    GRACE,
    PAGE,
    REVIEWER,
    SKILLS,
    SOURCE,
    VERIFY,
    assert_error,
    endorse,
    event_count,
    invite,
    start,
    start_human,
)
from tests.support import ACME, STUDENT, Clock, link_token, project


def test_a_reviewer_endorses_the_skills_they_saw(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    invited = invite(client, session)
    assert invited.status_code == 200, invited.text
    assert invited.json()["data"] == {
        "recordVerificationId": record_id,
        "reviewerEmail": "grace@example.com",
        "expiresAt": "2026-01-19T10:00:00.000Z",
        "webhook": {"sent": False, "status": "no_endpoint"},
    }
    link = link_token(service, record_id)

    page = client.get(PAGE, params={"reviewerToken": link})
    assert page.status_code == 200, page.text
    assert page.json()["data"] == {
        "recordVerificationId": record_id,
        "endorsementType": "tech_lead",
        "expiresAt": "2026-01-19T10:00:00.000Z",
        "endorserInfo": {"name": "Grace Hopper", "company": "Navy", "email": "grace@example.com"},
        "requesterInfo": {
            "name": STUDENT["name"],
            "email": STUDENT["email"],
            "externalStudentId": STUDENT["studentId"],
        },
        "sources": [SOURCE],
        "skills": [
            {"skillId": "skill_001", "name": "React", "proofUrls": ["https://github.com/ada/app"]},
            {"skillId": "skill_002", "name": "Python", "proofUrls": []},
        ],
    }

    endorsed = endorse(client, link, {"skillIds": ["skill_002"]})
    assert endorsed.status_code == 200, endorsed.text
    body = endorsed.json()
    assert body["message"] == "Skills verified successfully"
    data = body["data"]
    assert (data["skillsVerified"], data["skillsRejected"], data["skillsUpdated"]) == (1, 1, 2)
    assert [(s["skillId"], s["status"], s["verifiedBy"]) for s in data["verifiedSkills"]] == [
        ("skill_001", "rejected", None),
        ("skill_002", "verified", "human_endorsement"),
    ]
    history = client.get(
        f"{API}/verifications/{record_id}/history", headers={"x-api-key": tenant_key}
    )
    events = history.json()["data"]["events"]
    assert [e["type"] for e in events] == [
        "VerificationStarted",
        "ReviewerInvited",
        "SkillsEndorsed",
        "Locked",
    ]
    assert events[0]["data"]["method"] == "human_endorsement"
    assert "tokenHash" not in events[1]["data"]
    assert link not in history.text
    assert history.json()["data"]["state"]["isLocked"] is True


def test_a_second_invitation_replaces_the_link_and_fires_no_webhook(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, _ = start_human(client, tenant_key)
    assert invite(client, tenant_key, recordVerificationId=record_id).status_code == 200
    again = invite(client, tenant_key, recordVerificationId=record_id, name="Alan Turing")
    assert again.json()["data"]["webhook"] == {"sent": False, "status": "already_initiated"}
    first, second = link_token(service, record_id, 1), link_token(service, record_id, 2)
    assert_error(client.get(PAGE, params={"reviewerToken": first}), 401, "INVALID_REVIEWER_TOKEN")
    page = client.get(PAGE, params={"reviewerToken": second})
    assert page.json()["data"]["endorserInfo"]["name"] == "Alan Turing"


def test_the_sixth_invitation_is_rate_limited(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    for _ in range(5):
        assert invite(client, session).status_code == 200
    assert_error(invite(client, session), 429, "RATE_LIMITED")
    assert event_count(client, tenant_key, record_id) == 6


def test_the_reviewer_calls_check_in_spec_order_and_record_nothing(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
) -> None:
    record_id, session = start_human(client, tenant_key)
    link = link_token(service, record_id)
    assert_error(endorse(client, None, {"skillIds": ["x"]}), 400, "MISSING_REVIEWER_TOKEN")
    assert_error(endorse(client, link, {}), 401, "INVALID_REVIEWER_TOKEN")  # not invited yet
    assert invite(client, session).status_code == 200
    for forged in ("rvw_nope", link[:-2] + "AA", "rvw_\x00", "x" * 500):
        assert_error(endorse(client, forged, {}), 401, "INVALID_REVIEWER_TOKEN")
    assert_error(endorse(client, link, {}), 400, "MISSING_SKILL_IDS")
    assert_error(endorse(client, link, {"skillIds": []}), 400, "MISSING_SKILL_IDS")
    message = assert_error(
        endorse(client, link, {"skillIds": ["skill_009"]}), 400, "VALIDATION_ERROR"
    )
    assert "skill_009" in message
    assert event_count(client, tenant_key, record_id) == 2

    clock.advance(days=14)
    assert_error(endorse(client, link, {}), 410, "REVIEWER_TOKEN_EXPIRED")
    assert_error(client.get(PAGE, params={"reviewerToken": link}), 410, "REVIEWER_TOKEN_EXPIRED")
    assert invite(client, session).status_code == 200
    link = link_token(service, record_id, 2)
    assert endorse(client, link, {"skillIds": ["skill_001"]}).status_code == 200
    assert_error(endorse(client, link, {}), 409, "ALREADY_VERIFIED")
    assert_error(client.get(PAGE, params={"reviewerToken": link}), 409, "ALREADY_VERIFIED")
    assert_error(invite(client, session), 409, "ALREADY_VERIFIED")


def test_each_path_refuses_the_others_calls(client: TestClient[Litestar], tenant_key: str) -> None:
    human_id, human_session = start_human(client, tenant_key)
    generate = client.post(GENERATE, json={}, headers={"x-api-key": human_session})
    assert_error(generate, 409, "WRONG_METHOD")
    assessment = start(client, tenant_key)
    assert_error(invite(client, assessment.session), 409, "WRONG_METHOD")
    assert event_count(client, tenant_key, human_id) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"method": "oracle"}, "method"),
        ({"sources": [{**SOURCE, "type": "hobby"}]}, "sources[0].type"),
        ({"sources": [{**SOURCE, "startDate": "2025-02-30"}]}, "sources[0].startDate"),
        ({"sources": [{**SOURCE, "url": "ftp://example.com"}]}, "sources[0].url"),
        ({"sources": [SOURCE] * 21}, "sources"),
        ({"sources": [{**SOURCE, "technologies": ["React"] * 21}]}, "sources[0].technologies"),
        ({"sources": [{**SOURCE, "technologies": ["x" * 41]}]}, "sources[0].technologies[0]"),
        ({"sources": [{**SOURCE, "technologies": [""]}]}, "sources[0].technologies[0]"),
        ({"sources": [{**SOURCE, "technologies": ["Re\u0000act"]}]}, "sources[0].technologies[0]"),
        (
            {"skills": [{**SKILLS[0], "proofUrls": ["javascript:alert(1)"]}]},
            "skills[0].proofUrls[0]",
        ),
        ({"skills": [{**SKILLS[0], "proofUrls": ["https://e.com"] * 6}]}, "skills[0].proofUrls"),
    ],
)
def test_verify_refuses_bad_methods_sources_and_proof_links(
    client: TestClient[Litestar], tenant_key: str, body: dict[str, Any], field: str
) -> None:
    request = {"student": STUDENT, "skills": SKILLS, "method": "human_endorsement", **body}
    response = client.post(VERIFY, json=request, headers={"x-api-key": tenant_key})
    assert assert_error(response, 400, "VALIDATION_ERROR").startswith(field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endorsementType": "friend"}, "endorsementType"),
        ({"email": "not-an-address"}, "email"),
        ({"name": "Grace\r\nBcc: x@y.z"}, "name"),
    ],
)
def test_invite_refuses_bad_fields(
    client: TestClient[Litestar], tenant_key: str, body: dict[str, Any], field: str
) -> None:
    _, session = start_human(client, tenant_key)
    assert assert_error(invite(client, session, **body), 400, "VALIDATION_ERROR").startswith(field)


def test_a_human_record_reads_the_same_from_the_store_and_the_views(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    headers = {"x-api-key": tenant_key}
    path = f"{API}/verifications/{record_id}"
    project(service)
    pending = client.get(path, headers=headers).json()["data"]
    assert (pending["method"], pending["status"], pending["reviewer"]) == (
        "human_endorsement",
        "pending",
        None,
    )
    invite(client, session)
    project(service)
    in_review = client.get(path, headers=headers).json()["data"]
    assert in_review == service.records.record(ACME, record_id)  # the store's own fold
    assert (in_review["status"], in_review["reviewer"]) == (
        "in_review",
        {"name": "Grace Hopper", "company": "Navy", "endorsementType": "tech_lead"},
    )
    endorse(client, link_token(service, record_id), {"skillIds": ["skill_001"]})
    project(service)
    done = client.get(path, headers=headers).json()["data"]
    assert (done["status"], done["isLocked"], done["attempts"]) == ("completed", True, [])
    listed = client.get(f"{API}/verifications?status=completed", headers=headers).json()
    assert [item["recordVerificationId"] for item in listed["data"]["items"]] == [record_id]
    skills = client.get(f"{API}/students/{STUDENT['studentId']}/skills", headers=headers)
    assert [(s["skillId"], s["status"], s["verifiedBy"]) for s in skills.json()["data"]] == [
        ("skill_001", "verified", "human_endorsement"),
        ("skill_002", "rejected", None),
    ]


def test_a_retried_invitation_or_endorsement_with_its_key_answers_as_the_first(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    record_id, session = start_human(client, tenant_key)
    once = {"x-api-key": session, "idempotency-key": "invite-1"}
    first = client.post(REVIEWER, json=GRACE, headers=once)
    again = client.post(REVIEWER, json=GRACE, headers=once)
    assert (first.status_code, again.json()) == (200, first.json())
    link = link_token(service, record_id)
    body = {"skillIds": ["skill_001"]}
    key = {"idempotency-key": "endorse-1"}
    done = client.post(ENDORSE, params={"reviewerToken": link}, json=body, headers=key)
    retried = client.post(ENDORSE, params={"reviewerToken": link}, json=body, headers=key)
    assert (done.status_code, retried.status_code, retried.json()) == (200, 200, done.json())
    assert event_count(client, tenant_key, record_id) == 4  # started, invited, endorsed, lock
    assert_error(endorse(client, link, body), 409, "ALREADY_VERIFIED")  # no key: used
    reused = {"skillIds": ["skill_002"]}
    other = client.post(ENDORSE, params={"reviewerToken": link}, json=reused, headers=key)
    assert_error(other, 422, "IDEMPOTENCY_KEY_REUSED")
