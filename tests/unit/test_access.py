"""Tenant API keys as aggregates: a revoked key matches nothing, and stays revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.access import Access
from domain.access import ApiKey
from domain.errors import InvalidReviewerToken, MissingReviewerToken
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
