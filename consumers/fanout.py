"""What a public event sets going downstream: the webhook deliveries it queues."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from application.store import EventStore
from application.webhooks import Webhooks
from domain.assessment import Assessment
from domain.scoring import result_message
from domain.webhooks import CALLBACK
from infrastructure.deliveries import Deliveries, Delivery, new_delivery_id


def record_of(store: EventStore, message: dict[str, Any]) -> Assessment:
    """The record a public message is about (LookupError if the store has none)."""
    record = store.find(Assessment, UUID(message["recordVerificationId"][-32:]))
    if record is None:
        raise LookupError(f"no record {message['recordVerificationId']}")
    return record


def webhook_type(message: dict[str, Any]) -> str | None:
    """The webhook an event fires: the first generation of a record, and every score."""
    if message["type"] == "QuestionsGenerated" and message["data"]["attemptNumber"] == 1:
        return "verification.initiated"
    if message["type"] == "Scored":
        return "verification.completed"
    return None


def webhook_data(message: dict[str, Any], record: Assessment) -> dict[str, Any]:
    """The data of a webhook: for completed, what submit returned plus student.studentId."""
    data = message["data"]
    student = {"studentId": record.student["studentId"]}
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

    def __init__(self, store: EventStore, webhooks: Webhooks, deliveries: Deliveries) -> None:
        self.store = store
        self.webhooks = webhooks
        self.deliveries = deliveries

    def deliveries_for(self, message: dict[str, Any]) -> list[Delivery]:
        """The deliveries an event calls for: tenant endpoints and the record's callback."""
        kind = webhook_type(message)
        if kind is None:
            return []
        record = record_of(self.store, message)
        body = msgspec.json.encode(
            {
                "id": message["id"],
                "type": kind,
                "createdAt": message["occurredAt"],
                "data": webhook_data(message, record),
            }
        ).decode()
        webhooks = self.webhooks.find(record.tenant, record.mode)
        targets = [
            (endpoint["id"], endpoint["url"], endpoint["secret"])
            for endpoint in (webhooks.subscribers(kind) if webhooks else [])
        ]
        if record.callback_webhook_url:
            secret = self.webhooks.callback_secret_of(record.tenant, record.mode)
            targets.append((CALLBACK, record.callback_webhook_url, secret))
        return [
            Delivery(
                id=new_delivery_id(),
                tenant=record.tenant,
                mode=record.mode,
                endpoint_id=endpoint_id,
                url=url,
                secret=secret,
                event_id=message["id"],
                type=kind,
                payload=body,
            )
            for endpoint_id, url, secret in targets
        ]

    def handle(self, message: dict[str, Any], now: float) -> int:
        """Queue the deliveries of one event; return how many were new."""
        return self.deliveries.enqueue(self.deliveries_for(message), now)
