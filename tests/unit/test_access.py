"""Tenant API keys as aggregates: a revoked key matches nothing, and stays revoked."""

from __future__ import annotations

from domain.access import ApiKey


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
