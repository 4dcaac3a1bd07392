"""A student's personal data under a tenant and mode: everything held about them as one
document (GET /students/{id}/export), and its erasure, at once and for good
(DELETE /students/{id}). Both read personal data only through the PersonalData port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

import msgspec
from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import IntegrityError

from application.callers import TenantCaller
from application.integration_events import event_id
from application.personal import reviewer_contact, shown, student_contact, work
from application.ports import PersonalData, SentEmails
from application.queries import fold
from application.read_models import RecordReviewer, StudentSkill
from application.results import Erased
from application.store import EventStore
from domain.assessment import Assessment
from domain.errors import Conflict
from domain.moments import iso
from domain.values import Attempt, Contact, SkillOutcome, Source

# The events that send an email, which email, and to whom.
EMAILS: dict[type[AggregateEvent], tuple[str, str]] = {
    Assessment.Scored: ("result", "student"),
    Assessment.ReviewerInvited: ("invitation", "reviewer"),
    Assessment.SkillsEndorsed: ("confirmation", "student"),
}


class StudentContact(msgspec.Struct, frozen=True, rename="camel"):
    """A record's student as the export shows them ("[erased]" once erased)."""

    student_id: str
    name: str
    email: str


class NameAndEmail(msgspec.Struct, frozen=True):
    """The name and email address held of a student now."""

    name: str
    email: str


class EmailSent(msgspec.Struct, frozen=True, rename="camel"):
    """An email sent about a record: which, to whom, its subject line and when."""

    type: str
    to: str
    subject: str | None
    sent_at: str


class ExportedRecord(msgspec.Struct, frozen=True, rename="camel"):
    """A record of the student, with its attempts, skills, reviewer and emails."""

    record_verification_id: str
    method: str
    status: str
    is_locked: bool
    student: StudentContact
    sources: list[Source]
    proof_urls: dict[str, list[str]]
    skills: list[SkillOutcome]
    attempts: list[Attempt]
    reviewer: RecordReviewer | None
    emails: list[EmailSent]
    personal_data_erased: bool
    created_at: str
    updated_at: str


class StudentExport(msgspec.Struct, frozen=True, rename="camel"):
    """Everything held about a student under a tenant and mode. personalData is what is
    held now (the newest record's contact; null once erased, or if none is held)."""

    student_id: str
    exported_at: str
    personal_data: NameAndEmail | None
    records: list[ExportedRecord]
    skills: list[StudentSkill]


class Students:
    """Exports and erases a student's personal data."""

    def __init__(
        self,
        store: EventStore,
        personal: PersonalData,
        sent: SentEmails,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.personal = personal
        self.sent = sent
        self.clock = clock

    def _records(
        self, tenant: TenantCaller, student_id: str
    ) -> list[tuple[Assessment, list[AggregateEvent]]]:
        """The student's records in the tenant and mode, oldest first, each with its events."""
        found = []
        for _, record_id in self.personal.records(tenant.tenant, tenant.mode, student_id):
            events = cast(
                "list[AggregateEvent]", list(self.store.repository.event_store.get(record_id))
            )
            record = fold(events)
            if record is not None:
                found.append((record, events))
        return sorted(found, key=lambda pair: pair[0].created_on)

    def export(
        self, tenant: TenantCaller, student_id: str, skills: list[StudentSkill]
    ) -> StudentExport:
        """Everything held about the student (skills: the skill view's, read by the caller)."""
        records = self._records(tenant, student_id)
        students = self.personal.reveal([student_contact(record) for record, _ in records])
        reviewers = self._reviewers([record for record, _ in records])
        sent = self.sent.sent([event_id(e) for _, events in records for e in _emailed(events)])
        exported = []
        for (record, events), student, reviewer in zip(records, students, reviewers, strict=True):
            contact = shown(student)
            sources, proofs = work(record.sources, record.skills, student)
            emails = [
                EmailSent(*EMAILS[type(event)], sent[key].subject, sent[key].sent_at)
                for event in _emailed(events)
                if (key := event_id(event)) in sent
            ]
            exported.append(
                ExportedRecord(
                    record_verification_id=record.record_verification_id,
                    method=record.method,
                    status=record.status,
                    is_locked=record.is_locked,
                    student=StudentContact(student_id, contact.name, contact.email),
                    sources=sources,
                    proof_urls={skill.skill_id: skill.proof_urls for skill in proofs},
                    skills=list(record.skill_status.values()),
                    attempts=list(record.attempts),
                    reviewer=RecordReviewer.of(record.reviewer, reviewer)
                    if record.reviewer
                    else None,
                    emails=emails,
                    personal_data_erased=record.personal_data_erased,
                    created_at=iso(record.created_on),
                    updated_at=iso(record.modified_on),
                )
            )
        current = self.personal.current_subject(tenant.tenant, tenant.mode, student_id)
        held = [s for (r, _), s in zip(records, students, strict=True) if _subject(r) == current]
        now = held[-1] if held else None
        return StudentExport(
            student_id=student_id,
            exported_at=iso(self.clock()),
            personal_data=NameAndEmail(now.name, now.email) if now else None,
            records=exported,
            skills=skills,
        )

    def _reviewers(self, records: list[Assessment]) -> list[Contact | None]:
        boxes = {at: box for at, record in enumerate(records) if (box := reviewer_contact(record))}
        contacts = dict(zip(boxes, self.personal.reveal(list(boxes.values())), strict=True))
        return [contacts.get(at) for at in range(len(records))]

    def erase(self, tenant: TenantCaller, student_id: str) -> Erased:
        """Erase the student's personal data in the tenant and mode: their current subject's
        key goes, each of its records takes PersonalDataErased (one transaction), and the
        copies of its emails the service keeps are removed. A repeat answers the same. Any
        erasure also marks a record of an erased subject that its own erasure could not (one
        saved under it by a process that stopped before marking it itself)."""
        for _ in range(5):  # a command saved on one of the records meanwhile: again
            subject = self.personal.current_subject(tenant.tenant, tenant.mode, student_id)
            loaded = self._records(tenant, student_id)
            records = [record for record, _ in loaded]
            owned = [record for record in records if _subject(record) == subject]
            at = self.clock()
            marked = [
                record
                for record in owned + self._strays(records, subject)
                if record.erase_personal_data(at)
            ]
            if subject is None and (
                done := self.personal.last_erasure(tenant.tenant, tenant.mode, student_id)
            ):
                try:
                    self.store.save(*marked)
                except IntegrityError:
                    continue
                return done
            try:
                answer = self.personal.erase(
                    tenant.tenant,
                    tenant.mode,
                    student_id,
                    subject,
                    marked,
                    at,
                    seen=[record.id for record in owned],
                )
            except IntegrityError:
                continue
            emails = [e for r, events in loaded if _subject(r) == subject for e in _emailed(events)]
            self.sent.forget([event_id(email) for email in emails])
            return answer
        raise Conflict("the student's records kept changing: try again")

    def _strays(self, records: list[Assessment], current: str | None) -> list[Assessment]:
        """Records of an erased subject (not the current one, and its key gone) that were
        not marked as erased."""
        unmarked = [r for r in records if _subject(r) != current and not r.personal_data_erased]
        gone = {
            subject for subject in {_subject(r) for r in unmarked} if self.personal.erased(subject)
        }
        return [r for r in unmarked if _subject(r) in gone]


def _emailed(events: Sequence[AggregateEvent]) -> list[AggregateEvent]:
    return [event for event in events if type(event) in EMAILS]


def _subject(record: Assessment) -> str:
    return record.student.contact.subject
