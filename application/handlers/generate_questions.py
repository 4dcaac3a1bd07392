"""POST /assessment/generate: draw the next attempt's questions, or return the pending set."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from application.callers import Caller
from application.commands import GenerateQuestions
from application.results import Generated
from application.service import AssessmentService, Handler, record_read
from domain.questions import QuestionSet


def decide(
    service: AssessmentService, caller: Caller, command: GenerateQuestions
) -> tuple[Generated, list[Aggregate]]:
    """The record's pending questions, drawn now if it has none."""
    assessment = service.record_of(caller, command.record_verification_id)

    def drawn() -> QuestionSet:
        service.store.off_the_loop("a record's sources")  # they are read to draw
        return service.questions.drawn(assessment)

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


def reads(service: AssessmentService, caller: Caller, command: GenerateQuestions) -> set[UUID]:
    """The record (with a set prepared for it; if there is none, the command runs in a
    worker thread, which reads its sources and its skills' banks)."""
    return record_read(caller, command.record_verification_id)


generate_questions = Handler(Generated, decide, reads=reads)
