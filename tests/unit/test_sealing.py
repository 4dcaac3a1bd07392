"""Sealing a contact: AES-GCM under a subject's key, bound to its event; keys wrapped under
a key derived from the master key."""

from __future__ import annotations

import binascii
from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag

from application.access import reviewer_key
from domain.values import Contact, Sealed
from infrastructure.sealing import (
    new_subject_key,
    seal,
    unseal,
    unwrap,
    wrap,
    wrapping_key,
)

MASTER = bytes(range(32))
ADA = Contact("Ada Lovelace", "ada@example.com")


def test_a_contact_opens_only_for_the_event_it_was_sealed_for() -> None:
    key, record = new_subject_key(), uuid4()
    sealed = seal(key, "subject-1", ADA, record, 1)
    assert unseal(key, sealed, record, 1) == ADA
    for other_record, version in [(uuid4(), 1), (record, 2)]:
        with pytest.raises(InvalidTag):
            unseal(key, sealed, other_record, version)
    with pytest.raises(InvalidTag):
        unseal(key, Sealed("subject-2", sealed.box), record, 1)
    with pytest.raises(InvalidTag):
        unseal(new_subject_key(), sealed, record, 1)


def test_the_box_holds_no_clear_text_and_differs_each_time() -> None:
    key, record = new_subject_key(), uuid4()
    boxes = {seal(key, "subject-1", ADA, record, 1).box for _ in range(3)}
    assert len(boxes) == 3
    assert not any("Ada" in box or "ada@" in box for box in boxes)


def test_a_subject_key_unwraps_under_the_same_master_and_subject_only() -> None:
    key = new_subject_key()
    assert len(key) == 32
    wrapped = wrap(wrapping_key(MASTER), "subject-1", key)
    assert unwrap(wrapping_key(MASTER), "subject-1", wrapped) == key
    with pytest.raises(InvalidTag):
        unwrap(wrapping_key(MASTER), "subject-2", wrapped)
    with pytest.raises(InvalidTag):
        unwrap(wrapping_key(bytes(32)), "subject-1", wrapped)


def test_the_wrapping_key_is_apart_from_the_reviewer_links_key() -> None:
    assert wrapping_key(MASTER) not in (MASTER, reviewer_key(MASTER))
    assert len(wrapping_key(MASTER)) == 32


def test_the_wrapping_key_is_derived_the_same_way_always() -> None:
    """Subjects' keys wrapped before an upgrade must unwrap after it: HKDF-SHA256 of the
    master key with the label assess:subject-key-wrapping:v1, fixed by its value."""
    expected = "17e3127c914b9a1e2c925b4c2fa3ed522f50278bb18ca904bda1579b758b13c6"
    assert wrapping_key(MASTER).hex() == expected


def test_a_stored_text_with_a_character_outside_base64_is_refused() -> None:
    """Not read past: a stored box is exactly what sealing wrote."""
    wrapped = wrap(wrapping_key(MASTER), "subject-1", new_subject_key())
    with pytest.raises(binascii.Error, match="Only base64 data"):
        unwrap(wrapping_key(MASTER), "subject-1", wrapped[:8] + "!" + wrapped[8:])
