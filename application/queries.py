"""Queries of the event store itself: a record's history as of a moment, a record the views
have not seen yet, and what a reviewer's link shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import AggregateEvent

from application.access import Access, digest
from application.callers import Caller, ReviewerCaller, SessionCaller, tenant_of
from application.integration_events import public_event, public_state, record_summary
from application.personal import reviewer_contact, shown, student_contact, with_contacts, work
from application.ports import PersonalData
from application.results import (
    EndorserInfo,
    History,
    HistoryEvent,
    RequesterInfo,
    ReviewPage,
    ReviewSkill,
)
from application.store import EventStore
from domain.assessment import Assessment
from domain.errors import MissingVerificationId, VerificationNotFound
from domain.moments import iso

RECORD_ID = re.compile(r"ver_(live|test)_([0-9a-f]{32})")


def fold(events: list[AggregateEvent]) -> Assessment | None:
    """The record these events make, or None before its first."""
    state: Assessment | None = None
    for event in events:
        state = cast("Assessment", event.mutate(state))
    return state


def record_of(store: EventStore, caller: Caller, record_verification_id: str | None) -> Assessment:
    """The record a command is about: the session's own, or the tenant's by its id."""
    if isinstance(caller, SessionCaller):
        if record_verification_id not in (None, caller.record.record_verification_id):
            raise VerificationNotFound("this session is bound to another record")
        return caller.record
    tenant = tenant_of(caller)
    if not record_verification_id:
        raise MissingVerificationId("recordVerificationId is required with a tenant key")
    assessment = find_record(store, record_verification_id)
    if assessment is None or (assessment.tenant, assessment.mode) != (
        tenant.tenant,
        tenant.mode,
    ):
        raise VerificationNotFound(f"no verification '{record_verification_id}'")
    return assessment


def find_record(store: EventStore, record_verification_id: str) -> Assessment | None:
    """The record an id names, if it exists in the mode the id says."""
    match = RECORD_ID.fullmatch(record_verification_id)
    if match is None:
        return None
    assessment = store.find(Assessment, UUID(match.group(2)))
    return assessment if assessment and assessment.mode == match.group(1) else None


class RecordQueries:
    """Answers from the event store, never from a view."""

    def __init__(
        self,
        store: EventStore,
        personal: PersonalData,
        access: Access,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.personal = personal
        self.access = access
        self.clock = clock

    def history(
        self, caller: Caller | None, record_verification_id: str, as_of: datetime | None
    ) -> History:
        """A record's events up to a moment and their fold; caller None is the operator."""
        tenant = None if caller is None else tenant_of(caller)
        match = RECORD_ID.fullmatch(record_verification_id)
        stored = (
            cast(
                "list[AggregateEvent]", list(self.store.repository.event_store.get(UUID(match[2])))
            )
            if match
            else []
        )
        record = fold(stored)  # read once: the whole record decides who may see it
        if (
            match is None
            or record is None
            or record.mode != match[1]
            or (tenant is not None and (record.tenant, record.mode) != (tenant.tenant, tenant.mode))
        ):
            raise VerificationNotFound(f"no verification '{record_verification_id}'")
        events = [event for event in stored if as_of is None or event.timestamp <= as_of]
        shown_events = with_contacts(self.personal, events, [public_event(e) for e in events])
        student = shown_events[0]["data"]["student"] if shown_events else {}
        return History(
            events=msgspec.convert(shown_events, list[HistoryEvent]),
            state=public_state(fold(events), student),
        )

    def record(self, caller: Caller, record_verification_id: str) -> dict[str, Any]:
        """A record as its events fold to it now (for reads the record view has not seen)."""
        record = record_of(self.store, tenant_of(caller), record_verification_id)
        box = reviewer_contact(record)
        return record_summary(record, self.personal.reveal([box])[0] if box else None)

    def reviewer(self, token: str | None, *, usable: bool = True) -> ReviewerCaller:
        """The reviewer of a link that is the record's current one and, if usable, unexpired
        and unused (a command checks those itself, after a replay of its Idempotency-Key)."""
        caller = self.access.reviewer(token)
        if usable:
            caller.record.check_reviewer(digest(caller.token), self.clock())
        else:
            caller.record.check_link(digest(caller.token))
        return caller

    def review_page(self, caller: ReviewerCaller) -> ReviewPage:
        """What the reviewer of a good link is asked to judge."""
        record, reviewer_at = caller.record, reviewer_contact(caller.record)
        reviewer = record.reviewer
        assert reviewer is not None
        assert reviewer_at is not None
        assert record.reviewer_expires_at is not None
        student, endorser = map(shown, self.personal.reveal([student_contact(record), reviewer_at]))
        sources, skills = work(record.sources, record.skills, student)
        return ReviewPage(
            record_verification_id=record.record_verification_id,
            endorsement_type=reviewer.endorsement_type,
            expires_at=iso(record.reviewer_expires_at),
            endorser_info=EndorserInfo(endorser.name, reviewer.company, endorser.email),
            requester_info=RequesterInfo(student.name, student.email, record.student.student_id),
            sources=sources,
            skills=[ReviewSkill(s.skill_id, s.name, s.proof_urls) for s in skills],
        )
