"""Personal data as readers see it: the contacts a record's events hold, revealed through
the PersonalData port, and "[erased]" where the key that sealed them is gone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from eventsourcing.domain import AggregateEvent

from application.ports import PersonalData, SealedContact
from application.read_models import ERASED
from domain.assessment import Assessment
from domain.values import Contact, Skill, Source

GONE = Contact(ERASED, ERASED)


def shown(contact: Contact | None) -> Contact:
    """A contact as readers see it: "[erased]" for each field once it is erased."""
    return GONE if contact is None else contact


def work(
    sources: Sequence[Source], skills: Sequence[Skill], student: Contact | None
) -> tuple[list[Source], list[Skill]]:
    """A record's sources, and its skills with their proof links: held in clear by records
    started before they were sealed, else in the student's sealed contact (none once the
    student is erased)."""
    sealed = shown(student)
    return [*sources, *sealed.sources], [
        Skill(
            skill.skill_id,
            skill.name,
            [*skill.proof_urls, *sealed.proof_urls.get(skill.skill_id, [])],
        )
        for skill in skills
    ]


def sealed_contact_of(event: AggregateEvent) -> SealedContact | None:
    """The contact an event holds, if any: a start's student or an invitation's reviewer."""
    if isinstance(event, Assessment.VerificationStarted):
        return SealedContact(event.student.contact, event.originator_id, event.originator_version)
    if isinstance(event, Assessment.ReviewerInvited):
        return SealedContact(event.reviewer.contact, event.originator_id, event.originator_version)
    return None


def student_contact(record: Assessment) -> SealedContact:
    """Where a record's student's contact is: its first event."""
    return SealedContact(record.student.contact, record.id, 1)


def reviewer_contact(record: Assessment) -> SealedContact | None:
    """Where a record's reviewer's contact is: the invitation that named them."""
    if record.reviewer is None:
        return None
    return SealedContact(record.reviewer.contact, record.id, record.reviewer_version)


def person(public: dict[str, Any], contact: Contact | None) -> dict[str, Any]:
    """A student or a reviewer in an event's public form (ids, no contact), with their name
    and email after the id, as the history shows them."""
    shown_contact = shown(contact)
    head = {"studentId": public["studentId"]} if "studentId" in public else {}
    rest = {key: value for key, value in public.items() if key != "studentId"}
    return {**head, "name": shown_contact.name, "email": shown_contact.email, **rest}


def with_contacts(
    personal: PersonalData, events: Sequence[AggregateEvent], public: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Events in their public form (`public`, in the same order) with the student's and
    the reviewer's name and email where their events hold them."""
    boxes = {at: box for at, event in enumerate(events) if (box := sealed_contact_of(event))}
    contacts = dict(zip(boxes, personal.reveal(list(boxes.values())), strict=True))
    for at, contact in contacts.items():
        data, event = public[at]["data"], events[at]
        field = "student" if "student" in data else "reviewer"
        data[field] = person(data[field], contact)
        if isinstance(event, Assessment.VerificationStarted):
            sources, skills = work(event.sources, event.skills, contact)
            data["sources"], data["skills"] = msgspec.to_builtins((sources, skills))
    return public
