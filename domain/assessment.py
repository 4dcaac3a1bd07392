"""The Assessment aggregate: one verification record of a student's skills and its attempts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.attempts import Attempts
from domain.credentials import Credentials, HeldCredential
from domain.endorsement import ASSESSMENT, HUMAN_ENDORSEMENT, METHODS, HumanEndorsement
from domain.errors import (
    InvalidInput,
)
from domain.personal import PersonalData, sealed_by_migrate
from domain.questions import DrawnQuestion, QuestionSet
from domain.values import (
    Attempt,
    Reviewer,
    Sealed,
    Skill,
    SkillOutcome,
    Source,
    Student,
)

MAX_SKILLS = 10
MAX_PROOF_URLS = 5
MAX_SOURCES = 20


def record_verification_id(mode: str, aggregate_id: UUID) -> str:
    """A record's public id: ver_<mode>_<hex>."""
    return f"ver_{mode}_{aggregate_id.hex}"


def record_status(
    method: str, *, locked: bool, drawn: bool, last_passed: bool | None, reviewed: bool
) -> str:
    """The one rule of a record's status, which the aggregate and the record view both
    follow. An assessment: passed (its last attempt passed; it is then locked), in_progress
    (questions drawn), failed (its last attempt failed) or pending (nothing yet); an
    endorsement: completed (locked), in_review (a reviewer invited) or pending."""
    if method == HUMAN_ENDORSEMENT:
        return "completed" if locked else "in_review" if reviewed else "pending"
    if locked or last_passed:
        return "passed"
    if drawn:
        return "in_progress"
    return "pending" if last_passed is None else "failed"


class Assessment(Attempts, HumanEndorsement, Credentials, PersonalData, Aggregate):
    """A verification record: its student and skills, verified by one of two paths fixed at
    its start: an assessment (question sets, attempts) or a reviewer's endorsement
    (domain/endorsement.py); a pass or an endorsement locks it, and its verified skills are
    then issued as credentials, which the tenant may revoke (domain/credentials.py). Its
    personal data can be erased (domain/personal.py)."""

    class VerificationStarted(Aggregate.Created):
        """A partner started verifying a student's skills by a method; a session was issued.
        Version 2 added the method and the sources (and skills' proof links); version 3
        holds the student's name and email sealed; version 4 names the tenant key that
        started it (its session lives only as long as that key)."""

        class_version = 4

        tenant: str
        mode: str
        student: Student
        skills: list[Skill]
        callback_webhook_url: str | None
        session_token_hash: str
        session_expires_at: datetime
        method: str
        sources: list[Source]
        api_key_id: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Records started before there were two paths were assessments, of no sources."""
            state["method"] = ASSESSMENT
            state["sources"] = []

        upcast_v2_v3 = staticmethod(sealed_by_migrate)

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Records started before sessions were bound to a key: their sessions, derived
            from the tenant key itself, are refused (docs/security.md)."""
            state["api_key_id"] = None

    class Locked(Aggregate.Event):
        """A passed attempt (or, on the human path, the endorsement of the nth invitation,
        its attempt_number) locked the record against further attempts."""

        attempt_number: int

        def apply(self, assessment: Assessment) -> None:
            assessment.is_locked = True

    def __init__(
        self,
        tenant: str,
        mode: str,
        student: Student,
        skills: list[Skill],
        callback_webhook_url: str | None,
        session_token_hash: str,
        session_expires_at: datetime,
        method: str,
        sources: list[Source],
        api_key_id: UUID | None,
    ) -> None:
        self.tenant = tenant
        self.api_key_id = api_key_id
        self.method = method
        self.sources = sources
        self.mode = mode
        self.student = student
        self.skills = skills
        self.callback_webhook_url = callback_webhook_url
        self.session_token_hash = session_token_hash
        self.session_expires_at = session_expires_at
        self.skill_status = {skill.skill_id: SkillOutcome.pending(skill) for skill in skills}
        self.question_set: list[DrawnQuestion] | None = None
        self.prepared: QuestionSet | None = None
        self.asked_questions: frozenset[str] = frozenset()
        self.attempts: list[Attempt] = []
        self.skills_updated = 0
        self.is_locked = False
        self.reviewer: Reviewer | None = None
        self.invitations = 0
        self.reviewer_token_hash: str | None = None
        self.reviewer_expires_at: datetime | None = None
        self.reviewer_version = 0
        self.asked_by: str | None = None
        self.personal_data_erased = False
        self.erased_at: datetime | None = None
        self.credentials: list[HeldCredential] = []
        self.revoked: str | None = None
        self.revoked_at: datetime | None = None

    @classmethod
    def start(
        cls,
        *,
        id: UUID,
        at: datetime,
        tenant: str,
        mode: str,
        student_id: str,
        seal: Callable[[], Sealed],
        skills: Sequence[Skill],
        callback_webhook_url: str | None,
        session_token_hash: str,
        session_expires_at: datetime,
        api_key_id: UUID,
        method: str = ASSESSMENT,
        sources: Sequence[Source] = (),
    ) -> Assessment:
        """Start verifying 1-10 distinct skills (each with up to 5 proof links) by a method,
        with up to 20 sources; `seal` seals the student's contact once the rest is valid,
        with the sources and the proof links: the event holds neither in clear (records
        started before they were sealed hold them in its `sources` and skills)."""
        cls.check_start(method, skills, sources)
        return cls._create(
            cls.VerificationStarted,
            id=id,
            timestamp=at,
            tenant=tenant,
            mode=mode,
            student=Student(student_id, seal()),
            skills=[Skill(skill.skill_id, skill.name) for skill in skills],
            callback_webhook_url=callback_webhook_url,
            session_token_hash=session_token_hash,
            session_expires_at=session_expires_at,
            method=method,
            sources=[],
            api_key_id=api_key_id,
        )

    @staticmethod
    def check_start(method: str, skills: Sequence[Skill], sources: Sequence[Source]) -> None:
        """Refuse a start `start` would refuse, before anything is sealed for it."""
        if method not in METHODS:
            raise InvalidInput(f"method: give one of {', '.join(METHODS)}")
        if not 1 <= len(skills) <= MAX_SKILLS:
            raise InvalidInput(f"skills: give 1 to {MAX_SKILLS} skills, not {len(skills)}")
        if len(sources) > MAX_SOURCES:
            raise InvalidInput(f"sources: give at most {MAX_SOURCES}, not {len(sources)}")
        seen: set[str] = set()
        for position, skill in enumerate(skills):
            if skill.skill_id in seen:
                raise InvalidInput(f"skills[{position}].skillId: '{skill.skill_id}' repeats")
            if len(skill.proof_urls) > MAX_PROOF_URLS:
                raise InvalidInput(f"skills[{position}].proofUrls: give at most {MAX_PROOF_URLS}")
            seen.add(skill.skill_id)

    @property
    def record_verification_id(self) -> str:
        """The record's public id: ver_<mode>_<hex>."""
        return record_verification_id(self.mode, self.id)

    @property
    def status(self) -> str:
        """The record's status (see `record_status`)."""
        return record_status(
            self.method,
            locked=self.is_locked,
            drawn=self.question_set is not None,
            last_passed=self.attempts[-1].passed if self.attempts else None,
            reviewed=self.reviewer is not None,
        )
