"""One map from errors to the envelope {success:false, error:{code, message}} and a status."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec

from api.schemas import ErrorBody, ErrorResponse
from api.wording import allowed_values, in_words, parameter_name
from domain import errors
from infrastructure.database import pool_full

log = logging.getLogger("assess.api")

DOMAIN_ERRORS: dict[type[errors.DomainError], tuple[str, int]] = {
    errors.Unauthorized: ("UNAUTHORIZED", 401),
    errors.MissingVerificationId: ("MISSING_VERIFICATION_ID", 400),
    errors.VerificationNotFound: ("VERIFICATION_NOT_FOUND", 404),
    errors.AssessmentLocked: ("ASSESSMENT_LOCKED", 403),
    errors.MissingAnswers: ("MISSING_ANSWERS", 400),
    errors.NoQuestions: ("NO_QUESTIONS", 404),
    errors.IncompleteAnswers: ("INCOMPLETE_ANSWERS", 400),
    errors.InvalidAnswers: ("INVALID_ANSWERS", 400),
    errors.InvalidInput: ("VALIDATION_ERROR", 400),
    errors.IdempotencyKeyReused: ("IDEMPOTENCY_KEY_REUSED", 422),
    errors.Conflict: ("CONFLICT", 409),
    errors.WebhookNotFound: ("NOT_FOUND", 404),
    errors.WrongMethod: ("WRONG_METHOD", 409),
    errors.AlreadyVerified: ("ALREADY_VERIFIED", 409),
    errors.TooManyInvitations: ("RATE_LIMITED", 429),
    errors.MissingReviewerToken: ("MISSING_REVIEWER_TOKEN", 400),
    errors.InvalidReviewerToken: ("INVALID_REVIEWER_TOKEN", 401),
    errors.ReviewerTokenExpired: ("REVIEWER_TOKEN_EXPIRED", 410),
    errors.MissingSkillIds: ("MISSING_SKILL_IDS", 400),
    errors.NotYetCheckpointed: ("NOT_YET_CHECKPOINTED", 404),
    errors.AuditNotFound: ("NOT_FOUND", 404),
    errors.PersonalDataGone: ("PERSONAL_DATA_ERASED", 410),
    errors.NotVerified: ("NOT_VERIFIED", 409),
}
HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
}


def error_response(
    code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> Response[Any]:
    """The error envelope."""
    return Response(
        ErrorResponse(error=ErrorBody(code=code, message=message)),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def on_domain_error(request: Request[Any, Any, Any], error: errors.DomainError) -> Response[Any]:
    """A rule of the domain rejected the command; nothing was recorded."""
    code, status = DOMAIN_ERRORS[type(error)]
    documented(request, code)
    return error_response(code, str(error), status)


def on_validation_error(
    request: Request[Any, Any, Any], error: ValidationException
) -> Response[Any]:
    """A field of the wrong type or value, as Litestar found it: name the field, in words."""
    details = error.extra if isinstance(error.extra, list) else []
    reasons = [
        field_in_words(request, str(detail.get("key") or "data"), str(detail.get("message")))
        for detail in details
        if isinstance(detail, dict)
    ]
    documented(request, "VALIDATION_ERROR")
    return error_response("VALIDATION_ERROR", "; ".join(reasons) or error.detail, 400)


def field_in_words(request: Request[Any, Any, Any], key: str, reason: str) -> str:
    """One of Litestar's findings in words; its key "data" is the whole body, and a key that
    is no parameter's name is a field of the body."""
    if key == "data" and reason == "'data'":  # Litestar found no body at all
        return "body is required: a JSON object"
    parameters = getattr(request.route_handler, "parsed_fn_signature", None)
    found = parameters.parameters if parameters is not None else {}
    if key in found:
        allowed = allowed_values(found[key].annotation, "")
        key = parameter_name(found[key])
    elif "data" in found:
        allowed = allowed_values(found["data"].annotation, key)
    else:
        allowed = None
    return in_words("body" if key == "data" else key, reason, allowed)


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """Errors Litestar raises itself: unknown route, body too large, rate limit."""
    headers = dict(error.headers or {})
    if error.status_code == 429:
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    code = HTTP_CODES.get(error.status_code, "INTERNAL_ERROR")
    documented(request, code)
    return error_response(code, error.detail, error.status_code, headers)


def on_store_unreachable(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The event store cannot be reached, or every connection of the process's budget is
    busy: nothing was recorded. After a failure of the store itself its connections are
    replaced as soon as it answers again (infrastructure/reconnection.py); a full pool is
    only waited out."""
    if pool_full(error):
        log.warning("every connection of the pool is busy: %s", error)
        return error_response("SERVICE_UNAVAILABLE", "the service is busy; try again", 503)
    log.warning("event store unreachable: %s", error)
    reconnection = getattr(request.app.state, "reconnection", None)
    if reconnection is not None:
        reconnection.after_failure()
    return error_response("SERVICE_UNAVAILABLE", "the event store cannot be reached", 503)


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Anything else: logged with its trace, never shown in the body."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response("INTERNAL_ERROR", "an unexpected error occurred", 500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    OperationalError: on_store_unreachable,
    InterfaceError: on_store_unreachable,
    Exception: on_unexpected,
}


# Each error code and its status: the map above, and the two every operation may answer.
STATUS_OF: dict[str, int] = {
    **{code: status for code, status in DOMAIN_ERRORS.values()},
    **{code: status for status, code in HTTP_CODES.items()},
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}
# What any operation may answer (the request limit, the store away, a bug); a caller's
# credential refused; a body refused; a command refused or raced.
ANY = ("RATE_LIMITED", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR")
KEYED = ("UNAUTHORIZED",)
BODY = ("VALIDATION_ERROR", "PAYLOAD_TOO_LARGE")
COMMAND = ("IDEMPOTENCY_KEY_REUSED", "CONFLICT")


def errors_of(*codes: str) -> dict[str, Any]:
    """A route's `responses` (the error envelope under each status it may answer, with the
    codes it carries, in place of Litestar's own shape) and its `opt`, which names those
    codes for the check in `documented`. Every code must be in the map above."""
    found = sorted({*ANY, *codes})
    by_status: dict[int, list[str]] = {}
    for code in found:
        by_status.setdefault(STATUS_OF[code], []).append(code)  # KeyError: not in the map
    responses = {
        status: ResponseSpec(ErrorResponse, description=" or ".join(group))
        for status, group in sorted(by_status.items())
    }
    return {"responses": responses, "opt": {"error_codes": frozenset(found)}}


def documented(request: Request[Any, Any, Any], code: str) -> None:
    """Log, as an error, an answer whose code the route's OpenAPI operation does not list
    (the test suite fails on it: tests/conftest.py)."""
    handler = request.scope.get("route_handler")
    listed = handler.opt.get("error_codes") if handler is not None else None
    if listed is not None and code not in listed:
        operation = getattr(handler, "operation_id", None) or handler.handler_name
        log.error("undocumented error: %s answered %s", operation, code)
