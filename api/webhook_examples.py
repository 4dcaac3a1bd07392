"""Examples of each webhook's payload, for the OpenAPI document's `webhooks`: built from the
structs the fan-out encodes, with the answers of the operations' examples they repeat."""

from __future__ import annotations

from api.examples import AT, EXAMPLES, QUEUED, REACT, RECORD
from api.examples import REVOKED as REVOKED_SKILL
from application.webhook_bodies import (
    COMPLETED,
    INITIATED,
    REVOKED,
    AssessmentCompleted,
    AssessmentCompletedWebhook,
    AssessmentInitiated,
    AssessmentInitiatedWebhook,
    EndorsementCompleted,
    EndorsementCompletedWebhook,
    EndorsementInitiated,
    EndorsementInitiatedWebhook,
    ReviewerRef,
    RevokedWebhook,
    StudentRef,
    VerificationRevoked,
    Webhook,
)

STUDENT = StudentRef("stu_1")
EVENT_ID = "0b7e4c52-9a57-5d7e-8c1e-2f4a6b1d3c90"
WEBHOOK_EXAMPLES: dict[type[Webhook], Webhook] = {
    AssessmentInitiatedWebhook: AssessmentInitiatedWebhook(
        id=EVENT_ID, type=INITIATED, created_at=AT, data=AssessmentInitiated(RECORD, 1, 10, STUDENT)
    ),
    EndorsementInitiatedWebhook: EndorsementInitiatedWebhook(
        id=EVENT_ID,
        type=INITIATED,
        created_at=AT,
        data=EndorsementInitiated(
            RECORD, ReviewerRef("Navy", "tech_lead"), "2025-04-23T10:05:00.000Z", STUDENT
        ),
    ),
    AssessmentCompletedWebhook: AssessmentCompletedWebhook(
        id=EVENT_ID,
        type=COMPLETED,
        created_at=AT,
        data=AssessmentCompleted(
            RECORD,
            EXAMPLES["submitAssessment"].response.data.result,
            [REACT],
            1,
            QUEUED,
            STUDENT,
        ),
    ),
    EndorsementCompletedWebhook: EndorsementCompletedWebhook(
        id=EVENT_ID,
        type=COMPLETED,
        created_at=AT,
        data=EndorsementCompleted(
            RECORD,
            1,
            0,
            EXAMPLES["endorseSkills"].response.data.verified_skills,
            1,
            QUEUED,
            STUDENT,
            ReviewerRef("Navy", "tech_lead"),
        ),
    ),
    RevokedWebhook: RevokedWebhook(
        id=EVENT_ID,
        type=REVOKED,
        created_at=AT,
        data=VerificationRevoked(
            RECORD, [REVOKED_SKILL], "The assessment was taken by someone else", AT, STUDENT
        ),
    ),
}
