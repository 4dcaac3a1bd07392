"""Open Badges 3.0 credentials of verified skills, as VC-JWTs (the standard's "JSON Web
Token Proof Format"), and their revocation by Bitstring Status List v1.0. A credential is
made from its record's events when it is read, and signed then: the events hold what it
says, the signature is the issuer's current key's (docs/credentials.md)."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.assessment import Assessment
from domain.credentials import LIST_SIZE, HeldCredential
from domain.endorsement import HUMAN_ENDORSEMENT

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
ACTIVE, REVOKED = "active", "revoked"


def seconds(moment: datetime) -> str:
    """A moment as credentials write it: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_url(public_url: str, status_list: int) -> str:
    """Where a status list is served."""
    return f"{public_url.rstrip('/')}/credentials/status/{status_list}"


def page_url(public_url: str, credential_id: UUID) -> str:
    """Where a credential's public page is."""
    return f"{public_url.rstrip('/')}/credentials/{credential_id}"


def narrative(record: Assessment, skill_id: str) -> str:
    """How the skill was verified, in words: the assessment passed and its score, or the
    endorsement and how the reviewer knows the student (never who they are)."""
    skill = record.skill_status[skill_id]
    day = (skill.verified_at or "")[:10]
    if record.method == HUMAN_ENDORSEMENT:
        relation = record.reviewer.endorsement_type if record.reviewer else "reviewer"
        return (
            f"Endorsed on {day} by a reviewer who saw the skill in the student's work"
            f" (endorsement type: {relation})."
        )
    passed = next(attempt for attempt in reversed(record.attempts) if attempt.passed)
    return (
        f"Passed a multiple-choice assessment on {day}: {passed.correct_answers} of"
        f" {passed.total_questions} questions right ({passed.score}%), attempt"
        f" {passed.attempt_number}."
    )


def achievement_id(record: Assessment, skill_id: str) -> str:
    """The skill as an achievement: one id per tenant and skill, whoever earned it."""
    return f"urn:uuid:{uuid5(NAMESPACE_URL, f'assess:achievement:{record.tenant}:{skill_id}')}"


def credential(record: Assessment, held: HeldCredential, subject: UUID) -> dict[str, Any]:
    """The OpenBadgeCredential of one of a record's skills, for the student's pseudonym."""
    issued, issuance = held.issued, held.issuance
    skill = record.skill_status[issued.skill_id]
    status_list = list_url(issuance.public_url, issued.status_list)
    return {
        "@context": CONTEXTS,
        "id": f"urn:uuid:{issued.credential_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuance.issuer_id, "type": ["Profile"], "name": issuance.issuer_name},
        "validFrom": seconds(held.issued_at),
        "name": skill.name,
        "credentialSubject": {
            "id": f"urn:uuid:{subject}",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": achievement_id(record, issued.skill_id),
                "type": ["Achievement"],
                "achievementType": "Competency",
                "name": skill.name,
                "description": f"The skill {skill.name}, verified by {issuance.issuer_name}.",
                "criteria": {"narrative": narrative(record, issued.skill_id)},
            },
        },
        "credentialStatus": {
            "id": f"{status_list}#{issued.status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(issued.status_index),
            "statusListCredential": status_list,
        },
    }


def claims(document: dict[str, Any]) -> dict[str, Any]:
    """A credential as a JWT's claims: itself, with the registered claims that mirror it."""
    valid_from = datetime.strptime(document["validFrom"], "%Y-%m-%dT%H:%M:%SZ")
    issuer = document["issuer"]
    return {
        **document,
        "iss": issuer if isinstance(issuer, str) else issuer["id"],
        "jti": document["id"],
        "nbf": int(valid_from.replace(tzinfo=UTC).timestamp()),
        "sub": document["credentialSubject"]["id"],
    }


def encoded_list(revoked: Iterable[int]) -> str:
    """A status list's bits (index 0 the highest bit of the first byte) as `encodedList`:
    `u` and the unpadded base64url of their GZIP, which is the same for the same bits."""
    bits = bytearray(LIST_SIZE // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(bits), compresslevel=6, mtime=0)  # 9 is 10x slower here
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def status_list_credential(issuer_id: str, url: str, encoded: str, at: datetime) -> dict[str, Any]:
    """A status list as the BitstringStatusListCredential that serves it, valid from `at`."""
    return {
        "@context": CONTEXTS[:1],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": seconds(at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
