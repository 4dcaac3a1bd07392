"""A span per request when the process traces (infrastructure/tracing.py): Litestar's
OpenTelemetry plugin, outside every other middleware, continuing a caller's `traceparent`.

A span names its route's template, never the path or the query as sent: a reviewer's token
is the path of `/review/<token>` and a query value of the human-verification endpoints,
and spans leave the service for whatever collector the operator runs."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.utils import normalize_path
from opentelemetry.trace import Span

from application.settings import Settings

ROUTE = "http.route"
# Where the ASGI instrumentation records the path and query (the semantic conventions'
# older names and their newer ones).
PATH, URL, QUERY = ("http.target", "url.path"), ("http.url", "url.full"), ("url.query",)


def route(scope: Any) -> str | None:
    """The template of the route a request goes to (None: no route, a 404 or 405)."""
    app: Litestar = scope["litestar_app"]
    try:
        found = app.asgi_router.handle_routing(normalize_path(scope["path"]), scope.get("method"))
    except Exception:
        return None
    template: str = found[4]
    return template


def named(scope: Any) -> tuple[str, dict[str, str]]:
    """A request span's name and route: `POST /api/v1/assessment/submit`,
    `GET /review/{reviewer_token}`; only the method when no route matches."""
    method, template = scope.get("method", "HTTP"), route(scope)
    return (method, {}) if template is None else (f"{method} {template}", {ROUTE: template})


def without_secrets(span: Span, scope: dict[str, Any]) -> None:
    """Replace the path and URL the instrumentation recorded by the route's template."""
    recorded = getattr(span, "attributes", None) or {}
    template = route(scope) or ""
    for name in PATH + URL + QUERY:
        if name in recorded:
            span.set_attribute(name, template if name in PATH + URL else "")


def request_spans(settings: Settings, untraced: list[str]) -> list[OpenTelemetryPlugin]:
    """The plugin that traces requests (but those to the untraced paths), when this
    process traces."""
    if not settings.tracing_on:
        return []
    config = OpenTelemetryConfig(
        exclude=untraced,
        exclude_spans=["receive", "send"],
        scope_span_details_extractor=named,
        server_request_hook_handler=without_secrets,
    )
    return [OpenTelemetryPlugin(config)]
