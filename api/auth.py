"""Authentication from x-api-key: a guard, so it runs before the body is read."""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from application.messages import Caller
from application.service import AssessmentService


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Resolve the caller from x-api-key, or reject the request with UNAUTHORIZED."""
    service: AssessmentService = connection.app.state.service
    credential = connection.headers.get("x-api-key")
    connection.state.caller = await to_thread.run_sync(service.access.authenticate, credential)


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard authenticated."""
    caller: Caller = request.state.caller
    return caller
