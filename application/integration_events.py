"""The public, versioned form of events and state: what may leave the service."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.domain import AggregateEvent
from eventsourcing.utils import get_topic

from application.integration_forms import (
    CONTENT_TYPE,
    SOURCE,
    SPECVERSION,
    cloudevents_type,
    data_form,
    headers_form,
    message_form,
    public_fields,
    public_value,
)
from application.read_models import Record, RecordReviewer
from application.store import EventStore
from domain.assessment import Assessment, record_verification_id
from domain.moments import iso
from domain.values import Contact

# The events that leave the service (in their public form): those of the assessments, each
# with what its message tells a downstream service, in its words (the AsyncAPI summary).
PUBLIC_EVENTS: dict[type[AggregateEvent], str] = {
    Assessment.VerificationStarted: (
        "A partner started verifying a student's skills, by assessment or by human "
        "endorsement: the record's tenant, mode, student (by id), skills, sources and "
        "callback URL. A record's first message."
    ),
    Assessment.QuestionsPrepared: (
        "The next attempt's questions were made ahead of its generate, about the record's "
        "sources (without their answers): what made them, the seed, and why any came from a "
        "bank instead. The next generate shows them."
    ),
    Assessment.QuestionsGenerated: (
        "The questions of an attempt were shown to the student (without their answers), each "
        "with its origin (bank or generated), and what made them. The record's first one "
        "fires the verification.initiated webhook."
    ),
    Assessment.AnswersSubmitted: "The student answered every question of an attempt.",
    Assessment.Scored: (
        "An attempt was scored: the score, whether it passed, and each skill's new status. "
        "Fires the verification.completed webhook and the result email."
    ),
    Assessment.Locked: (
        "A pass (or an endorsement) locked the record: nothing more can be attempted."
    ),
    Assessment.ReviewerInvited: (
        "A reviewer was invited to endorse the record's skills (a later invitation replaces "
        "the earlier one; the reviewer by company and relation, never by name or email). The "
        "first fires the verification.initiated webhook."
    ),
    Assessment.SkillsEndorsed: (
        "The reviewer endorsed some of the record's skills; the others are rejected. Fires "
        "the verification.completed webhook and the student's confirmation."
    ),
    Assessment.CredentialsIssued: (
        "The record's verified skills were issued as Open Badges 3.0 credentials: each one's"
        " id, skill and place on a status list, and the issuer. GET"
        " /api/v1/verifications/{id}/credentials answers them signed."
    ),
    Assessment.VerificationRevoked: (
        "The partner revoked the record's verification: its verified skills are revoked, and"
        " its credentials with them (their status lists say so at once). Fires the"
        " verification.revoked webhook."
    ),
    Assessment.PersonalDataErased: (
        "The partner erased the personal data of the record's student (and of its reviewer): "
        "a service that kept any of it should erase its copy too. The record's skills, scores"
        " and dates stay; its credentials are revoked."
    ),
}
ASSESSMENT_TOPICS = tuple(get_topic(event_class) for event_class in PUBLIC_EVENTS)
STARTED = ASSESSMENT_TOPICS[0]  # a record's first event: tenant, mode, student, callback URL


def event_id(event: AggregateEvent) -> str:
    """A stable id of a stored event: the same on every replay, for consumers to dedupe on."""
    return str(
        uuid5(NAMESPACE_URL, f"assess:event:{event.originator_id}:{event.originator_version}")
    )


def public_data(event: AggregateEvent) -> msgspec.Struct:
    """An event's public fields, in its public form (application/integration_forms.py)."""
    values = (getattr(event, name) for name in public_fields(type(event)))
    return data_form(type(event))(
        *(iso(value) if isinstance(value, datetime) else public_value(value) for value in values)
    )


def public_event(event: AggregateEvent) -> dict[str, Any]:
    """An event as downstream consumers see it: no secret, no personal data (the history
    adds the name and email, application/personal.py)."""
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "occurredAt": iso(event.timestamp),
        "data": msgspec.to_builtins(public_data(event)),
    }


def public_state(assessment: Assessment | None, student: dict[str, Any]) -> dict[str, Any]:
    """A record's state as its events fold to it (with its student as the history shows
    them), without answer keys."""
    if assessment is None:
        return {}
    return {
        "recordVerificationId": assessment.record_verification_id,
        "status": assessment.status,
        "isLocked": assessment.is_locked,
        "student": student,
        "skills": msgspec.to_builtins(list(assessment.skill_status.values())),
        "attempts": msgspec.to_builtins(assessment.attempts),
        "questionSetPending": assessment.question_set is not None,
        "callbackWebhookUrl": assessment.callback_webhook_url,
        "createdAt": iso(assessment.created_on),
        "updatedAt": iso(assessment.modified_on),
        "version": assessment.version,
    }


def record_summary(assessment: Assessment, reviewer: Contact | None) -> dict[str, Any]:
    """A record as GET /verifications/{id} shows it (the record view holds the same), with
    its reviewer's contact as shown."""
    return Record(
        record_verification_id=assessment.record_verification_id,
        student_id=assessment.student.student_id,
        status=assessment.status,
        is_locked=assessment.is_locked,
        skills=list(assessment.skill_status.values()),
        attempts=list(assessment.attempts),
        created_at=iso(assessment.created_on),
        updated_at=iso(assessment.modified_on),
        method=assessment.method,
        reviewer=RecordReviewer.of(assessment.reviewer, reviewer) if assessment.reviewer else None,
    ).plain()


def sequence(position: int) -> str:
    """A notification id as the ce_sequence header gives it (text order is log order)."""
    return f"{position:020d}"


class PublicMessages:
    """Builds the public message of a stored event (what Kafka and the consumers see)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._record_ids: OrderedDict[UUID, str] = OrderedDict()

    def message(
        self, event: AggregateEvent, position: int
    ) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """The public message of an event stored at `position` (its notification id) and
        its CloudEvents binary-mode headers."""
        event_class, type_name = type(event), type(event).__name__
        message_id, occurred_at = event_id(event), iso(event.timestamp)
        record_id = self._record_id(event)
        message = message_form(event_class)(
            id=message_id,
            record_verification_id=record_id,
            version=event.originator_version,
            type=type_name,
            occurred_at=occurred_at,
            data=public_data(event),
        )
        headers = headers_form(event_class)(
            ce_specversion=SPECVERSION,
            ce_id=message_id,
            ce_source=SOURCE,
            ce_type=cloudevents_type(type_name),
            ce_time=occurred_at,
            ce_subject=record_id,
            ce_sequence=sequence(position),
            content_type=CONTENT_TYPE,
        )
        encoded = [(name, value.encode()) for name, value in msgspec.to_builtins(headers).items()]
        return msgspec.to_builtins(message), encoded

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
