"""The bodies of the webhooks a partner receives, one struct each: the consumers encode them
and the API's schema documents them, so the two cannot drift apart. Ids and outcomes only:
no personal data leaves the service in a webhook."""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from application.results import Endorsed, Revocation, Submitted

INITIATED: Final = "verification.initiated"
COMPLETED: Final = "verification.completed"
REVOKED: Final = "verification.revoked"


class StudentRef(msgspec.Struct, frozen=True, rename="camel"):
    """The student, by the id the partner gave."""

    student_id: str


class ReviewerRef(msgspec.Struct, frozen=True, rename="camel"):
    """The reviewer, without name or email."""

    company: str | None
    endorsement_type: str


class AssessmentInitiated(msgspec.Struct, frozen=True, rename="camel"):
    """An assessment record's first questions were drawn."""

    record_verification_id: str
    attempt_number: int
    total_questions: int
    student: StudentRef


class EndorsementInitiated(msgspec.Struct, frozen=True, rename="camel"):
    """A human-endorsement record's first reviewer was invited."""

    record_verification_id: str
    reviewer: ReviewerRef
    expires_at: str
    student: StudentRef


class AssessmentCompleted(Submitted, frozen=True, rename="camel"):
    """An attempt was scored: what submit returned, and the student."""

    student: StudentRef


class EndorsementCompleted(Endorsed, frozen=True, rename="camel"):
    """The reviewer endorsed: what the reviewer's verify returned, the student and the
    reviewer."""

    student: StudentRef
    reviewer: ReviewerRef


class VerificationRevoked(Revocation, frozen=True, rename="camel"):
    """The tenant revoked a record's verification: what revoke returned, and the student."""

    student: StudentRef


class Webhook(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A webhook body: the event's id (the same in every delivery of the event, to every
    endpoint: deduplicate on it), its type, when it occurred and its data."""

    id: str
    type: str
    created_at: str


class AssessmentInitiatedWebhook(Webhook, frozen=True, kw_only=True):
    """verification.initiated of an assessment record."""

    type: Literal["verification.initiated"]
    data: AssessmentInitiated


class EndorsementInitiatedWebhook(Webhook, frozen=True, kw_only=True):
    """verification.initiated of a human-endorsement record."""

    type: Literal["verification.initiated"]
    data: EndorsementInitiated


class AssessmentCompletedWebhook(Webhook, frozen=True, kw_only=True):
    """verification.completed of an assessment record."""

    type: Literal["verification.completed"]
    data: AssessmentCompleted


class EndorsementCompletedWebhook(Webhook, frozen=True, kw_only=True):
    """verification.completed of a human-endorsement record."""

    type: Literal["verification.completed"]
    data: EndorsementCompleted


class RevokedWebhook(Webhook, frozen=True, kw_only=True):
    """verification.revoked of a record of either method."""

    type: Literal["verification.revoked"]
    data: VerificationRevoked


WEBHOOKS: dict[str, list[type[Webhook]]] = {
    INITIATED: [AssessmentInitiatedWebhook, EndorsementInitiatedWebhook],
    COMPLETED: [AssessmentCompletedWebhook, EndorsementCompletedWebhook],
    REVOKED: [RevokedWebhook],
}
