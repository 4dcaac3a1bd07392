"""A record over time: its history as of a moment, ten pending skills on every read, expiry."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import TestClient

from domain.questions import parse_bank
from entrypoints.bootstrap import Services
from projections.runner import MODELS, catch_up
from projections.views import open_live_view
from tests.api.http import (
    API,
    error_code,
    event_types,
    generate,
    generated,
    history,
    start,
    submit,
    submitted,
)
from tests.support import REACT, STUDENT, Clock, answer_sheet

# -- history as of a moment ----------------------------------------------------------------


def test_history_as_of_a_moment(
    client: TestClient[Litestar], service: Services, tenant_key: str, clock: Clock
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


def skills_with_banks(service: Services, count: int) -> list[dict[str, str]]:
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
    client: TestClient[Litestar], service: Services, tenant_key: str
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
