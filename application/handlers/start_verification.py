"""POST /verify: start verifying a student's skills, each of which must have a bank."""

from __future__ import annotations

import logging
from datetime import timedelta

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.access import digest, new_session_token
from application.callers import Caller, tenant_of
from application.commands import StartVerification
from application.results import Started
from application.service import AssessmentService, Handler
from domain.assessment import Assessment
from domain.endorsement import ASSESSMENT
from domain.moments import iso
from domain.values import Contact, Skill, Source

log = logging.getLogger("assess.personal")


def decide(
    service: AssessmentService, caller: Caller, command: StartVerification
) -> tuple[Started, list[Aggregate]]:
    """A new record with its session token, bound to the tenant key that started it; the
    student's name and email sealed under their data subject's key."""
    tenant = tenant_of(caller)
    skills = msgspec.convert(command.skills, list[Skill])
    sources = msgspec.convert(command.sources, list[Source])
    if command.method == ASSESSMENT:  # a reviewer needs no question bank
        service.banks.check_banked(skills)
    if command.callback_webhook_url:
        service.check_target(command.callback_webhook_url, "callbackWebhookUrl")
        # Made now, so that the fan-out only reads it (kept if a later step fails: it is
        # the tenant's, like the secret GET /webhooks/callback-secret makes on first use).
        service.webhooks.stored_callback_secret(tenant.tenant, tenant.mode)
    now = service.clock()
    expires_at = now + timedelta(seconds=service.settings.session_ttl_seconds)
    aggregate_id = service.new_id()
    token = new_session_token(service.session_key, aggregate_id, tenant.key_id)
    assessment = Assessment.start(
        id=aggregate_id,
        at=now,
        tenant=tenant.tenant,
        mode=tenant.mode,
        student_id=command.student["studentId"],
        seal=lambda: service.personal.seal_student(
            tenant.tenant,
            tenant.mode,
            command.student["studentId"],
            Contact(
                command.student["name"],
                command.student["email"],
                sources=sources,
                proof_urls={
                    skill.skill_id: skill.proof_urls for skill in skills if skill.proof_urls
                },
            ),
            aggregate_id,
        ),
        skills=skills,
        callback_webhook_url=command.callback_webhook_url,
        session_token_hash=digest(token),
        session_expires_at=expires_at,
        api_key_id=tenant.key_id,
        method=command.method,
        sources=sources,
    )
    started = Started(
        record_verification_id=assessment.record_verification_id,
        session_token=token,
        expires_at=iso(expires_at),
        expires_in=service.settings.session_ttl_seconds,
    )
    return started, [assessment]


def erased_meanwhile(service: AssessmentService, saved: list[Aggregate]) -> None:
    """A student erased between the sealing of their contact and the saving of the record
    (the erasure could not see it): the record takes its PersonalDataErased now. The start
    is saved and answered whatever happens here: a later DELETE of the student marks a
    record this could not."""
    record = saved[0]
    assert isinstance(record, Assessment)
    try:
        if not service.personal.erased(record.student.contact.subject):
            return
        for _ in range(3):
            if not record.erase_personal_data(service.clock()):
                return  # the erasure saw the record after all, and marked it
            try:
                service.store.save(record)
                return
            except IntegrityError:  # a command on the record meanwhile: read it again
                found = service.store.find(Assessment, record.id)
                assert found is not None
                record = found
    except Exception:  # the database away: the start stands as answered
        log.warning("could not mark record %s as erased", record.id, exc_info=True)


start_verification = Handler(Started, decide, tenant_only=True, saved=erased_meanwhile)
