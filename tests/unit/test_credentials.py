"""A record's credentials, by the domain alone: issued once for verified skills of a locked
record, never after a revocation or an erasure; revoked once; a status list's bits."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
from datetime import timedelta
from uuid import UUID

import pytest

from application.access import credential_key
from application.credentials import encoded_list
from domain import errors
from domain.assessment import Assessment
from domain.credentials import (
    LIST_SIZE,
    MAX_REASON,
    HeldCredential,
    Issuance,
    IssuedCredential,
    StatusPlace,
    credential_id,
)
from domain.values import Skill
from tests.support import START, new_record

SKILLS = [Skill("skill_001", "React"), Skill("skill_002", "Python")]
ISSUANCE = Issuance("did:web:assess.example.com", "Skill assessments", "https://assess.example.com")
REVIEWER = "tech_lead"
KEY = b"k" * 32
ISSUED_ONCE = "^credentials are issued once, for verified skills only$"


def endorsed(*skill_ids: str) -> Assessment:
    """A human record whose reviewer endorsed these skills (so it is locked)."""
    record = new_record(SKILLS, method="human_endorsement")
    expires = START + timedelta(days=14)
    record.invite(
        "Navy", REVIEWER, lambda s, v: record.student.contact, lambda n: f"h{n}", expires, START
    )
    record.endorse("h1", list(skill_ids), START)
    return record


def issue_all(record: Assessment) -> list[IssuedCredential]:
    issued = [
        IssuedCredential(credential_id(KEY, record.id, skill.skill_id), skill.skill_id, 1, place)
        for place, skill in enumerate(record.uncredentialed)
    ]
    record.issue(issued, ISSUANCE, START)
    return issued


def test_a_locked_record_issues_one_credential_per_verified_skill_once() -> None:
    record = endorsed("skill_002")
    assert [skill.skill_id for skill in record.uncredentialed] == ["skill_002"]
    [issued] = issue_all(record)
    assert issued.credential_id == credential_id(KEY, record.id, "skill_002")
    assert record.uncredentialed == []
    assert record.credentials == [HeldCredential(issued, ISSUANCE, START)]
    with pytest.raises(ValueError, match=ISSUED_ONCE):
        record.issue([issued], ISSUANCE, START)
    assert type(record.collect_events()[-1]).__name__ == "CredentialsIssued"


def test_an_open_record_has_nothing_to_issue() -> None:
    record = new_record(SKILLS, method="human_endorsement")
    assert record.uncredentialed == []
    with pytest.raises(ValueError, match=ISSUED_ONCE):
        record.issue(
            [IssuedCredential(credential_id(KEY, record.id, "skill_001"), "skill_001", 1, 0)],
            ISSUANCE,
            START,
        )


def test_a_revocation_turns_the_verified_skills_to_revoked_once() -> None:
    record = endorsed("skill_001")
    assert record.revoke("fraud", START) is True
    assert [(s.skill_id, s.status, s.verified) for s in record.skill_status.values()] == [
        ("skill_001", "revoked", False),
        ("skill_002", "rejected", False),
    ]
    assert record.skill_status["skill_001"].verified_at is not None  # when it was verified
    assert record.revoke("again", START) is False
    assert (record.revoked, record.revoked_at) == ("fraud", START)
    assert record.credentials_revoked
    assert record.uncredentialed == []  # nothing is issued after a revocation


def test_a_record_with_nothing_verified_cannot_be_revoked() -> None:
    with pytest.raises(errors.NotVerified) as refused:
        new_record(SKILLS).revoke("fraud", START)
    message = "no skill of this record is verified: there is nothing to revoke"
    assert str(refused.value) == message


@pytest.mark.parametrize("reason", ["", "   ", "x" * (MAX_REASON + 1)])
def test_a_revocation_needs_a_short_reason(reason: str) -> None:
    with pytest.raises(errors.InvalidInput, match="reason"):
        endorsed("skill_001").revoke(reason, START)


def test_a_reason_of_the_longest_length_revokes() -> None:
    assert endorsed("skill_001").revoke("x" * MAX_REASON, START) is True


def test_an_erased_record_issues_nothing() -> None:
    record = endorsed("skill_001")
    record.erase_personal_data(START)
    assert record.credentials_revoked
    assert record.uncredentialed == []
    assert record.erased_at == START


def test_a_credential_id_is_the_same_for_the_same_record_and_skill_only() -> None:
    record = UUID(int=1)
    first = credential_id(KEY, record, "skill_001")
    assert first == credential_id(KEY, record, "skill_001")
    assert first != credential_id(KEY, record, "skill_002")
    assert first != credential_id(KEY, UUID(int=2), "skill_001")
    assert first != credential_id(b"another key", record, "skill_001")  # not from the id alone
    assert first.version == 4  # a well-formed random-looking UUID (RFC 9562), as urn:uuid


def test_the_key_of_credential_ids_is_derived_the_same_way_always() -> None:
    """Issued credentials' ids are in emails and wallets: the derivation from the master key
    may never change (computed here with plain hmac)."""
    master = bytes(range(32))
    expected = hmac.new(master, b"assess:credential-ids", hashlib.sha256).digest()
    assert credential_key(master) == expected


def test_a_place_is_on_a_list_and_within_it() -> None:
    place = StatusPlace.take(2, LIST_SIZE - 1, UUID(int=3))
    assert place.id == StatusPlace.id_for(2, LIST_SIZE - 1) != StatusPlace.id_for(1, LIST_SIZE - 1)
    first = StatusPlace.take(1, 0, UUID(int=4))  # the first place of the first list
    assert (first.status_list, first.status_index, first.credential_id) == (1, 0, UUID(int=4))
    [taken] = first.collect_events()
    assert isinstance(taken, StatusPlace.Taken)
    assert (taken.status_list, taken.status_index, taken.credential_id) == (1, 0, UUID(int=4))
    for status_list, index in ((0, 0), (1, -1), (1, LIST_SIZE)):
        with pytest.raises(ValueError, match="no place"):
            StatusPlace.take(status_list, index, UUID(int=3))


def decoded(encoded: str) -> bytes:
    assert encoded[0] == "u"
    assert "=" not in encoded
    return gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded) % 4)))


def test_a_status_lists_bits_run_from_the_highest_bit_of_the_first_byte() -> None:
    bits = decoded(encoded_list([0, 9, LIST_SIZE - 1]))
    assert len(bits) == LIST_SIZE // 8
    assert (bits[0], bits[1], bits[-1]) == (0x80, 0x40, 0x01)
    assert sum(bin(byte).count("1") for byte in bits) == 3
    assert encoded_list([9, 0]) == encoded_list([0, 9])  # the same bits, the same text
    assert decoded(encoded_list([])) == bytes(LIST_SIZE // 8)
