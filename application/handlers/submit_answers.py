"""POST /assessment/submit: score every answer of the pending attempt at once."""

from __future__ import annotations

from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from application.callers import Caller
from application.commands import SubmitAnswers
from application.results import Scoring, Submitted
from application.service import AssessmentService, Handler, record_read, webhooks_read
from domain.assessment import Assessment


def decide(
    service: AssessmentService, caller: Caller, command: SubmitAnswers
) -> tuple[Submitted, list[Aggregate]]:
    """The scored attempt: the skills verified (and the record locked) or rejected."""
    assessment = service.record_of(caller, command.record_verification_id)
    assessment.submit(command.answers, service.clock())
    [scored] = [e for e in assessment.pending_events if isinstance(e, Assessment.Scored)]
    scoring = msgspec.convert(scored, Scoring, from_attributes=True)
    webhook = service.webhook_status(assessment)
    return Submitted.of(assessment.record_verification_id, scoring, webhook), [assessment]


def reads(service: AssessmentService, caller: Caller, command: SubmitAnswers) -> set[UUID]:
    """The record, and its tenant's webhooks (whether the result's webhook is queued)."""
    return record_read(caller, command.record_verification_id) | webhooks_read(caller)


submit_answers = Handler(Submitted, decide, reads=reads)
