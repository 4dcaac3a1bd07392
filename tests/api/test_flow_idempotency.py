"""Idempotency-Key over HTTP: a retried verify, generate or submit is recorded once, a reuse
refused."""

from __future__ import annotations

import hashlib

import msgspec
from litestar import Litestar
from litestar.testing import TestClient

from api.schemas import VerifyRequest
from domain.access import IdempotentResponse
from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    error_code,
    event_types,
    generated,
    history,
    start,
    submit,
)
from tests.support import REACT, STUDENT, answer_sheet

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


def stored_states(service: Services) -> list[bytes]:
    """The state of every event in the store, as stored."""
    return [n.state for n in service.store.recorder.select_notifications(start=1, limit=10_000)]


def test_an_idempotent_verify_stores_no_session_token_and_replays_a_working_one(
    client: TestClient[Litestar], service: Services, tenant_key: str
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
    client: TestClient[Litestar], service: Services, tenant_key: str
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


def test_generate_retried_with_the_same_idempotency_key_answers_as_the_first(
    client: TestClient[Litestar], tenant_key: str
) -> None:
    """The first answer (alreadyGenerated false) is the one replayed, not a later read of
    the pending set; another body with the key is refused."""
    record_id, _ = start(client, tenant_key)
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "generate-1"}
    body = {"recordVerificationId": record_id}
    first = client.post(f"{API}/assessment/generate", json=body, headers=headers)
    again = client.post(f"{API}/assessment/generate", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["data"]["alreadyGenerated"] is False
    assert event_types(history(client, tenant_key, record_id)).count("QuestionsGenerated") == 1
    other, _ = start(client, tenant_key)
    reused = client.post(
        f"{API}/assessment/generate", json={"recordVerificationId": other}, headers=headers
    )
    assert error_code(reused) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert "QuestionsGenerated" not in event_types(history(client, tenant_key, other))


def test_submit_retried_with_the_same_idempotency_key_is_recorded_once(
    client: TestClient[Litestar], service: Services, tenant_key: str
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


def test_a_fingerprint_confirms_no_guess_of_the_body_and_earlier_ones_still_replay(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    """Hashing a guessed body (a name and email) finds nothing in the store; a first answer
    kept with an unkeyed fingerprint, as before they were keyed, still replays."""
    body = {"student": STUDENT, "skills": [REACT]}
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "verify-guess"}
    first = client.post(f"{API}/verify", json=body, headers=headers)
    assert first.status_code == 201
    decoded = msgspec.json.encode(
        msgspec.json.decode(msgspec.json.encode(body), type=VerifyRequest)
    )
    guess = hashlib.sha256(f"{API}/verify".encode() + b"\n" + decoded).hexdigest()
    assert all(guess.encode() not in state for state in stored_states(service))

    then = {
        "recordVerificationId": f"ver_live_{'0' * 32}",
        "sessionToken": "sess_kept_then",
        "expiresAt": "2026-12-01T00:00:00.000Z",
        "expiresIn": 60,
    }
    service.store.save(IdempotentResponse.record("tenant:acme:live", "before", guess, then))
    headers = {"x-api-key": tenant_key, "Idempotency-Key": "before"}
    replay = client.post(f"{API}/verify", json=body, headers=headers)
    assert (replay.status_code, replay.json()["data"]) == (201, then)
