"""POST /verify: start verifying a student's skills, each of which must have a bank."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.access import digest, new_session_token
from application.callers import Caller, TenantCaller, tenant_of
from application.commands import StartVerification
from application.ports import LoopEvents
from application.results import Started
from application.service import AssessmentService, Handler
from domain.assessment import Assessment
from domain.endorsement import ASSESSMENT
from domain.moments import iso
from domain.values import Contact, Sealed, Skill, Source

log = logging.getLogger("assess.personal")


@dataclass(frozen=True)
class Start:
    """A start found valid, with its record's id and the student's contact to seal."""

    tenant: TenantCaller
    skills: list[Skill]
    sources: list[Source]
    record: UUID
    student_id: str
    contact: Contact

    @property
    def sealing(self) -> tuple[str, str, str, Contact, UUID]:
        """What sealing the student's contact takes (PersonalData.seal_student)."""
        return self.tenant.tenant, self.tenant.mode, self.student_id, self.contact, self.record


def checked(service: AssessmentService, caller: Caller, command: StartVerification) -> Start:
    """Refuse a start the record would refuse, before anything is sealed for it."""
    tenant = tenant_of(caller)
    skills = msgspec.convert(command.skills, list[Skill])
    sources = msgspec.convert(command.sources, list[Source])
    if command.method == ASSESSMENT:  # a reviewer needs no question bank
        service.banks.check_banked(skills)
    if command.callback_webhook_url:
        service.store.off_the_loop("a callback URL")  # its check resolves the host's name
        service.check_target(command.callback_webhook_url, "callbackWebhookUrl")
        # Made now, so that the fan-out only reads it (kept if a later step fails: it is
        # the tenant's, like the secret GET /webhooks/callback-secret makes on first use).
        service.webhooks.stored_callback_secret(tenant.tenant, tenant.mode)
    Assessment.check_start(command.method, skills, sources)
    contact = Contact(
        command.student["name"],
        command.student["email"],
        sources=sources,
        proof_urls={skill.skill_id: skill.proof_urls for skill in skills if skill.proof_urls},
    )
    return Start(tenant, skills, sources, service.new_id(), command.student["studentId"], contact)


def started(
    service: AssessmentService, command: StartVerification, start: Start, sealed: Sealed
) -> tuple[Started, list[Aggregate]]:
    """A new record with its session token, bound to the tenant key that started it; the
    student's name and email sealed under their data subject's key."""
    now = service.clock()
    expires_at = now + timedelta(seconds=service.settings.session_ttl_seconds)
    token = new_session_token(service.session_key, start.record, start.tenant.key_id)
    assessment = Assessment.start(
        id=start.record,
        at=now,
        tenant=start.tenant.tenant,
        mode=start.tenant.mode,
        student_id=start.student_id,
        seal=lambda: sealed,
        skills=start.skills,
        callback_webhook_url=command.callback_webhook_url,
        session_token_hash=digest(token),
        session_expires_at=expires_at,
        api_key_id=start.tenant.key_id,
        method=command.method,
        sources=start.sources,
    )
    answer = Started(
        record_verification_id=assessment.record_verification_id,
        session_token=token,
        expires_at=iso(expires_at),
        expires_in=service.settings.session_ttl_seconds,
    )
    return answer, [assessment]


def decide(
    service: AssessmentService, caller: Caller, command: StartVerification
) -> tuple[Started, list[Aggregate]]:
    """The start, its student sealed in this thread."""
    start = checked(service, caller, command)
    return started(service, command, start, service.personal.seal_student(*start.sealing))


async def decide_on_loop(
    service: AssessmentService, events: LoopEvents, caller: Caller, command: StartVerification
) -> tuple[Started, list[Aggregate]]:
    """The start, its student sealed from the event loop."""
    start = checked(service, caller, command)
    return started(service, command, start, await events.seal_student(*start.sealing))


def reads(service: AssessmentService, caller: Caller, command: StartVerification) -> set[UUID]:
    """The banks' catalog, unless this process remembers it (a callback URL's check, and
    the tenant's callback secret, are read in a worker thread)."""
    return service.banks.reads() if command.method == ASSESSMENT else set()


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


async def erased_meanwhile_on_loop(
    service: AssessmentService, events: LoopEvents, saved: list[Aggregate]
) -> None:
    """As `erased_meanwhile`, asking from the event loop; a record to mark (rare) is
    marked in a worker thread."""
    record = saved[0]
    assert isinstance(record, Assessment)
    try:
        erased = await events.erased(record.student.contact.subject)
    except Exception:  # the database away: the start stands as answered
        log.warning("could not mark record %s as erased", record.id, exc_info=True)
        return
    if erased:
        await asyncio.to_thread(erased_meanwhile, service, saved)


start_verification = Handler(
    Started,
    decide,
    tenant_only=True,
    saved=erased_meanwhile,
    reads=reads,
    on_loop=decide_on_loop,
    saved_on_loop=erased_meanwhile_on_loop,
)
