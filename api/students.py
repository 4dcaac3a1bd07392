"""A student's personal data (tenant key): everything held about them as one document, and
its erasure, at once and for good. Both isolated by tenant and mode like every read."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get
from litestar.di import NamedDependency

from api.auth import authenticated
from api.errors import ERRORS
from api.schemas import Envelope, PathId
from application.messages import Caller, Erased, tenant_of
from application.shapes import StudentSkill
from application.students import StudentExport, Students
from projections.queries import ReadSide


class PersonalDataController(Controller):
    """Partners act for their students: access to and erasure of their personal data."""

    path = "/api/v1/students"
    guards = (authenticated,)
    tags = ("students",)

    @get(
        "/{student_id:str}/export",
        responses=ERRORS,
        operation_id="exportStudent",
        sync_to_thread=True,
    )
    def export(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        students: NamedDependency[Students],
        read: NamedDependency[ReadSide],
    ) -> Envelope[StudentExport]:
        """Everything held about the student under the caller's tenant and mode: personal
        data, records with their attempts, skills and reviewer, and the emails sent (when,
        and their subject lines)."""
        tenant = tenant_of(caller)
        skills = msgspec.convert(
            read.skills(tenant.tenant, tenant.mode, student_id), list[StudentSkill]
        )
        return Envelope(data=students.export(tenant, student_id, skills))

    @delete(
        "/{student_id:str}",
        responses=ERRORS,
        operation_id="eraseStudent",
        status_code=200,
        sync_to_thread=True,
    )
    def erase(
        self,
        student_id: PathId,
        caller: NamedDependency[Caller],
        students: NamedDependency[Students],
    ) -> Envelope[Erased]:
        """Erase the student's name and email in the caller's tenant and mode, at once and
        for good (skills, scores and dates stay); a repeat answers the same."""
        return Envelope(data=students.erase(tenant_of(caller), student_id))
