"""Controllers of the read side: records and skills from the views, history from the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from api.auth import authenticated
from api.errors import ERRORS
from api.schemas import (
    PRINTABLE,
    Cursor,
    HistoryResponse,
    PathId,
    Record,
    RecordPage,
    RecordPageResponse,
    RecordResponse,
    StudentSkill,
    StudentSkillsResponse,
)
from application.messages import Caller, tenant_of
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
    tags = ("verifications",)

    @get(
        "/{record_verification_id:str}/history",
        responses=ERRORS,
        operation_id="getVerificationHistory",
        sync_to_thread=True,
    )
    def history(
        self,
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        as_of: Annotated[
            str | None, QueryParameter(name="asOf", max_length=64, pattern=PRINTABLE)
        ] = None,
    ) -> HistoryResponse:
        """The record's events in order and the state they fold to, as of a moment if given."""
        moment = parse_moment(as_of) if as_of else None
        return HistoryResponse(data=service.history(caller, record_verification_id, moment))

    @get(
        "/{record_verification_id:str}",
        responses=ERRORS,
        operation_id="getVerification",
        sync_to_thread=True,
    )
    def record(
        self,
        record_verification_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        read: NamedDependency[ReadSide],
    ) -> RecordResponse:
        """A record from the record view (from the store, if the view has not seen it yet)."""
        tenant = tenant_of(caller)
        found = read.record(tenant.tenant, tenant.mode, record_verification_id)
        if found is None:
            found = service.record(tenant, record_verification_id)
        return RecordResponse(data=msgspec.convert(found, Record))

    @get("/", responses=ERRORS, operation_id="listVerifications", sync_to_thread=True)
    def records(
        self,
        caller: NamedDependency[Caller],
        read: NamedDependency[ReadSide],
        student_id: Annotated[
            str | None, QueryParameter(name="studentId", max_length=128, pattern=PRINTABLE)
        ] = None,
        status: FromQuery[str | None] = None,
        limit: FromQuery[int] = 20,
        cursor: Cursor = None,
    ) -> RecordPageResponse:
        """The tenant's records, newest first, a page at a time."""
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
    tags = ("students",)

    @get(
        "/{student_id:str}/skills",
        responses=ERRORS,
        operation_id="getStudentSkills",
        sync_to_thread=True,
    )
    def skills(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        read: NamedDependency[ReadSide],
    ) -> StudentSkillsResponse:
        """The student's skills across the tenant's records, from the skill view."""
        tenant = tenant_of(caller)
        found = read.skills(tenant.tenant, tenant.mode, student_id)
        return StudentSkillsResponse(data=msgspec.convert(found, list[StudentSkill]))
