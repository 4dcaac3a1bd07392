"""Request bodies, decoded once and strictly (a "1" is not an index), and the Idempotency-Key.

Every JSON body goes through `decoded`, whether Litestar reads it for a handler's `data`
(through `BodyRequest.json`) or a handler decodes it strictly: a body that is not UTF-8,
not JSON, nested too deeply or of the wrong shape is a VALIDATION_ERROR naming the field."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.types import Empty

from api.wording import allowed_values, in_words, malformed
from application.messages import Idempotency
from application.service import AssessmentService
from domain.errors import InvalidInput

Body = TypeVar("Body")
MAX_IDEMPOTENCY_KEY = 255
_AT_PATH = re.compile(r"^(?P<reason>.*) - at `\$\.?(?P<path>[^`]*)`$")


def decoded(raw: bytes, body_type: type[Body]) -> Body:
    """Decode a JSON body without coercion; an empty body is {}; errors name the field."""
    try:
        return msgspec.json.decode(raw if raw.strip() else b"{}", type=body_type)
    except msgspec.ValidationError as error:
        match = _AT_PATH.match(str(error))
        if match is None:
            raise InvalidInput(in_words("body", str(error))) from None
        path = match["path"]
        allowed = allowed_values(body_type, path)
        raise InvalidInput(in_words(path or "body", match["reason"], allowed)) from None
    except msgspec.DecodeError as error:
        raise InvalidInput(malformed(raw, error)) from None
    except UnicodeDecodeError:
        raise InvalidInput("body is not valid UTF-8") from None
    except RecursionError:
        raise InvalidInput("body is nested too deeply") from None


class BodyRequest(Request[Any, Any, Any]):
    """Litestar's request, with the body decoded by `decoded` for every handler."""

    async def json(self) -> Any:
        """The JSON body as builtins, decoded once."""
        if self._json is Empty:
            self._json = decoded(await self.body(), Any)
        return self._json


async def strict_body(request: Request[Any, Any, Any], body_type: type[Body]) -> Body:
    """The body as its request struct, decoded strictly (Litestar's conversion is lax)."""
    return decoded(await request.body(), body_type)


def idempotency(request: Request[Any, Any, Any], body: msgspec.Struct | None) -> Idempotency | None:
    """The Idempotency-Key of a POST and the fingerprint of its path and decoded body: an
    HMAC under a key derived from the master key, since the body may hold personal data
    that must not be confirmed from the store by hashing a guess (its unkeyed SHA-256 is
    compared only with what was stored before fingerprints were keyed, never stored)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key must have 1 to {MAX_IDEMPOTENCY_KEY} characters")
    message = request.url.path.encode() + b"\n" + msgspec.json.encode(body)
    service: AssessmentService = request.app.state.service
    fingerprint = hmac.new(service.fingerprint_key, message, hashlib.sha256).hexdigest()
    return Idempotency(key, fingerprint, unkeyed=hashlib.sha256(message).hexdigest())
