"""The typed values a record's events and state carry. Their fields are stored (and shown) in
camelCase, in this order, None included: each struct is stored as the JSON object of the
same keys that events held before they were typed, byte for byte."""

from __future__ import annotations

import msgspec


class Student(msgspec.Struct, frozen=True, rename="camel"):
    """The student whose skills a record verifies."""

    student_id: str
    name: str
    email: str


class Skill(msgspec.Struct, frozen=True, rename="camel"):
    """A skill to verify, as the partner named it; its id names a question bank."""

    skill_id: str
    name: str


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
