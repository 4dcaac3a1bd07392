"""Who may act on which record: unknown keys, sessions, a tenant key without an id, not found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.bootstrap import Services
from tests.api.http import (
    API,
    GENERATE,
    ONE_ANSWER,
    SUBMIT,
    VERIFY,
    VERIFY_BODY,
    Record,
    assert_error,
    event_count,
    post,
    start,
)
from tests.support import Clock

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
    service: Services,
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
