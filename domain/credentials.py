"""A record's credentials: each verified skill is issued once as a credential, which holds a
place of its own on a status list; the tenant's revocation (or the student's erasure)
revokes them all. The events keep what a credential says, so that the same credential is
made from them however often it is read (it is signed then, never stored signed)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, NotVerified
from domain.values import SkillOutcome

LIST_SIZE = 131_072  # places on one status list (Bitstring Status List's minimum, 16 KiB)
MAX_REASON = 200


def credential_id(key: bytes, record_id: UUID, skill_id: str) -> UUID:
    """The id of the credential of a record's skill: known as soon as the skill is verified
    (an email links to it before the credential is issued), the same on every replay, and
    keyed, so that whoever knows a record's id cannot find its credentials' pages."""
    digest = hmac.new(key, f"{record_id}:{skill_id}".encode(), hashlib.sha256).digest()
    return UUID(bytes=digest[:16], version=4)


class IssuedCredential(msgspec.Struct, frozen=True, rename="camel"):
    """One skill's credential: its id and its place on a status list."""

    credential_id: UUID
    skill_id: str
    status_list: int
    status_index: int


class Issuance(msgspec.Struct, frozen=True, rename="camel"):
    """Who issued a record's credentials, and where their status lists are, as they were
    when issued: a credential says the same after the deployment's public URL changes (its
    old host must then keep serving, or redirecting, the did document and the lists)."""

    issuer_id: str
    issuer_name: str
    public_url: str


class HeldCredential(NamedTuple):
    """A credential as its record holds it: what was issued, by whom, and when."""

    issued: IssuedCredential
    issuance: Issuance
    issued_at: datetime


class StatusPlace(Aggregate):
    """A place on a status list, taken by one credential for good. Its id follows from the
    place, so a second credential saved at it fails with the first (the store keeps one
    first event per id): places are never reused."""

    class Taken(Aggregate.Created):
        """A credential took this place."""

        status_list: int
        status_index: int
        credential_id: UUID

    def __init__(self, status_list: int, status_index: int, credential_id: UUID) -> None:
        self.status_list = status_list
        self.status_index = status_index
        self.credential_id = credential_id

    @staticmethod
    def id_for(status_list: int, status_index: int) -> UUID:
        """The aggregate id of a place."""
        return uuid5(NAMESPACE_URL, f"assess:status-place:{status_list}:{status_index}")

    @classmethod
    def take(cls, status_list: int, status_index: int, credential_id: UUID) -> StatusPlace:
        """Take a place for a credential (saved with the credential's record)."""
        if not (status_list >= 1 and 0 <= status_index < LIST_SIZE):
            raise ValueError(f"no place {status_index} on list {status_list}")
        return cls._create(
            cls.Taken,
            id=cls.id_for(status_list, status_index),
            status_list=status_list,
            status_index=status_index,
            credential_id=credential_id,
        )


class Credentials:
    """Issuing a record's credentials, and revoking them."""

    class CredentialsIssued(Aggregate.Event):
        """Credentials were issued for the record's verified skills, by this issuer."""

        credentials: list[IssuedCredential]
        issuance: Issuance

        def apply(self, record: Credentials) -> None:
            held = [HeldCredential(one, self.issuance, self.timestamp) for one in self.credentials]
            record.credentials = [*record.credentials, *held]

    class VerificationRevoked(Aggregate.Event):
        """The tenant revoked the record's verification: its verified skills are revoked,
        with its credentials (those issued, and any it would have had)."""

        reason: str
        skills: list[SkillOutcome]

        def apply(self, record: Credentials) -> None:
            record.revoked = self.reason
            record.revoked_at = self.timestamp
            record.skill_status = {skill.skill_id: skill for skill in self.skills}

    if TYPE_CHECKING:  # the record's
        is_locked: bool
        personal_data_erased: bool
        skill_status: dict[str, SkillOutcome]
        credentials: list[HeldCredential]
        revoked: str | None
        revoked_at: datetime | None

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    @property
    def credentials_revoked(self) -> bool:
        """Whether the record's credentials are revoked: by the tenant, or by the erasure
        of the student (whose credentials must no longer vouch for anyone)."""
        return self.revoked is not None or self.personal_data_erased

    @property
    def uncredentialed(self) -> list[SkillOutcome]:
        """The verified skills of a locked record that have no credential yet (none once
        its credentials are revoked)."""
        if not self.is_locked or self.credentials_revoked:
            return []
        issued = {credential.issued.skill_id for credential in self.credentials}
        return [
            skill
            for skill in self.skill_status.values()
            if skill.status == "verified" and skill.skill_id not in issued
        ]

    def issue(self, credentials: list[IssuedCredential], issuance: Issuance, at: datetime) -> None:
        """Issue credentials for skills that are verified and have none."""
        wanted = {skill.skill_id for skill in self.uncredentialed}
        if not credentials or {credential.skill_id for credential in credentials} - wanted:
            raise ValueError("credentials are issued once, for verified skills only")
        self.trigger_event(
            self.CredentialsIssued, timestamp=at, credentials=credentials, issuance=issuance
        )

    def revoke(self, reason: str, at: datetime) -> bool:
        """Revoke the record's verified skills and their credentials (once: tell if it was
        not before). A record with no verified skill has nothing to revoke."""
        if self.revoked is not None:
            return False
        if not reason.strip() or len(reason) > MAX_REASON:
            raise InvalidInput(f"reason: give 1 to {MAX_REASON} characters")
        if not any(skill.status == "verified" for skill in self.skill_status.values()):
            raise NotVerified("no skill of this record is verified: there is nothing to revoke")
        skills = [
            msgspec.structs.replace(skill, verified=False, status="revoked")
            if skill.status == "verified"
            else skill
            for skill in self.skill_status.values()
        ]
        self.trigger_event(self.VerificationRevoked, timestamp=at, reason=reason, skills=skills)
        return True
