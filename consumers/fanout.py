"""What a public event sets going downstream: the webhook deliveries it queues."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import asdict

from application.ports import WebhookTargets
from application.results import Endorsed, Scoring, Submitted, WebhookStatus
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
from consumers.known_records import KnownRecords, RecordFacts
from domain.values import SkillOutcome
from infrastructure.deliveries import Deliveries, Delivery, new_delivery_id
from infrastructure.tracing import traceparent


def webhook_type(message: dict[str, Any]) -> str | None:
    """The webhook an event fires: a record's first question set or first invitation, and
    every score or endorsement."""
    kind, data = message["type"], message["data"]
    if (kind, data.get("attemptNumber", data.get("invitation"))) in (
        ("QuestionsGenerated", 1),
        ("ReviewerInvited", 1),
    ):
        return INITIATED
    if kind in ("Scored", "SkillsEndorsed"):
        return COMPLETED
    if kind == "VerificationRevoked":
        return REVOKED
    return None


def webhook_body(message: dict[str, Any], record: RecordFacts) -> Webhook:
    """The body of the webhook an event fires: for completed, what submit (or the reviewer's
    verify) returned plus student.studentId; ids and outcomes only, no personal data."""
    kind, data = message["type"], message["data"]
    event_id, at = message["id"], message["occurredAt"]
    record_id = message["recordVerificationId"]
    student = StudentRef(record.student_id)
    webhook = WebhookStatus(sent=True, status="queued")
    if kind == "QuestionsGenerated":
        initiated = AssessmentInitiated(
            record_id, data["attemptNumber"], len(data["questions"]), student
        )
        return AssessmentInitiatedWebhook(
            id=event_id, type=INITIATED, created_at=at, data=initiated
        )
    if kind == "ReviewerInvited":
        reviewer = ReviewerRef(data["reviewer"]["company"], data["reviewer"]["endorsementType"])
        invited = EndorsementInitiated(record_id, reviewer, data["expiresAt"], student)
        return EndorsementInitiatedWebhook(id=event_id, type=INITIATED, created_at=at, data=invited)
    if kind == "VerificationRevoked":
        skills = msgspec.convert(data["skills"], list[SkillOutcome])
        revoked = VerificationRevoked(record_id, skills, data["reason"], at, student)
        return RevokedWebhook(id=event_id, type=REVOKED, created_at=at, data=revoked)
    if kind == "SkillsEndorsed":
        skills = msgspec.convert(data["skills"], list[SkillOutcome])
        endorsed = Endorsed.of(record_id, skills, data["skillsUpdated"], webhook)
        reviewer = ReviewerRef(data["company"], data["endorsementType"])
        completed = EndorsementCompleted(**asdict(endorsed), student=student, reviewer=reviewer)
        return EndorsementCompletedWebhook(
            id=event_id, type=COMPLETED, created_at=at, data=completed
        )
    submitted = Submitted.of(record_id, msgspec.convert(data, Scoring), webhook)
    scored = AssessmentCompleted(**asdict(submitted), student=student)
    return AssessmentCompletedWebhook(id=event_id, type=COMPLETED, created_at=at, data=scored)


class Fanout:
    """Turns public events into queued webhook deliveries, once per target and event."""

    def __init__(
        self, known: KnownRecords, targets: WebhookTargets, deliveries: Deliveries
    ) -> None:
        self.known = known
        self.targets = targets
        self.deliveries = deliveries

    def deliveries_for(self, message: dict[str, Any], position: int | None) -> list[Delivery]:
        """The deliveries an event stored at `position` calls for: the tenant's endpoints
        as they stood then (or later), and the record's callback."""
        kind = webhook_type(message)
        if kind is None:
            return []
        record = self.known.facts(message)
        body = msgspec.json.encode(webhook_body(message, record)).decode()
        targets = self.targets.targets(
            record.tenant, record.mode, kind, record.callback_url, position
        )
        trace = traceparent()  # the event's trace, when it is handled in one
        return [
            Delivery(
                id=new_delivery_id(),
                tenant=record.tenant,
                mode=record.mode,
                endpoint_id=target.endpoint_id,
                url=target.url,
                secret=target.secret,
                event_id=message["id"],
                type=kind,
                payload=body,
                traceparent=trace,
            )
            for target in targets
        ]

    def handle(self, message: dict[str, Any], now: float, position: int | None) -> int:
        """Learn the record if the event starts it; queue the deliveries of the event
        (stored at `position`; None: unknown, so as of now); return how many were new."""
        self.known.learn(message)
        return self.deliveries.enqueue(self.deliveries_for(message, position), now)
