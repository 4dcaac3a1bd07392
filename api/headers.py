"""Headers set on answers as they leave: `Allow` on the answers to OPTIONS, and
`Cache-Control: no-store` on every answer but the open paths' (health, readiness,
metrics, the schema): the API's answers are asked for with a key or token and may carry a
secret or personal data, the reviewer page carries both, and an error of either tells
something too. No shared or browser cache may keep any of them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

Hook = Callable[[Message, Scope], Coroutine[Any, Any, None]]


def no_store(exclude: Sequence[str]) -> Hook:
    """A hook on every message the app sends (404s of the router and 429s of the limits
    included) that marks the answers of every path but those starting with one of
    `exclude`: Cache-Control: no-store, and Pragma: no-cache for HTTP/1.0 caches."""
    cacheable = tuple(exclude)

    async def mark(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start" and not scope["path"].startswith(cacheable):
            message.setdefault("headers", [])
            headers = MutableScopeHeaders(message)
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"

    return mark


def allow(app: Litestar) -> Hook:
    """A hook that sets the Allow header of an OPTIONS answer to every method of its path.
    Litestar's own OPTIONS handler names only the methods of the handlers registered
    before it (GET without POST on /api/v1/webhooks): this looks the path's methods up."""
    methods = {
        id(handler): ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.http_methods == {"OPTIONS"}
    }

    async def mark(message: Message, scope: Scope) -> None:
        handler = scope.get("route_handler")
        if message["type"] == "http.response.start" and id(handler) in methods:
            message.setdefault("headers", [])
            MutableScopeHeaders(message)["Allow"] = methods[id(handler)]

    return mark
