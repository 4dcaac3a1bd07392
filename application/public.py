"""The public, versioned form of events and state: what may leave the service."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from functools import cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.domain import AggregateEvent
from eventsourcing.utils import get_topic

from application.shapes import RecordReviewer, RecordSummary
from application.store import EventStore
from domain.assessment import Assessment, record_verification_id
from domain.moments import iso

# The events that leave the service (in their public form): those of the assessments.
ASSESSMENT_TOPICS = tuple(
    get_topic(event_class)
    for event_class in (
        Assessment.VerificationStarted,
        Assessment.QuestionsGenerated,
        Assessment.AnswersSubmitted,
        Assessment.Scored,
        Assessment.Locked,
        Assessment.ReviewerInvited,
        Assessment.SkillsEndorsed,
    )
)
STARTED = ASSESSMENT_TOPICS[0]  # a record's first event: tenant, mode, student, callback URL
SOURCE = "/assess"  # the CloudEvents source of the public messages
# Base attributes every stored event has, shown as version/occurredAt instead.
_BASE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
# Secrets that never leave the service: answer keys, session and reviewer-token hashes;
# and the trace context a traced command's events are stored with (infrastructure/tracing.py).
_HIDDEN = {"answer_key", "session_token_hash", "token_hash", "traceparent"}


def event_id(event: AggregateEvent) -> str:
    """A stable id of a stored event: the same on every replay, for consumers to dedupe on."""
    return str(
        uuid5(NAMESPACE_URL, f"assess:event:{event.originator_id}:{event.originator_version}")
    )


@cache
def camel(name: str) -> str:
    """snake_case to camelCase."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _plain(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else msgspec.to_builtins(value)


def public_event(event: AggregateEvent) -> dict[str, Any]:
    """An event as auditors and downstream consumers see it."""
    fields = vars(event)
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "occurredAt": iso(event.timestamp),
        "data": {
            camel(name): _plain(value)
            for name, value in fields.items()
            if name not in _BASE and name not in _HIDDEN
        },
    }


def public_state(assessment: Assessment | None) -> dict[str, Any]:
    """A record's state as its events fold to it, without answer keys."""
    if assessment is None:
        return {}
    return {
        "recordVerificationId": assessment.record_verification_id,
        "status": assessment.status,
        "isLocked": assessment.is_locked,
        "student": msgspec.to_builtins(assessment.student),
        "skills": msgspec.to_builtins(list(assessment.skill_status.values())),
        "attempts": msgspec.to_builtins(assessment.attempts),
        "questionSetPending": assessment.question_set is not None,
        "callbackWebhookUrl": assessment.callback_webhook_url,
        "createdAt": iso(assessment.created_on),
        "updatedAt": iso(assessment.modified_on),
        "version": assessment.version,
    }


def record_summary(assessment: Assessment) -> dict[str, Any]:
    """A record as GET /verifications/{id} shows it (the record view holds the same)."""
    return RecordSummary(
        record_verification_id=assessment.record_verification_id,
        student_id=assessment.student.student_id,
        status=assessment.status,
        is_locked=assessment.is_locked,
        skills=list(assessment.skill_status.values()),
        attempts=list(assessment.attempts),
        created_at=iso(assessment.created_on),
        updated_at=iso(assessment.modified_on),
        method=assessment.method,
        reviewer=RecordReviewer.of(assessment.reviewer) if assessment.reviewer else None,
    ).plain()


class PublicMessages:
    """Builds the public message of a stored event (what Kafka and the consumers see)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._record_ids: OrderedDict[UUID, str] = OrderedDict()

    def message(self, event: AggregateEvent) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """The public message of an event and its CloudEvents binary-mode headers."""
        public = public_event(event)
        message = {
            "id": event_id(event),
            "recordVerificationId": self._record_id(event),
            **public,
        }
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", message["id"].encode()),
            ("ce_source", SOURCE.encode()),
            ("ce_type", f"assess.{public['type']}.v1".encode()),
            ("ce_time", public["occurredAt"].encode()),
            ("ce_subject", message["recordVerificationId"].encode()),
            ("content-type", b"application/json"),
        ]
        return message, headers

    def _record_id(self, event: AggregateEvent) -> str:
        """ver_<mode>_<hex>: the mode is in the record's first event, remembered here."""
        if isinstance(event, Assessment.VerificationStarted):
            found = record_verification_id(event.mode, event.originator_id)
        else:
            found = self._record_ids.get(event.originator_id) or self._load_record_id(event)
        self._record_ids[event.originator_id] = found
        self._record_ids.move_to_end(event.originator_id)
        if len(self._record_ids) > 100_000:
            self._record_ids.popitem(last=False)
        return found

    def _load_record_id(self, event: AggregateEvent) -> str:
        [started] = self.store.repository.event_store.get(event.originator_id, lte=1)
        assert isinstance(started, Assessment.VerificationStarted)
        return record_verification_id(started.mode, started.originator_id)
