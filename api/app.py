"""The Litestar application: controllers, guards, errors, limits, health and the schema."""

from __future__ import annotations

from typing import Any, Protocol

from anyio import to_thread
from litestar import Litestar, MediaType, Request, Response, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from api.assessments import AssessmentController, VerifyController
from api.asyncapi import asyncapi
from api.audit import AuditController
from api.auth import provide_caller
from api.bodies import BodyRequest, strict_query_integers
from api.credential_pages import CredentialPagesController
from api.credentials import IssuerController
from api.errors import EXCEPTION_HANDLERS, error_response
from api.forwarded import ForwardedFor
from api.headers import allow, no_store
from api.humanverification import HumanVerificationController
from api.limits import MemoryLedger, MinuteWindows, RequestLimit
from api.metrics import ViewMetrics
from api.openapi import openapi_config
from api.review import ReviewPageController
from api.students import PersonalDataController
from api.tracing import request_spans
from api.verifications import SkillsController, StudentsController, VerificationsController
from api.webhooks import DeliveriesController, WebhooksController
from application.credential_reads import CredentialReads
from application.queries import RecordQueries
from application.service import AssessmentService
from application.students import Students
from infrastructure.credential_keys import Issuer
from infrastructure.loop_events import PostgresLoopEvents, open_loop_events
from infrastructure.rate_windows import SharedLedger
from infrastructure.reconnection import Reconnection
from infrastructure.subjects import DataSubjects
from projections.followers import Followers
from projections.queries import ReadSide

OPEN_PATHS = ["/health", "/ready", "/metrics", "/schema"]


@get("/health", operation_id="health", include_in_schema=False)
async def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@get("/ready", operation_id="ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    """The event store is reachable; each view's position and lag, and each follower's
    position, lag and last move."""
    service: AssessmentService = request.app.state.service
    read: ReadSide = request.app.state.read
    followers: Followers = request.app.state.followers
    try:
        head = await to_thread.run_sync(service.store.recorder.max_notification_id)
        views = await to_thread.run_sync(read.status)
        states = await to_thread.run_sync(followers.report, views)
    except Exception:
        if request.app.state.reconnection is not None:
            request.app.state.reconnection.after_failure()
        return error_response("SERVICE_UNAVAILABLE", "the event store cannot be reached", 503)
    details = {
        "eventStore": {"head": head or 0},
        "projections": views,
        "followers": {name: state.plain() for name, state in states.items()},
    }
    return Response({"status": "ready", "details": details}, media_type=MediaType.JSON)


async def before_request(request: Request[Any, Any, Any]) -> None:
    """Before any handler: Litestar's HTML page for an unknown /schema path answers the
    error envelope instead, and query integers must be written in digits."""
    if request.route_handler.handler_name == "handle_schema_path_not_found":
        raise NotFoundException("no such document under /schema")
    await strict_query_integers(request)


@get("/metrics", operation_id="metrics", include_in_schema=False, sync_to_thread=True)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus metrics for operators: the process's, and each view's position and lag
    (read from the database, so in a worker thread)."""
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.view_metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def open_events(app: Litestar) -> None:
    """Open the store's reads and writes from the event loop, where it has them, and the
    watch for the database's return after a failure (PostgreSQL only)."""
    service: AssessmentService = app.state.service
    personal = service.personal
    assert isinstance(personal, DataSubjects)
    events = await open_loop_events(service.store, service.settings, personal)
    app.state.loop_events = events
    renew = events.renew if events is not None else None
    app.state.reconnection = Reconnection.of(service.store, service.settings, renew)
    if events is not None:  # every process counts in the same ledger
        ledger = SharedLedger(events)
        for limit in (app.state.request_limit.windows, app.state.auth_failures):
            limit.ledger = ledger


async def close_events(app: Litestar) -> None:
    """Close them."""
    events: PostgresLoopEvents | None = app.state.loop_events
    reconnection: Reconnection | None = app.state.reconnection
    app.state.loop_events = app.state.reconnection = None
    if reconnection is not None:
        await reconnection.stop()
    if events is not None:
        await events.close()


class Wired(Protocol):
    """What the app serves, built by the composition root (entrypoints/bootstrap.py)."""

    @property
    def commands(self) -> AssessmentService: ...
    @property
    def read(self) -> ReadSide: ...
    @property
    def students(self) -> Students: ...
    @property
    def records(self) -> RecordQueries: ...
    @property
    def followers(self) -> Followers: ...
    @property
    def issuer(self) -> Issuer: ...
    @property
    def credentials(self) -> CredentialReads: ...


def create_app(wired: Wired) -> Litestar:
    """Build the HTTP app around the commands, the views and the students' personal data."""
    service, read, students, records = wired.commands, wired.read, wired.students, wired.records
    settings = service.settings
    minutes = lambda: service.clock().timestamp()  # noqa: E731  (windows of the service's clock)
    rate_limit = RequestLimit(
        MinuteWindows(settings.rate_limit_per_minute, MemoryLedger(), minutes), OPEN_PATHS
    )
    proxies = settings.proxy_networks()
    forwarded = [ForwardedFor(proxies)] if proxies else []
    prometheus = PrometheusConfig(
        app_name="assess", prefix="assess", group_path=True, exclude=OPEN_PATHS
    )
    protected = [
        VerifyController,
        AssessmentController,
        VerificationsController,
        StudentsController,
        SkillsController,
        PersonalDataController,
        WebhooksController,
        DeliveriesController,
        HumanVerificationController,
    ]
    app = Litestar(
        route_handlers=[
            *protected,
            AuditController,
            ReviewPageController,
            IssuerController,
            CredentialPagesController,
            health,
            ready,
            metrics,
            asyncapi,
        ],
        dependencies={
            "caller": Provide(provide_caller, sync_to_thread=False),
            "service": Provide(lambda: service, sync_to_thread=False),
            "read": Provide(lambda: read, sync_to_thread=False),
            "students": Provide(lambda: students, sync_to_thread=False),
            "records": Provide(lambda: records, sync_to_thread=False),
            "banks": Provide(lambda: service.banks, sync_to_thread=False),
            "credentials": Provide(lambda: wired.credentials, sync_to_thread=False),
        },
        # Forwarded addresses are read only when the operator named proxies: no cost else.
        middleware=[*forwarded, rate_limit, prometheus.middleware],
        plugins=request_spans(settings, untraced=OPEN_PATHS),
        before_send=[no_store(exclude=OPEN_PATHS)],
        before_request=before_request,
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=BodyRequest,
        request_max_body_size=settings.max_body_bytes,
        # Logging is the process's (the command line configures it): Litestar's own config
        # would replace the root handlers and start a queue thread for every app made.
        logging_config=None,
        openapi_config=openapi_config(),
        on_startup=[open_events],
        on_shutdown=[close_events],
    )
    app.before_send.append(allow(app))  # made from the app's routes, so after them
    app.state.service = service
    app.state.records = records
    app.state.loop_events = app.state.reconnection = None
    app.state.read = read
    app.state.request_limit = rate_limit
    app.state.auth_failures = MinuteWindows(
        settings.auth_failures_per_minute, MemoryLedger(), minutes
    )
    app.state.view_metrics = CollectorRegistry(auto_describe=False)
    app.state.view_metrics.register(ViewMetrics(read, wired.followers))
    app.state.followers = wired.followers
    app.state.issuer = wired.issuer
    app.state.credentials = wired.credentials
    return app
