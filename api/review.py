"""The reviewer page, which the reviewer's email links to: GET /review/{reviewerToken} shows
what they are asked to judge, and a plain form post to the same address endorses the ticked
skills with the API's own command. Server-rendered, so it works without JavaScript; every
failure is a page with its reason too, never the JSON envelope."""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import date, datetime
from typing import Annotated, Any

from anyio import to_thread
from eventsourcing.persistence import InterfaceError, OperationalError
from jinja2 import Environment, PackageLoader, StrictUndefined
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter

from api.auth import reviewer_of
from api.errors import DOMAIN_ERRORS, EXCEPTION_HANDLERS
from api.schemas import PRINTABLE
from application.callers import Caller, ReviewerCaller
from application.commands import EndorseSkills
from application.handlers.endorse_skills import endorse_skills
from application.queries import RecordQueries
from application.results import Endorsed
from application.service import AssessmentService
from domain import errors
from domain.values import Source

log = logging.getLogger("assess.api")

LOADER = PackageLoader("api", "templates")  # package data: also in a non-editable install
TEMPLATES = Environment(
    loader=LOADER,
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE = TEMPLATES.get_template("review.html")
CSS = LOADER.get_source(TEMPLATES, "review.css")[0]  # inline, allowed by its hash
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
PATHS = ["/review", "/review/{reviewer_token:str}"]
ReviewToken = Annotated[str | None, Parameter(max_length=128, pattern=PRINTABLE)]

RELATIONS = {
    "reporting_manager": "reporting manager",
    "tech_lead": "tech lead",
    "client": "client",
    "founder_cxo": "founder or executive",
    "peer": "peer",
}
SOURCE_KINDS = {"project": "Project", "experience": "Experience", "certificate": "Certificate"}
TRY_AGAIN = "Something went wrong"
PROBLEMS: dict[type[errors.DomainError], tuple[str, str]] = {
    errors.MissingReviewerToken: (
        "This link is incomplete",
        "The address holds no review link. Open the link in your invitation email again, in full.",
    ),
    errors.InvalidReviewerToken: (
        "This link is not valid",
        "The link is unknown, or a newer invitation replaced it. Use the link in the latest "
        "invitation email you received.",
    ),
    errors.ReviewerTokenExpired: (
        "This link has expired",
        "Review links are valid for a limited time. Ask the person who asked for your "
        "endorsement to invite you again.",
    ),
    errors.AlreadyVerified: (
        "These skills were already endorsed",
        "This link was used: an endorsement is given once, and this one was recorded.",
    ),
    errors.Conflict: (
        "The endorsement was not recorded",
        "Another answer to this request was recorded at the same moment. Open the link "
        "again to see where it stands.",
    ),
}
FORM_ERRORS: dict[type[errors.DomainError], str] = {
    errors.MissingSkillIds: "Tick at least one skill to endorse.",
    errors.InvalidInput: "Tick only skills from the list below.",
}


def page(status: int, headers: dict[str, str] | None = None, **context: Any) -> Response[str]:
    """The page, rendered with the context given, with the page's headers."""
    html = PAGE.render(css=CSS, **context)
    return Response(
        html, status_code=status, media_type=MediaType.HTML, headers=HEADERS | (headers or {})
    )


def problem(
    status: int, heading: str, message: str, headers: dict[str, str] | None = None
) -> Response[str]:
    """A page saying why the link or the request cannot be served."""
    return page(status, headers, view="problem", title=heading, heading=heading, message=message)


def on_error(_: Request[Any, Any, Any], error: Exception) -> Response[str]:
    """Every error of the reviewer page as a page with its reason and the API's status."""
    if isinstance(error, errors.DomainError):
        status = DOMAIN_ERRORS[type(error)][1]
        heading, message = PROBLEMS.get(type(error), (TRY_AGAIN, str(error)))
        return problem(status, heading, message)
    if isinstance(error, HTTPException):
        if error.status_code == 429:
            wait = (error.headers or {}).get("RateLimit-Reset", "60")
            message = "Too many requests came from your network. Wait a minute and try again."
            return problem(429, "Too many attempts", message, {"Retry-After": wait})
        message = "The request could not be read. Open the link in your email again."
        return problem(error.status_code, "This request could not be served", message)
    if isinstance(error, OperationalError | InterfaceError):
        log.warning("event store unreachable: %s", error)
        return problem(503, "The service is unavailable", "Nothing was recorded. Try again soon.")
    log.exception("unexpected error on the reviewer page")  # its address holds the token
    return problem(500, TRY_AGAIN, "The error is on our side. Try again later.")


async def review_link(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Resolve the reviewer from the link's token in the path, as the API does from its query
    (the same order of checks and the same limit per address), before the body is read."""
    connection.state.caller = await reviewer_of(
        connection, connection.path_params.get("reviewer_token")
    )


def long_date(text: str) -> str:
    """An ISO date as words (1 Mar 2025); the text itself if it is not one."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day.day} {day:%b %Y}"


def dates(source: Source) -> str:
    """When the work was done, in words."""
    start, end = source.start_date, source.end_date
    if start and end:
        return f"{long_date(start)} to {long_date(end)}"
    if start:
        return f"since {long_date(start)}"
    return f"until {long_date(end)}" if end else ""


def form(
    caller: ReviewerCaller, records: RecordQueries, status: int, error: str | None
) -> Response[str]:
    """The form: who asks, the sources, each skill with its proof links and a checkbox."""
    review = records.review_page(caller)
    expires = datetime.fromisoformat(review.expires_at)
    sources = [
        {
            "title": source.title,
            "kind": SOURCE_KINDS.get(source.type, source.type),
            "subtitle": source.subtitle,
            "description": source.description,
            "url": source.url,
            "dates": dates(source),
        }
        for source in review.sources
    ]
    return page(
        status,
        view="form",
        title=f"Endorse the skills of {review.requester_info.name}",
        page=review,
        relation=RELATIONS.get(review.endorsement_type, review.endorsement_type),
        asker=caller.record.asked_by or caller.record.tenant,
        expires=f"{expires.day} {expires:%B %Y, %H:%M} UTC",
        sources=sources,
        error=error,
    )


def recorded(student: str, endorsed: Endorsed) -> Response[str]:
    """The page after the endorsement: what was endorsed, what was not."""
    skills = endorsed.verified_skills
    return page(
        200,
        view="done",
        title="Your endorsement was recorded",
        heading="Your endorsement was recorded",
        message=f"Thank you. {student} will be told which skills you endorsed."
        " You can close this page.",
        endorsed=[skill.name for skill in skills if skill.verified],
        not_endorsed=[skill.name for skill in skills if not skill.verified],
    )


class ReviewPageController(Controller):
    """The reviewer's page: their link's token is its only credential."""

    include_in_schema = False
    exception_handlers = dict.fromkeys(EXCEPTION_HANDLERS, on_error)

    @get(PATHS, guards=[review_link])
    async def show(
        self,
        caller: NamedDependency[Caller],
        records: NamedDependency[RecordQueries],
        reviewer_token: ReviewToken = None,
    ) -> Response[str]:
        """The form, for a link that is still good."""
        assert isinstance(caller, ReviewerCaller)
        return await to_thread.run_sync(form, caller, records, 200, None)

    @post(PATHS, guards=[review_link], status_code=200)
    async def endorse(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        records: NamedDependency[RecordQueries],
        reviewer_token: ReviewToken = None,
    ) -> Response[str]:
        """Endorse the ticked skills (form field skillIds, repeated) as the API's
        POST /humanverification/verify does; none ticked: the form again, with the reason."""
        assert isinstance(caller, ReviewerCaller)
        ticked = (await request.form()).getall("skillIds", [])
        command = EndorseSkills(skill_ids=[value for value in ticked if isinstance(value, str)])
        review = await to_thread.run_sync(records.review_page, caller)
        try:
            endorsed = await to_thread.run_sync(
                service.execute, endorse_skills, caller, command, None
            )
        except (errors.MissingSkillIds, errors.InvalidInput) as error:
            error_page = FORM_ERRORS[type(error)]
            return await to_thread.run_sync(form, caller, records, 400, error_page)
        return recorded(review.requester_info.name, endorsed)
