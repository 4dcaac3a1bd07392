"""Controllers of the read side: records and skills from the views, history from the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import FromQuery, JSONBody, QueryParameter

from api.auth import API_KEY, authenticated
from api.bodies import idempotency, strict_body
from api.errors import BODY, COMMAND, KEYED, errors_of
from api.schemas import (
    PRINTABLE,
    CredentialsResponse,
    Cursor,
    HistoryResponse,
    Limit,
    PathId,
    RecordPage,
    RecordPageResponse,
    RecordResponse,
    RecordStatus,
    RevokedResponse,
    RevokeRequest,
    SkillsResponse,
    StudentSkillsResponse,
)
from application.banks import QuestionBanks
from application.callers import Caller, tenant_of
from application.commands import RevokeVerification
from application.credential_reads import CredentialReads
from application.handlers.revoke_verification import revoke_verification
from application.queries import RecordQueries
from application.read_models import Record, StudentSkill
from application.service import AssessmentService
from domain.errors import InvalidInput
from projections.queries import ReadSide


def parse_moment(value: str) -> datetime:
    """An ISO-8601 moment; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"asOf: '{value}' is not an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class VerificationsController(Controller):
    """Partners read their records; auditors replay a record's history."""

    path = "/api/v1/verifications"
    guards = (authenticated,)
    security = API_KEY
    tags = ("verifications",)

    @get(
        "/{record_verification_id:str}/history",
        **errors_of(*KEYED, "VALIDATION_ERROR", "VERIFICATION_NOT_FOUND"),
        operation_id="getVerificationHistory",
        summary="Replay a record's history",
        sync_to_thread=True,
    )
    def history(
        self,
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        records: NamedDependency[RecordQueries],
        as_of: Annotated[
            str | None,
            QueryParameter(
                name="asOf", max_length=64, pattern=PRINTABLE, format=OpenAPIFormat.DATE_TIME
            ),
        ] = None,
    ) -> HistoryResponse:
        """The record's events in order, read from the event store itself, and the state
        they fold to; with asOf (ISO-8601), only the events that had occurred by then.
        Answer keys are never shown. Tenant key."""
        moment = parse_moment(as_of) if as_of else None
        return HistoryResponse(data=records.history(caller, record_verification_id, moment))

    @get(
        "/{record_verification_id:str}/credentials",
        **errors_of(*KEYED, "VALIDATION_ERROR", "VERIFICATION_NOT_FOUND"),
        operation_id="getVerificationCredentials",
        summary="Read a record's credentials",
        sync_to_thread=True,
    )
    def credentials(
        self,
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        credentials: NamedDependency[CredentialReads],
    ) -> CredentialsResponse:
        """The Open Badges 3.0 credential of each verified skill of the record, as a signed
        VC-JWT, with its status (active or revoked); jwt is null once the student's personal
        data is erased. Empty until the record is verified; a read of a record just verified
        waits up to a second while its credentials are issued. Tenant key."""
        found = credentials.of_record(caller, record_verification_id)
        return CredentialsResponse(data=found)

    @post(
        "/{record_verification_id:str}/revoke",
        **errors_of(*KEYED, *BODY, *COMMAND, "VERIFICATION_NOT_FOUND", "NOT_VERIFIED"),
        operation_id="revokeVerification",
        summary="Revoke a record's verified skills and credentials",
        status_code=200,
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        data: JSONBody[RevokeRequest],
    ) -> RevokedResponse:
        """Revoke the record's verified skills (they read revoked in the views) and their
        credentials (their status lists say so at once); fires verification.revoked.
        Revoking again answers as the first time and changes nothing. A record with no
        verified skill: NOT_VERIFIED. Tenant key."""
        body = await strict_body(request, RevokeRequest)
        command = RevokeVerification(record_verification_id, body.reason)
        revoked = await to_thread.run_sync(
            service.execute, revoke_verification, caller, command, idempotency(request, body)
        )
        return RevokedResponse(data=revoked)

    @get(
        "/{record_verification_id:str}",
        **errors_of(*KEYED, "VALIDATION_ERROR", "VERIFICATION_NOT_FOUND"),
        operation_id="getVerification",
        summary="Read a record",
        sync_to_thread=True,
    )
    def record(
        self,
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        records: NamedDependency[RecordQueries],
        read: NamedDependency[ReadSide],
    ) -> RecordResponse:
        """A record: its status, whether it is locked, its skills and its scored attempts.
        Tenant key; another tenant's record is 404."""
        tenant = tenant_of(caller)
        found = read.record(tenant.tenant, tenant.mode, record_verification_id)
        if found is None:
            found = records.record(tenant, record_verification_id)
        return RecordResponse(data=msgspec.convert(found, Record))

    @get(
        "/",
        **errors_of(*KEYED, "VALIDATION_ERROR"),
        operation_id="listVerifications",
        summary="List records",
        sync_to_thread=True,
    )
    def records(
        self,
        caller: NamedDependency[Caller],
        read: NamedDependency[ReadSide],
        student_id: Annotated[
            str | None, QueryParameter(name="studentId", max_length=128, pattern=PRINTABLE)
        ] = None,
        status: FromQuery[RecordStatus | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> RecordPageResponse:
        """The tenant's records (of the key's mode), newest first, a page at a time: pass
        nextCursor as cursor for the next page; it is null on the last. Filter by studentId
        and status (pending, in_progress, passed, failed, completed). Tenant key."""
        tenant = tenant_of(caller)
        items, next_cursor = read.records(
            tenant.tenant, tenant.mode, student_id, status, limit, cursor
        )
        page = RecordPage(items=msgspec.convert(items, list[Record]), next_cursor=next_cursor)
        return RecordPageResponse(data=page)


class StudentsController(Controller):
    """Partners ask which skills of a student are verified."""

    path = "/api/v1/students"
    guards = (authenticated,)
    security = API_KEY
    tags = ("students",)

    @get(
        "/{student_id:str}/skills",
        **errors_of(*KEYED, "VALIDATION_ERROR"),
        operation_id="getStudentSkills",
        summary="Read a student's skills",
        sync_to_thread=True,
    )
    def skills(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        read: NamedDependency[ReadSide],
    ) -> StudentSkillsResponse:
        """The student's skills across the tenant's records: each skill's status, and the
        record that decided it. A verified skill stays verified. Tenant key."""
        tenant = tenant_of(caller)
        found = read.skills(tenant.tenant, tenant.mode, student_id)
        return StudentSkillsResponse(data=msgspec.convert(found, list[StudentSkill]))


class SkillsController(Controller):
    """Partners ask which skills a record can name."""

    path = "/api/v1/skills"
    guards = (authenticated,)
    security = API_KEY
    tags = ("skills",)

    @get(
        "/",
        **errors_of(*KEYED),
        operation_id="listSkills",
        summary="List the skills a record can name",
        sync_to_thread=True,
    )
    def skills(
        self, caller: NamedDependency[Caller], banks: NamedDependency[QuestionBanks]
    ) -> SkillsResponse:
        """Every skill that has a question bank, by id: its name and how many questions
        its bank holds. A record's skills must be among them. Tenant key."""
        tenant_of(caller)
        return SkillsResponse(data=banks.skills())
