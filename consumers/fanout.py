"""What a public event sets going downstream: the webhook deliveries it queues."""

from __future__ import annotations

from typing import Any

import msgspec

from application.webhooks import Webhooks
from consumers.records import KnownRecords, RecordFacts
from domain.scoring import result_message
from infrastructure.deliveries import Deliveries, Delivery, new_delivery_id


def webhook_type(message: dict[str, Any]) -> str | None:
    """The webhook an event fires: the first generation of a record, and every score."""
    if message["type"] == "QuestionsGenerated" and message["data"]["attemptNumber"] == 1:
        return "verification.initiated"
    if message["type"] == "Scored":
        return "verification.completed"
    return None


def webhook_data(message: dict[str, Any], record: RecordFacts) -> dict[str, Any]:
    """The data of a webhook: for completed, what submit returned plus student.studentId."""
    data = message["data"]
    student = {"studentId": record.student_id}
    if message["type"] == "QuestionsGenerated":
        return {
            "recordVerificationId": message["recordVerificationId"],
            "attemptNumber": data["attemptNumber"],
            "totalQuestions": len(data["questions"]),
            "student": student,
        }
    return {
        "recordVerificationId": message["recordVerificationId"],
        "result": {
            "score": data["score"],
            "passed": data["passed"],
            "attemptNumber": data["attemptNumber"],
            "correctAnswers": data["correctAnswers"],
            "totalQuestions": data["totalQuestions"],
            "message": result_message(data["passed"], data["score"]),
        },
        "verifiedSkills": data["skills"],
        "skillsUpdated": data["skillsUpdated"],
        "webhook": {"sent": True, "status": "queued"},
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
            )
            for target in targets
        ]

    def handle(self, message: dict[str, Any], now: float) -> int:
        """Learn the record if the event starts it; queue the deliveries of the event;
        return how many were new."""
        self.known.learn(message)
        return self.deliveries.enqueue(self.deliveries_for(message), now)
