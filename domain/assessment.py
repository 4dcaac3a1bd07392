"""The Assessment aggregate: one verification record of a student's skills and its attempts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.endorsement import ASSESSMENT, HUMAN_ENDORSEMENT, METHODS, HumanEndorsement
from domain.errors import (
    AssessmentLocked,
    IncompleteAnswers,
    InvalidAnswers,
    InvalidInput,
    MissingAnswers,
    NoQuestions,
)
from domain.moments import iso
from domain.personal import PersonalData, sealed_by_migrate
from domain.questions import DrawnQuestion, PublicQuestion
from domain.scoring import has_passed, score_percent
from domain.values import (
    Answer,
    Attempt,
    Reviewer,
    Sealed,
    Skill,
    SkillOutcome,
    Source,
    Student,
    changed,
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


class Assessment(HumanEndorsement, PersonalData, Aggregate):
    """A verification record: its student and skills, verified by one of two paths fixed at
    its start: an assessment (question sets, attempts) or a reviewer's endorsement
    (domain/endorsement.py); a pass or an endorsement locks it. Its personal data can be
    erased (domain/personal.py)."""

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

    class QuestionsGenerated(Aggregate.Event):
        """The questions of an attempt were drawn; answer_key is for scoring only."""

        attempt_number: int
        questions: list[PublicQuestion]
        answer_key: list[int]

        def apply(self, assessment: Assessment) -> None:
            assessment.question_set = [
                DrawnQuestion.keyed(question, answer)
                for question, answer in zip(self.questions, self.answer_key, strict=True)
            ]

    class AnswersSubmitted(Aggregate.Event):
        """The student answered every question of an attempt; the set is used up."""

        attempt_number: int
        answers: list[Answer]

        def apply(self, assessment: Assessment) -> None:
            assessment.question_set = None

    class Scored(Aggregate.Event):
        """An attempt was scored and every skill of the record took its new status."""

        attempt_number: int
        correct_answers: int
        total_questions: int
        score: int
        passed: bool
        skills: list[SkillOutcome]
        skills_updated: int

        @property
        def attempt(self) -> Attempt:
            """The attempt this scored, as the record lists it."""
            return Attempt(
                attempt_number=self.attempt_number,
                score=self.score,
                passed=self.passed,
                correct_answers=self.correct_answers,
                total_questions=self.total_questions,
                submitted_at=iso(self.timestamp),
            )

        def apply(self, assessment: Assessment) -> None:
            assessment.skill_status = {skill.skill_id: skill for skill in self.skills}
            assessment.skills_updated = self.skills_updated
            assessment.attempts.append(self.attempt)

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
        self.attempts: list[Attempt] = []
        self.skills_updated = 0
        self.is_locked = False
        self.reviewer: Reviewer | None = None
        self.invitations = 0
        self.reviewer_token_hash: str | None = None
        self.reviewer_expires_at: datetime | None = None
        self.reviewer_version = 0
        self.personal_data_erased = False

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

    @property
    def record_verification_id(self) -> str:
        """The record's public id: ver_<mode>_<hex>."""
        return record_verification_id(self.mode, self.id)

    @property
    def attempt_number(self) -> int:
        """The number of the current (or next) attempt, counting from 1."""
        return len(self.attempts) + 1

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

    def generate(self, draw: Callable[[], list[DrawnQuestion]], at: datetime) -> bool:
        """Draw the next attempt's questions unless a set is pending; tell if one was."""
        self.require(ASSESSMENT)
        if self.is_locked:
            raise AssessmentLocked("the assessment was passed and is locked")
        if self.question_set is not None:
            return True
        questions = draw()
        if not questions:
            raise NoQuestions("the question banks of this record's skills are empty")
        self.trigger_event(
            self.QuestionsGenerated,
            timestamp=at,
            attempt_number=self.attempt_number,
            questions=[question.public() for question in questions],
            answer_key=[question.answer for question in questions],
        )
        return False

    def submit(self, answers: Sequence[tuple[str, int]] | None, at: datetime) -> None:
        """Score all answers of the pending set at once; lock the record on a pass."""
        self.require(ASSESSMENT)
        if self.is_locked:
            raise AssessmentLocked("the assessment was passed and is locked")
        if not answers:
            raise MissingAnswers("answers: give one answer per question")
        if self.question_set is None:
            raise NoQuestions("no questions to answer: call generate first")
        questions = {question.question_id: question for question in self.question_set}
        if len(answers) != len(questions):
            raise IncompleteAnswers(
                f"answers: {len(questions)} questions were generated, {len(answers)} answered"
            )
        correct_answers = self._count_correct(questions, answers)
        score = score_percent(correct_answers, len(questions))
        passed = has_passed(score)
        attempt_number = self.attempt_number
        self.trigger_event(
            self.AnswersSubmitted,
            timestamp=at,
            attempt_number=attempt_number,
            answers=[Answer(question_id, selected) for question_id, selected in answers],
        )
        skills = [SkillOutcome.judged(skill, passed, at, ASSESSMENT) for skill in self.skills]
        self.trigger_event(
            self.Scored,
            timestamp=at,
            attempt_number=attempt_number,
            correct_answers=correct_answers,
            total_questions=len(questions),
            score=score,
            passed=passed,
            skills=skills,
            skills_updated=changed(self.skill_status, skills),
        )
        if passed:
            self.trigger_event(self.Locked, timestamp=at, attempt_number=attempt_number)

    @staticmethod
    def _count_correct(
        questions: dict[str, DrawnQuestion], answers: Sequence[tuple[str, int]]
    ) -> int:
        answered: set[str] = set()
        correct_answers = 0
        for position, (question_id, selected) in enumerate(answers):
            question = questions.get(question_id)
            if question is None or question_id in answered:
                raise InvalidAnswers(
                    f"answers[{position}].questionId: '{question_id}' is unknown or repeated"
                )
            if not 0 <= selected < len(question.options):
                raise InvalidAnswers(
                    f"answers[{position}].selectedAnswer: {selected} is not an option index"
                    f" of question '{question_id}'"
                )
            answered.add(question_id)
            correct_answers += selected == question.answer
        return correct_answers
