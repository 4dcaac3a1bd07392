"""The assessment path of a verification record: the student draws a question set and
submits every answer at once; a pass locks the record. Its events become the record's own
(the library's aggregate class takes in the event classes of its bases)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.endorsement import ASSESSMENT
from domain.errors import (
    AssessmentLocked,
    IncompleteAnswers,
    InvalidAnswers,
    MissingAnswers,
    NoQuestions,
)
from domain.moments import iso
from domain.questions import BANK, DrawnQuestion, PublicQuestion, QuestionSet, keyed
from domain.scoring import has_passed, score_percent
from domain.values import Answer, Attempt, Skill, SkillOutcome, changed


class Attempts:
    """Question sets, answers and scores, for records of method assessment."""

    class QuestionsPrepared(Aggregate.Event):
        """The next attempt's questions were made ahead of its generate (from the record's
        sources, by `generator`; `fallbacks` say why any came from a bank instead), which
        shows them. answer_key is for scoring only."""

        attempt_number: int
        questions: list[PublicQuestion]
        answer_key: list[int]
        generator: str
        seed: int | None
        fallbacks: list[str]

        def apply(self, record: Attempts) -> None:
            record.prepared = QuestionSet(
                keyed(self.questions, self.answer_key), self.generator, self.seed, self.fallbacks
            )

    class QuestionsGenerated(Aggregate.Event):
        """The questions of an attempt were drawn (or the prepared ones shown); answer_key
        is for scoring only. Version 2 says what made them (`bank` or `llm:<model>`), with
        which seed, and why any came from a bank instead."""

        class_version = 2

        attempt_number: int
        questions: list[PublicQuestion]
        answer_key: list[int]
        generator: str
        seed: int | None
        fallbacks: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Sets drawn before there were generators were drawn at random from the banks,
            with a seed that was not kept."""
            state.update(generator=BANK, seed=None, fallbacks=[])

        def apply(self, record: Attempts) -> None:
            record.question_set = keyed(self.questions, self.answer_key)
            record.prepared = None

    class AnswersSubmitted(Aggregate.Event):
        """The student answered every question of an attempt; the set is used up."""

        attempt_number: int
        answers: list[Answer]

        def apply(self, record: Attempts) -> None:
            record.asked_questions = record.asked_questions | {
                question.question_id for question in record.question_set or []
            }
            record.question_set = None

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

        def apply(self, record: Attempts) -> None:
            record.skill_status = {skill.skill_id: skill for skill in self.skills}
            record.skills_updated = self.skills_updated
            record.attempts.append(self.attempt)

    if TYPE_CHECKING:  # the record's, which this path shares
        skills: list[Skill]
        skill_status: dict[str, SkillOutcome]
        skills_updated: int
        is_locked: bool
        question_set: list[DrawnQuestion] | None
        prepared: QuestionSet | None
        asked_questions: frozenset[str]
        attempts: list[Attempt]
        method: str
        Locked: type[Any]

        def require(self, method: str) -> None: ...

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    @property
    def attempt_number(self) -> int:
        """The number of the current (or next) attempt, counting from 1."""
        return len(self.attempts) + 1

    @property
    def wants_questions(self) -> bool:
        """Whether a set may be prepared for the next attempt: an assessment, not locked,
        with no set pending or prepared."""
        return (
            self.method == ASSESSMENT
            and not self.is_locked
            and self.question_set is None
            and self.prepared is None
        )

    def prepare(self, made: QuestionSet, at: datetime) -> bool:
        """Keep a set made ahead for the next attempt, unless the record no longer wants
        one (tell whether it was kept)."""
        if not self.wants_questions:
            return False
        if not made.questions:
            raise NoQuestions("the question banks of this record's skills are empty")
        self._trigger_set(self.QuestionsPrepared, made, at)
        return True

    def generate(self, draw: Callable[[], QuestionSet], at: datetime) -> bool:
        """Show the next attempt's questions unless a set is pending (tell if one was): the
        prepared set if there is one, else a set drawn now."""
        self.require(ASSESSMENT)
        if self.is_locked:
            raise AssessmentLocked("the assessment was passed and is locked")
        if self.question_set is not None:
            return True
        made = self.prepared or draw()
        if not made.questions:
            raise NoQuestions("the question banks of this record's skills are empty")
        self._trigger_set(self.QuestionsGenerated, made, at)
        return False

    def _trigger_set(self, event_class: type[Any], made: QuestionSet, at: datetime) -> None:
        self.trigger_event(
            event_class,
            timestamp=at,
            attempt_number=self.attempt_number,
            questions=[question.public() for question in made.questions],
            answer_key=[question.answer for question in made.questions],
            generator=made.generator,
            seed=made.seed,
            fallbacks=list(made.fallbacks),
        )

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
