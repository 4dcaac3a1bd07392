"""Session tokens: derived from the tenant key and the record, so a replayed POST /verify
answers with the same token, and only their hashes are stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from uuid import UUID

from application.access import (
    digest,
    new_session_token,
    reviewer_key,
    reviewer_record,
    reviewer_token,
    session_key,
)

EVENTS = Path(__file__).parents[1] / "fixtures" / "events-2026-12-02.json"
RECORD = UUID("1ccb1037-52ee-423b-bfe6-60cd81488a45")
TENANT_KEY = "ak_live_" + "K" * 43


def test_the_tokens_issued_on_2026_12_02_still_match_their_stored_hashes() -> None:
    # The fixture's records were started by callers with these session keys.
    session_keys = {"live": b"acme-fixture", "test": b"acme-test-fixture"}
    started = [
        (UUID(row["originator_id"]), json.loads(row["state"]))
        for row in json.loads(EVENTS.read_text())
        if row["topic"].endswith(":Assessment.VerificationStarted")
    ]
    assert len(started) == 4
    for record, fields in started:
        token = new_session_token(session_keys[fields["mode"]], record)
        assert digest(token) == fields["session_token_hash"]


def test_a_token_is_derived_with_hmac_sha256_from_the_tenant_key() -> None:
    # Computed here with plain hmac: the same key and record give the same token forever.
    label_key = hmac.new(TENANT_KEY.encode(), b"assess:session-tokens", hashlib.sha256).digest()
    mac = hmac.new(label_key, RECORD.bytes, hashlib.sha256).digest()
    expected = f"sess_{RECORD.hex}_{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    assert session_key(TENANT_KEY) == label_key
    assert new_session_token(session_key(TENANT_KEY), RECORD) == expected
    assert re.fullmatch(r"sess_[0-9a-f]{32}_[A-Za-z0-9_-]{43}", expected)


def test_another_tenant_key_or_record_gives_another_token() -> None:
    token = new_session_token(session_key(TENANT_KEY), RECORD)
    other_key = new_session_token(session_key(TENANT_KEY[:-1] + "L"), RECORD)
    other_record = new_session_token(session_key(TENANT_KEY), UUID(int=RECORD.int + 1))
    assert len({token, other_key, other_record}) == 3
    assert other_key.split("_")[1] == RECORD.hex


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
