"""A student's personal data (tenant key): everything held about them as one document, and
its erasure, at once and for good. Both isolated by tenant and mode like every read."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get
from litestar.di import NamedDependency

from api.auth import API_KEY, authenticated
from api.errors import KEYED, errors_of
from api.schemas import Envelope, PathId
from application.callers import Caller, tenant_of
from application.read_models import StudentSkill
from application.results import Erased
from application.students import StudentExport, Students
from projections.queries import ReadSide


class StudentExportResponse(Envelope[StudentExport], frozen=True, kw_only=True):
    """Envelope of GET /students/{studentId}/export."""


class ErasedResponse(Envelope[Erased], frozen=True, kw_only=True):
    """Envelope of DELETE /students/{studentId}."""


class PersonalDataController(Controller):
    """Partners act for their students: access to and erasure of their personal data."""

    path = "/api/v1/students"
    guards = (authenticated,)
    security = API_KEY
    tags = ("students",)

    @get(
        "/{student_id:str}/export",
        **errors_of(*KEYED, "VALIDATION_ERROR"),
        operation_id="exportStudent",
        summary="Export everything held about a student",
        sync_to_thread=True,
    )
    def export(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        students: NamedDependency[Students],
        read: NamedDependency[ReadSide],
    ) -> StudentExportResponse:
        """Everything held about the student under the caller's tenant and mode, as one
        document: their personal data, their records with attempts, skills and reviewer,
        their skills across records, and the emails sent (when, and their subject lines).
        Tenant key."""
        tenant = tenant_of(caller)
        skills = read.skills(tenant.tenant, tenant.mode, student_id)
        held = students.export(tenant, student_id, msgspec.convert(skills, list[StudentSkill]))
        return StudentExportResponse(data=held)

    @delete(
        "/{student_id:str}",
        **errors_of(*KEYED, "VALIDATION_ERROR", "CONFLICT"),
        operation_id="eraseStudent",
        summary="Erase a student's personal data",
        status_code=200,
        sync_to_thread=True,
    )
    def erase(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        students: NamedDependency[Students],
    ) -> ErasedResponse:
        """Erase the student's name and email (and their reviewers') in the caller's tenant
        and mode, at once and for good: the history shows "[erased]" where they were, and
        no email goes to them. Skills, scores and dates stay. A repeat answers the same; a
        later verification of the same studentId starts anew. Tenant key."""
        return ErasedResponse(data=students.erase(tenant_of(caller), student_id))
