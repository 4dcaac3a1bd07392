"""POST /assessment/submit: score every answer of the pending attempt at once."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from application.messages import AttemptResult, Caller, SubmitAnswers, Submitted
from application.service import AssessmentService, Handler, record_read, webhooks_read
from domain.scoring import result_message


def decide(
    service: AssessmentService, caller: Caller, command: SubmitAnswers
) -> tuple[Submitted, list[Aggregate]]:
    """The scored attempt: the skills verified (and the record locked) or rejected."""
    assessment = service.record_of(caller, command.record_verification_id)
    assessment.submit(command.answers, service.clock())
    attempt = assessment.attempts[-1]
    submitted = Submitted(
        record_verification_id=assessment.record_verification_id,
        result=AttemptResult(
            score=attempt.score,
            passed=attempt.passed,
            attempt_number=attempt.attempt_number,
            correct_answers=attempt.correct_answers,
            total_questions=attempt.total_questions,
            message=result_message(attempt.passed, attempt.score, len(assessment.skills)),
        ),
        verified_skills=list(assessment.skill_status.values()),
        skills_updated=assessment.skills_updated,
        webhook=service.webhook_status(assessment),
    )
    return submitted, [assessment]


def reads(caller: Caller, command: SubmitAnswers) -> set[UUID]:
    """The record, and its tenant's webhooks (whether the result's webhook is queued)."""
    return record_read(caller, command.record_verification_id) | webhooks_read(caller)


submit_answers = Handler(Submitted, decide, reads=reads)
