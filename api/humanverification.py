"""Controllers of the human path: invite a reviewer (tenant key or session), and the
reviewer's two calls, whose only credential is the token of their link."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from api.auth import authenticated, reviewer, reviewer_link
from api.bodies import idempotency, strict_body
from api.errors import ERRORS
from api.schemas import PRINTABLE, EndorseRequest, ReviewerRequest
from application.handlers.endorse_skills import endorse_skills
from application.handlers.invite_reviewer import invite_reviewer
from application.messages import (
    Caller,
    Endorsed,
    EndorseSkills,
    Invited,
    InviteReviewer,
    ReviewerCaller,
    ReviewPage,
)
from application.service import AssessmentService

ReviewerToken = Annotated[
    str | None, QueryParameter(name="reviewerToken", max_length=128, pattern=PRINTABLE)
]


class InvitedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of POST /humanverification/reviewer."""

    success: bool = True
    data: Invited
    message: str = "Reviewer invited"


class ReviewPageResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of GET /humanverification/verify-page."""

    success: bool = True
    data: ReviewPage


class EndorsedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of POST /humanverification/verify."""

    success: bool = True
    data: Endorsed
    message: str = "Skills verified successfully"


class HumanVerificationController(Controller):
    """A reviewer who saw the student's work endorses the skills of a human record."""

    path = "/api/v1/humanverification"
    tags = ("human endorsement",)

    @post(
        "/reviewer",
        guards=[authenticated],
        responses=ERRORS,
        operation_id="inviteReviewer",
        status_code=200,
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        data: JSONBody[ReviewerRequest],
    ) -> InvitedResponse:
        """Invite the reviewer (again: the earlier link stops working); they are emailed
        the link to the review page."""
        body = await strict_body(request, ReviewerRequest)
        command = InviteReviewer(
            name=body.name,
            email=body.email,
            endorsement_type=body.endorsement_type,
            company=body.company,
            record_verification_id=body.record_verification_id,
        )
        invited = await to_thread.run_sync(
            service.execute, invite_reviewer, caller, command, idempotency(request, body)
        )
        return InvitedResponse(data=invited)

    @get(
        "/verify-page",
        guards=[reviewer],
        responses=ERRORS,
        operation_id="getReviewPage",
        sync_to_thread=True,
    )
    def page(
        self,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        reviewer_token: ReviewerToken = None,
    ) -> ReviewPageResponse:
        """What the reviewer is asked to judge: the student, the sources, the skills."""
        assert isinstance(caller, ReviewerCaller)
        return ReviewPageResponse(data=service.review_page(caller))

    @post(
        "/verify",
        guards=[reviewer_link],
        responses=ERRORS,
        operation_id="endorseSkills",
        status_code=200,
    )
    async def endorse(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        reviewer_token: ReviewerToken = None,
        data: JSONBody[EndorseRequest | None] = None,
    ) -> EndorsedResponse:
        """Endorse the skills named; the record's other skills are rejected, and the
        record is completed and locked."""
        body = await strict_body(request, EndorseRequest)
        command = EndorseSkills(skill_ids=body.skill_ids)
        endorsed = await to_thread.run_sync(
            service.execute, endorse_skills, caller, command, idempotency(request, body)
        )
        return EndorsedResponse(data=endorsed)
