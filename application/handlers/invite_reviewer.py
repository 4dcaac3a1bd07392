"""POST /humanverification/reviewer: invite (or replace) the reviewer of a human record."""

from __future__ import annotations

from datetime import timedelta

from eventsourcing.domain import Aggregate

from application.access import digest, reviewer_token
from application.callers import Caller
from application.commands import InviteReviewer
from application.personal import student_contact
from application.results import Invited, WebhookStatus
from application.service import AssessmentService, Handler
from domain.errors import InvalidInput
from domain.moments import iso
from domain.values import Contact


def decide(
    service: AssessmentService, caller: Caller, command: InviteReviewer
) -> tuple[Invited, list[Aggregate]]:
    """The record with its reviewer invited; the link's token goes to the reviewer only
    (the email consumer derives it again), the record keeps its hash."""
    record = service.record_of(caller, command.record_verification_id)
    student = service.personal.reveal([student_contact(record)])[0]  # None once erased
    if student is not None and student.same_mailbox(command.email):
        raise InvalidInput("email: the reviewer must be someone other than the student")
    now = service.clock()
    expires_at = now + timedelta(seconds=service.settings.reviewer_ttl_seconds)
    contact = Contact(command.name, command.email)
    invitation = record.invite(
        command.company,
        command.endorsement_type,
        lambda subject, version: service.personal.seal(subject, contact, record.id, version),
        lambda n: digest(reviewer_token(service.link_key, record.id, n)),
        expires_at,
        now,
        service.access.asker(record.api_key_id, record.tenant),
    )
    invited = Invited(
        record_verification_id=record.record_verification_id,
        reviewer_email=command.email,
        expires_at=iso(expires_at),
        # The first invitation fires verification.initiated; a replacement fires none.
        webhook=service.webhook_status(record, "verification.initiated")
        if invitation == 1
        else WebhookStatus(sent=False, status="already_initiated"),
    )
    return invited, [record]


invite_reviewer = Handler(Invited, decide)
