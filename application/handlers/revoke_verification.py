"""POST /api/v1/verifications/{id}/revoke: the tenant revokes a record's verified skills and
their credentials."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from application.callers import Caller
from application.commands import RevokeVerification
from application.results import Revocation
from application.service import AssessmentService, Handler
from domain.moments import iso


def decide(
    service: AssessmentService, caller: Caller, command: RevokeVerification
) -> tuple[Revocation, list[Aggregate]]:
    """The record revoked (once: a second call answers as the first, and records nothing)."""
    record = service.record_of(caller, command.record_verification_id)
    record.revoke(command.reason, service.clock())
    assert record.revoked is not None
    assert record.revoked_at is not None
    revocation = Revocation(
        record.record_verification_id,
        list(record.skill_status.values()),
        record.revoked,
        iso(record.revoked_at),
    )
    return revocation, [record]


revoke_verification = Handler(Revocation, decide, tenant_only=True)
