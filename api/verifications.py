"""Controllers of the read side that read the event store itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from api.auth import authenticated
from api.schemas import HistoryResponse
from application.messages import Caller
from application.service import AssessmentService
from domain.errors import InvalidInput


def parse_moment(value: str) -> datetime:
    """An ISO-8601 moment; one without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"asOf: '{value}' is not an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class VerificationsController(Controller):
    """Auditors replay a record's history."""

    path = "/api/v1/verifications"
    guards = (authenticated,)
    tags = ("verifications",)

    @get(
        "/{record_verification_id:str}/history",
        operation_id="getVerificationHistory",
        sync_to_thread=True,
    )
    def history(
        self,
        record_verification_id: FromPath[str],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        as_of: Annotated[str | None, QueryParameter(name="asOf")] = None,
    ) -> HistoryResponse:
        """The record's events in order and the state they fold to, as of a moment if given."""
        moment = parse_moment(as_of) if as_of else None
        return HistoryResponse(data=service.history(caller, record_verification_id, moment))
