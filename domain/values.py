"""The typed values a record's events and state carry. Their fields are stored (and shown) in
camelCase, in this order, None included: each struct is stored as the JSON object of the
same keys that events held before they were typed, byte for byte. Personal data is the
exception: a student's and a reviewer's name and email are held sealed (`Sealed`), where
events stored before held them in clear (`migrate` seals those in place)."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import msgspec

from domain.moments import iso


class Contact(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """A person's personal data, sealed as one: their name and email address, and for a
    student what names them through their work: the record's sources and each skill's
    proof links (by skill id). Stored only when there are some, so a contact sealed
    before they were held here opens as it was."""

    name: str
    email: str
    sources: list[Source] = msgspec.field(default_factory=list)
    proof_urls: dict[str, list[str]] = msgspec.field(default_factory=dict)

    def same_mailbox(self, email: str) -> bool:
        """Whether an address names this contact's mailbox, compared without case (and in
        one Unicode form)."""

        def form(address: str) -> str:
            return unicodedata.normalize("NFC", address.strip()).casefold()

        return form(self.email) == form(email)


class Sealed(msgspec.Struct, frozen=True):
    """A contact as events hold it: encrypted under the key of its data subject and bound
    to the event that holds it (infrastructure/sealing.py). The domain carries it and never
    opens it; once the subject is erased (its key deleted), nothing can."""

    subject: str  # the data subject, whose key sealed it
    box: str  # the nonce and the AES-GCM ciphertext, in base64


class Student(msgspec.Struct, frozen=True, rename="camel"):
    """The student whose skills a record verifies: their id, and their sealed contact."""

    student_id: str
    contact: Sealed


class Skill(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """A skill to verify, as the partner named it, with links to proof of it (stored only
    when there are some, so a skill stored without stays byte for byte as it was)."""

    skill_id: str
    name: str
    proof_urls: list[str] = msgspec.field(default_factory=list)


class Source(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """Work the skills were shown in: a project, an experience or a certificate."""

    type: str
    title: str
    subtitle: str | None = None
    description: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    url: str | None = None
    technologies: list[str] | None = None


class Reviewer(msgspec.Struct, frozen=True, rename="camel"):
    """Who is asked to endorse a record's skills (their contact sealed under the key of the
    record's student), and how they know the student."""

    contact: Sealed
    company: str | None
    endorsement_type: str


class SkillOutcome(msgspec.Struct, frozen=True, rename="camel"):
    """Where a skill of a record stands: pending, verified (when and by what) or rejected."""

    skill_id: str
    name: str
    verified: bool
    status: str
    verified_at: str | None
    verified_by: str | None

    @classmethod
    def pending(cls, skill: Skill) -> SkillOutcome:
        """A skill before any attempt was scored."""
        return cls(skill.skill_id, skill.name, False, "pending", None, None)

    @classmethod
    def judged(cls, skill: Skill, verified: bool, at: datetime, by: str) -> SkillOutcome:
        """A skill judged at `at`: verified (by `by`: a path's name) or rejected."""
        if verified:
            return cls(skill.skill_id, skill.name, True, "verified", iso(at), by)
        return cls(skill.skill_id, skill.name, False, "rejected", None, None)


def changed(before: dict[str, SkillOutcome], after: list[SkillOutcome]) -> int:
    """How many skills a judgement changed the status of (a record's skillsUpdated)."""
    return sum(skill.status != before[skill.skill_id].status for skill in after)


class Answer(msgspec.Struct, frozen=True, rename="camel"):
    """The option a student chose for a question (its index in the order shown)."""

    question_id: str
    selected_answer: int


class Attempt(msgspec.Struct, frozen=True, rename="camel"):
    """A scored attempt of a record."""

    attempt_number: int
    score: int
    passed: bool
    correct_answers: int
    total_questions: int
    submitted_at: str
