"""POST /assessment/generate: draw the next attempt's questions, or return the pending set."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from application.callers import Caller
from application.commands import GenerateQuestions
from application.results import Generated
from application.service import AssessmentService, Handler, record_read
from domain.questions import DrawnQuestion, draw


def decide(
    service: AssessmentService, caller: Caller, command: GenerateQuestions
) -> tuple[Generated, list[Aggregate]]:
    """The record's pending questions, drawn now if it has none."""
    assessment = service.record_of(caller, command.record_verification_id)

    def drawn() -> list[DrawnQuestion]:
        banks = [service.banks.bank(skill.skill_id) for skill in assessment.skills]
        return draw(banks, service.settings.questions_per_attempt, service.rng)

    already = assessment.generate(drawn, service.clock())
    questions = [question.public() for question in assessment.question_set or []]
    generated = Generated(
        record_verification_id=assessment.record_verification_id,
        attempt_number=assessment.attempt_number,
        total_questions=len(questions),
        questions=questions,
        already_generated=already,
    )
    return generated, [assessment]


def reads(caller: Caller, command: GenerateQuestions) -> set[UUID]:
    """The record (its skills' banks this process remembers; if it does not, the command
    runs in a worker thread)."""
    return record_read(caller, command.record_verification_id)


generate_questions = Handler(Generated, decide, reads=reads)
