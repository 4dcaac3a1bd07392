"""POST /humanverification/verify: the reviewer endorses skills; the record is completed."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from application.access import digest
from application.callers import Caller, ReviewerCaller
from application.commands import EndorseSkills
from application.results import Endorsed
from application.service import AssessmentService, Handler
from domain.errors import Unauthorized


def decide(
    service: AssessmentService, caller: Caller, command: EndorseSkills
) -> tuple[Endorsed, list[Aggregate]]:
    """The skills named verified, the others rejected, the record locked."""
    if not isinstance(caller, ReviewerCaller):
        raise Unauthorized("this endpoint takes a reviewer token")
    record = caller.record
    record.endorse(digest(caller.token), command.skill_ids, service.clock())
    skills = list(record.skill_status.values())
    webhook = service.webhook_status(record)
    endorsed = Endorsed.of(record.record_verification_id, skills, record.skills_updated, webhook)
    return endorsed, [record]


endorse_skills = Handler(Endorsed, decide)
