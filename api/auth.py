"""Authentication from x-api-key (a guard, so it runs before the body is read) and idempotency."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from application.messages import Caller, Idempotency
from application.service import AssessmentService
from domain.errors import InvalidInput

MAX_IDEMPOTENCY_KEY = 255


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Resolve the caller from x-api-key, or reject the request with UNAUTHORIZED."""
    service: AssessmentService = connection.app.state.service
    credential = connection.headers.get("x-api-key")
    connection.state.caller = await to_thread.run_sync(service.authenticate, credential)


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard authenticated."""
    caller: Caller = request.state.caller
    return caller


def provide_service(request: Request[Any, Any, Any]) -> AssessmentService:
    """The application service of this process."""
    service: AssessmentService = request.app.state.service
    return service


def idempotency(request: Request[Any, Any, Any], data: msgspec.Struct | None) -> Idempotency | None:
    """The Idempotency-Key of a POST and the fingerprint of its path and decoded body."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key: give 1 to {MAX_IDEMPOTENCY_KEY} characters")
    fingerprint = hashlib.sha256(
        request.url.path.encode() + b"\n" + msgspec.json.encode(data)
    ).hexdigest()
    return Idempotency(key=key, fingerprint=fingerprint)
