"""Authentication from x-api-key, or from a reviewer link's token: guards, so they run before
the body is read."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from anyio import to_thread
from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler

from api.limits import MinuteWindows, address_of
from application.callers import Caller
from application.ports import LoopEvents
from application.queries import RecordQueries
from application.service import AssessmentService
from application.store import NotLoaded
from domain.errors import InvalidReviewerToken, Unauthorized

# The OpenAPI security requirement of the routes `authenticated` guards: the x-api-key header.
API_KEY = [{"apiKey": list[str]()}]


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Resolve the caller from x-api-key, or reject the request with UNAUTHORIZED.

    An address past its failed authentications gets RATE_LIMITED without a lookup,
    unless it sends a key this process found valid before: a partner's key still works
    beside someone guessing from the same address, and guesses cost nothing."""
    service: AssessmentService = connection.app.state.service
    failures: MinuteWindows = connection.app.state.auth_failures
    credential = connection.headers.get("x-api-key")
    address = address_of(connection.scope)
    wait = failures.blocked_for(address)
    if wait is not None and not service.access.knows(credential):
        raise TooManyRequestsException(
            "too many failed authentications from this address",
            headers={"RateLimit-Reset": str(wait)},
        )
    try:
        connection.state.caller = await caller_of(connection.app, credential)
    except Unauthorized:
        await failures.take(address)
        raise


async def caller_of(app: Litestar, credential: str | None) -> Caller:
    """The caller a credential names, found on the event loop when the store can be read
    from it or nothing need be read (a tenant key this process remembers), else in a
    worker thread."""
    service: AssessmentService = app.state.service
    events: LoopEvents | None = app.state.loop_events
    reads = service.access.reads(credential)
    found: dict[UUID, Any] = {}
    if reads:
        if events is None:
            return await to_thread.run_sync(service.access.authenticate, credential)
        found.update(await events.load(reads))
    for _ in range(2):
        try:
            with service.store.loaded(found):
                return service.access.authenticate(credential)
        except NotLoaded as missing:  # a session's tenant key, or a key's memory ended
            if events is None:
                break
            found.update(await events.load({missing.args[0]}))
    return await to_thread.run_sync(service.access.authenticate, credential)


async def reviewer_of(
    connection: ASGIConnection[Any, Any, Any, Any], token: str | None, *, usable: bool = True
) -> Caller:
    """The reviewer a link's token names, if the link is still good (SPEC's order: missing,
    unknown or replaced, expired, used). The token is the only credential: an address
    past its failed tries gets RATE_LIMITED, as with keys."""
    records: RecordQueries = connection.app.state.records
    failures: MinuteWindows = connection.app.state.auth_failures
    address = address_of(connection.scope)
    wait = failures.blocked_for(address)
    if wait is not None:
        raise TooManyRequestsException(
            "too many failed reviewer links from this address",
            headers={"RateLimit-Reset": str(wait)},
        )
    try:
        return await to_thread.run_sync(partial(records.reviewer, token, usable=usable))
    except InvalidReviewerToken:
        await failures.take(address)
        raise


async def reviewer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Resolve the caller from ?reviewerToken=, a link still usable, or reject the request."""
    token = connection.query_params.get("reviewerToken")
    connection.state.caller = await reviewer_of(connection, token)


async def reviewer_link(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Resolve the caller from ?reviewerToken=, the record's current link (a command checks
    its expiry and use itself, after replaying an Idempotency-Key's first answer)."""
    token = connection.query_params.get("reviewerToken")
    connection.state.caller = await reviewer_of(connection, token, usable=False)


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    """The caller the guard authenticated."""
    caller: Caller = request.state.caller
    return caller
