"""Request bodies, decoded strictly (a "1" is not an index), and the Idempotency-Key."""

from __future__ import annotations

import hashlib
import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from application.messages import Idempotency
from domain.errors import InvalidInput

Body = TypeVar("Body", bound=msgspec.Struct)
MAX_IDEMPOTENCY_KEY = 255
_AT_PATH = re.compile(r"^(?P<reason>.*) - at `\$\.?(?P<path>[^`]*)`$")


async def strict_body(request: Request[Any, Any, Any], body_type: type[Body]) -> Body:
    """Decode the JSON body without coercion; an empty body is {}; errors name the field."""
    raw = await request.body()
    try:
        return msgspec.json.decode(raw if raw.strip() else b"{}", type=body_type)
    except msgspec.ValidationError as error:
        match = _AT_PATH.match(str(error))
        if match is None:
            raise InvalidInput(f"body: {error}") from None
        raise InvalidInput(f"{match['path'] or 'body'}: {match['reason']}") from None
    except msgspec.DecodeError as error:
        raise InvalidInput(f"body: not valid JSON ({error})") from None


def idempotency(request: Request[Any, Any, Any], body: msgspec.Struct) -> Idempotency | None:
    """The Idempotency-Key of a POST and the fingerprint of its path and decoded body."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key: give 1 to {MAX_IDEMPOTENCY_KEY} characters")
    fingerprint = hashlib.sha256(
        request.url.path.encode() + b"\n" + msgspec.json.encode(body)
    ).hexdigest()
    return Idempotency(key=key, fingerprint=fingerprint)
