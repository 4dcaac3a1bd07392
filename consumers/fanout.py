"""What a public event sets going downstream: the webhook deliveries it queues."""

from __future__ import annotations

from typing import Any

import msgspec

from application.webhooks import Webhooks
from consumers.records import KnownRecords, RecordFacts
from domain.scoring import result_message
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
        return "verification.initiated"
    if kind in ("Scored", "SkillsEndorsed"):
        return "verification.completed"
    return None


def webhook_data(message: dict[str, Any], record: RecordFacts) -> dict[str, Any]:
    """The data of a webhook: for completed, what submit (or the reviewer's verify) returned
    plus student.studentId; ids and outcomes only, no personal data."""
    kind, data = message["type"], message["data"]
    about = {"recordVerificationId": message["recordVerificationId"]}
    student = {"studentId": record.student_id}
    webhook = {"sent": True, "status": "queued"}
    if kind == "QuestionsGenerated":
        return {
            **about,
            "attemptNumber": data["attemptNumber"],
            "totalQuestions": len(data["questions"]),
            "student": student,
        }
    if kind == "ReviewerInvited":
        reviewer = data["reviewer"]
        return {
            **about,
            "reviewer": {
                "company": reviewer["company"],
                "endorsementType": reviewer["endorsementType"],
            },
            "expiresAt": data["expiresAt"],
            "student": student,
        }
    if kind == "SkillsEndorsed":
        verified = sum(skill["verified"] for skill in data["skills"])
        return {
            **about,
            "skillsVerified": verified,
            "skillsRejected": len(data["skills"]) - verified,
            "verifiedSkills": data["skills"],
            "skillsUpdated": data["skillsUpdated"],
            "webhook": webhook,
            "student": student,
            "reviewer": {"company": data["company"], "endorsementType": data["endorsementType"]},
        }
    return {
        **about,
        "result": {
            "score": data["score"],
            "passed": data["passed"],
            "attemptNumber": data["attemptNumber"],
            "correctAnswers": data["correctAnswers"],
            "totalQuestions": data["totalQuestions"],
            "message": result_message(data["passed"], data["score"], len(data["skills"])),
        },
        "verifiedSkills": data["skills"],
        "skillsUpdated": data["skillsUpdated"],
        "webhook": webhook,
        "student": student,
    }


class Fanout:
    """Turns public events into queued webhook deliveries, once per target and event."""

    def __init__(self, known: KnownRecords, webhooks: Webhooks, deliveries: Deliveries) -> None:
        self.known = known
        self.webhooks = webhooks
        self.deliveries = deliveries

    def deliveries_for(self, message: dict[str, Any]) -> list[Delivery]:
        """The deliveries an event calls for: tenant endpoints and the record's callback."""
        kind = webhook_type(message)
        if kind is None:
            return []
        record = self.known.facts(message)
        body = msgspec.json.encode(
            {
                "id": message["id"],
                "type": kind,
                "createdAt": message["occurredAt"],
                "data": webhook_data(message, record),
            }
        ).decode()
        targets = self.webhooks.targets(record.tenant, record.mode, kind, record.callback_url)
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

    def handle(self, message: dict[str, Any], now: float) -> int:
        """Learn the record if the event starts it; queue the deliveries of the event;
        return how many were new."""
        self.known.learn(message)
        return self.deliveries.enqueue(self.deliveries_for(message), now)
