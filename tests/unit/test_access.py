"""Tenant API keys as aggregates: a revoked key matches nothing, and stays revoked."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from application.access import Access, digest
from domain.access import ApiKey, IdempotentResponse
from domain.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    InvalidReviewerToken,
    MissingReviewerToken,
)
from tests.support import make_service


def test_a_revoked_key_matches_nothing_and_records_when() -> None:
    key = ApiKey.issue("acme", "live", "hash")
    assert key.matches("hash")
    assert not key.matches("other")
    assert key.revoked_at is None
    key.revoke()
    assert not key.matches("hash")
    assert key.revoked_at is not None
    assert key.revoked_at >= key.created_on


def test_revoking_twice_records_one_revocation() -> None:
    key = ApiKey.issue("acme", "live", "hash")
    key.revoke()
    first = key.revoked_at
    key.revoke()
    assert [type(e).__name__ for e in key.collect_events()] == ["Issued", "Revoked"]
    assert key.revoked_at == first


def test_a_reviewer_is_told_the_tenant_by_the_display_name_of_the_key_that_started(
    tmp_path: Path,
) -> None:
    access: Access = make_service(f"sqlite:///{tmp_path}/store.sqlite3").access
    named = ApiKey.id_for(digest(access.issue_key("acme", "live", " Acme   Academy ")))
    plain = ApiKey.id_for(digest(access.issue_key("acme", "live")))
    assert access.asker(named, "acme") == "Acme Academy"
    assert access.asker(plain, "acme") == "acme"
    assert access.asker(None, "acme") == "acme"  # a record started before keys had ids
    assert access.asker(UUID(int=9), "acme") == "acme"  # a key the store does not hold


def test_a_keys_display_name_is_one_line_of_up_to_100_printable_characters(
    tmp_path: Path,
) -> None:
    access: Access = make_service(f"sqlite:///{tmp_path}/store.sqlite3").access
    longest = ApiKey.id_for(digest(access.issue_key("acme", "live", "n" * 100)))
    assert access.asker(longest, "acme") == "n" * 100
    for name in ("n" * 101, "Acme\x00Academy", "\u202eymedacA"):
        with pytest.raises(InvalidInput) as refused:
            access.issue_key("acme", "live", name)
        assert str(refused.value) == "name: 1 to 100 printable characters"


def test_an_idempotency_key_replays_its_first_result_to_the_same_request_only() -> None:
    first = IdempotentResponse.record("acme", "key-1", "keyed", {"recordId": "ver_1"})
    assert first.replay("keyed") == {"recordId": "ver_1"}
    assert first.replay("keyed", unkeyed="old") == {"recordId": "ver_1"}
    for fingerprint, unkeyed in (("other", None), ("other", "also other")):
        with pytest.raises(IdempotencyKeyReused) as refused:
            first.replay(fingerprint, unkeyed)
        assert str(refused.value) == "this Idempotency-Key was used with a different request"


def test_a_result_recorded_before_fingerprints_were_keyed_replays_by_its_old_fingerprint() -> None:
    stored_before = IdempotentResponse.record("acme", "key-1", "unkeyed", {"recordId": "ver_1"})
    assert stored_before.replay("keyed", unkeyed="unkeyed") == {"recordId": "ver_1"}


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        (None, MissingReviewerToken, "reviewerToken is required"),
        ("", MissingReviewerToken, "reviewerToken is required"),
        ("rvw_nonsense", InvalidReviewerToken, "the reviewer link is unknown or was replaced"),
        (
            f"rvw_{'0' * 32}_{'A' * 43}",
            InvalidReviewerToken,
            "the reviewer link is unknown or was replaced",
        ),
    ],
    ids=["none", "empty", "not a token", "no such record"],
)
def test_a_reviewer_token_that_names_no_record_is_refused_with_what_the_api_shows(
    tmp_path: Path, token: str | None, error: type[Exception], message: str
) -> None:
    access: Access = make_service(f"sqlite:///{tmp_path}/store.sqlite3").access
    with pytest.raises(error) as refused:
        access.reviewer(token)
    assert str(refused.value) == message
