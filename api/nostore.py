"""`Cache-Control: no-store` on every answer but the open paths' (health, readiness,
metrics, the schema): the API's answers are asked for with a key or token and may carry a
secret or personal data, the reviewer page carries both, and an error of either tells
something too. No shared or browser cache may keep any of them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope


def no_store(exclude: Sequence[str]) -> Callable[[Message, Scope], Coroutine[Any, Any, None]]:
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
