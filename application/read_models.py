"""The public shape of what readers see, one struct each, built from typed values wherever
it comes from (a record from the store or from the record view, a student's skill from the
skill view), so that the API, the history and the views cannot drift apart."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.values import Attempt, Contact, Reviewer, SkillOutcome

ERASED = "[erased]"  # shown where erased personal data was


class Shape(msgspec.Struct, frozen=True, rename="camel"):
    """A public shape: camelCase keys, in the order of its fields."""

    def plain(self) -> dict[str, Any]:
        """As plain dicts and lists, keys in order, None included."""
        fields: dict[str, Any] = msgspec.to_builtins(self)
        return fields


class RecordReviewer(Shape, frozen=True):
    """A human record's reviewer as readers see them (no email address)."""

    name: str
    company: str | None
    endorsement_type: str

    @classmethod
    def of(cls, reviewer: Reviewer, contact: Contact | None) -> RecordReviewer:
        """The reviewer invited last, with their contact as shown ("[erased]" once erased)."""
        name = ERASED if contact is None else contact.name
        return cls(name, reviewer.company, reviewer.endorsement_type)


class Record(Shape, frozen=True):
    """A record as GET /verifications/{id} and the list show it."""

    record_verification_id: str
    student_id: str
    status: str
    is_locked: bool
    skills: list[SkillOutcome]
    attempts: list[Attempt]
    created_at: str
    updated_at: str
    method: str
    reviewer: RecordReviewer | None


class StudentSkill(Shape, frozen=True):
    """A student's skill across a tenant's records, and the record that last decided it."""

    skill_id: str
    name: str
    status: str
    verified: bool
    verified_at: str | None
    verified_by: str | None
    record_verification_id: str

    @classmethod
    def of(cls, skill: SkillOutcome, record_verification_id: str) -> StudentSkill:
        """A skill's outcome in the record that decided it."""
        return cls(
            skill_id=skill.skill_id,
            name=skill.name,
            status=skill.status,
            verified=skill.verified,
            verified_at=skill.verified_at,
            verified_by=skill.verified_by,
            record_verification_id=record_verification_id,
        )
