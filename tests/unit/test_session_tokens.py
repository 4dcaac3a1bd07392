"""Session tokens: derived under a server-side key (from the master key) from the record
and the tenant key's id, so a replayed POST /verify answers with the same token, no tenant
key can make one, and only their hashes are stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from uuid import UUID

from application.access import (
    digest,
    new_session_token,
    reviewer_key,
    reviewer_record,
    reviewer_token,
    session_key,
)

MASTER = bytes(range(32))
RECORD = UUID("1ccb1037-52ee-423b-bfe6-60cd81488a45")
API_KEY = UUID("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
TENANT_KEY = "ak_live_" + "K" * 43


def test_a_token_is_derived_with_hmac_sha256_under_the_master_key() -> None:
    # Computed here with plain hmac: the same master key, record and key give the same token.
    label_key = hmac.new(MASTER, b"assess:session-tokens:v2", hashlib.sha256).digest()
    mac = hmac.new(label_key, RECORD.bytes + API_KEY.bytes, hashlib.sha256).digest()
    expected = f"sess_{RECORD.hex}_{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    assert session_key(MASTER) == label_key
    assert new_session_token(session_key(MASTER), RECORD, API_KEY) == expected
    assert re.fullmatch(r"sess_[0-9a-f]{32}_[A-Za-z0-9_-]{43}", expected)


def test_another_master_key_api_key_or_record_gives_another_token() -> None:
    token = new_session_token(session_key(MASTER), RECORD, API_KEY)
    other_master = new_session_token(session_key(MASTER[::-1]), RECORD, API_KEY)
    other_key = new_session_token(session_key(MASTER), RECORD, UUID(int=API_KEY.int + 1))
    other_record = new_session_token(session_key(MASTER), UUID(int=RECORD.int + 1), API_KEY)
    assert len({token, other_master, other_key, other_record}) == 4
    assert other_key.split("_")[1] == RECORD.hex


def test_the_tenant_key_itself_derives_no_token() -> None:
    """The earlier derivation (under the tenant key) gives a token that matches nothing."""
    legacy = hmac.new(TENANT_KEY.encode(), b"assess:session-tokens", hashlib.sha256).digest()
    token = new_session_token(session_key(MASTER), RECORD, API_KEY)
    assert token != new_session_token(legacy, RECORD, API_KEY)
    assert token != new_session_token(session_key(TENANT_KEY.encode()), RECORD, API_KEY)


def test_a_credential_is_stored_as_its_sha256() -> None:
    assert digest(TENANT_KEY) == hashlib.sha256(TENANT_KEY.encode()).hexdigest()


def test_a_reviewer_link_is_derived_the_same_way_always() -> None:
    """Links already emailed must keep working: the derivation from the master key, the
    record and the invitation number (four bytes, big-endian) is fixed by this value."""
    record = UUID("0123456789abcdef0123456789abcdef")
    token = reviewer_token(reviewer_key(bytes(range(32))), record, 258)
    assert (
        token == "rvw_0123456789abcdef0123456789abcdef_YdT7iD2FnZbqHx5A3QcPXVC1DEeMJzkKl0D659BI7Sw"
    )
    assert reviewer_record(token) == record
