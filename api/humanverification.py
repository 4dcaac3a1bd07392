"""Controllers of the human path: invite a reviewer (tenant key or session), and the
reviewer's two calls, whose only credential is the token of their link."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from api.auth import API_KEY, authenticated, reviewer, reviewer_link
from api.bodies import idempotency, strict_body
from api.errors import BODY, COMMAND, KEYED, errors_of
from api.schemas import PRINTABLE, EndorseRequest, ReviewerRequest
from application.callers import Caller, ReviewerCaller
from application.commands import EndorseSkills, InviteReviewer
from application.handlers.endorse_skills import endorse_skills
from application.handlers.invite_reviewer import invite_reviewer
from application.queries import RecordQueries
from application.results import Endorsed, Invited, ReviewPage
from application.service import AssessmentService

# Required: a request without one is refused by the guard (MISSING_REVIEWER_TOKEN) first.
ReviewerToken = Annotated[
    str, QueryParameter(name="reviewerToken", max_length=128, pattern=PRINTABLE, required=True)
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
        security=API_KEY,
        **errors_of(
            *KEYED,
            *BODY,
            *COMMAND,
            "MISSING_VERIFICATION_ID",
            "VERIFICATION_NOT_FOUND",
            "WRONG_METHOD",
            "ALREADY_VERIFIED",
            "PERSONAL_DATA_ERASED",
        ),
        operation_id="inviteReviewer",
        summary="Invite a reviewer",
        status_code=200,
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        data: JSONBody[ReviewerRequest],
    ) -> InvitedResponse:
        """Invite the reviewer of a human-endorsement record (session token, or tenant key
        with recordVerificationId); they are emailed the link to the review page. Inviting
        again replaces the reviewer and the link (the earlier one stops working); at most 5
        invitations per record. The first fires verification.initiated."""
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
        **errors_of(
            "VALIDATION_ERROR",
            "MISSING_REVIEWER_TOKEN",
            "INVALID_REVIEWER_TOKEN",
            "REVIEWER_TOKEN_EXPIRED",
            "ALREADY_VERIFIED",
            "PERSONAL_DATA_ERASED",
        ),
        operation_id="getReviewPage",
        summary="Read what the reviewer is asked to judge (the reviewer)",
        sync_to_thread=True,
    )
    def page(
        self,
        caller: NamedDependency[Caller],
        records: NamedDependency[RecordQueries],
        reviewer_token: ReviewerToken,
    ) -> ReviewPageResponse:
        """What the reviewer is asked to judge: who asks, the sources, each skill with its
        proof links. The reviewer's only credential is the token of their link."""
        assert isinstance(caller, ReviewerCaller)
        return ReviewPageResponse(data=records.review_page(caller))

    @post(
        "/verify",
        guards=[reviewer_link],
        **errors_of(
            *BODY,
            *COMMAND,
            "MISSING_REVIEWER_TOKEN",
            "INVALID_REVIEWER_TOKEN",
            "REVIEWER_TOKEN_EXPIRED",
            "ALREADY_VERIFIED",
            "MISSING_SKILL_IDS",
            "PERSONAL_DATA_ERASED",
        ),
        operation_id="endorseSkills",
        summary="Endorse skills (the reviewer)",
        status_code=200,
    )
    async def endorse(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        reviewer_token: ReviewerToken,
        data: JSONBody[EndorseRequest | None] = None,
    ) -> EndorsedResponse:
        """The reviewer endorses the skills named (reviewer token): they become verified, the
        record's other skills rejected, and the record is completed and locked. Fires
        verification.completed and emails the student."""
        body = await strict_body(request, EndorseRequest)
        command = EndorseSkills(skill_ids=body.skill_ids)
        endorsed = await to_thread.run_sync(
            service.execute, endorse_skills, caller, command, idempotency(request, body)
        )
        return EndorsedResponse(data=endorsed)
