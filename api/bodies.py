"""Request bodies, decoded once and strictly (a "1" is not an index), and the Idempotency-Key.

Every JSON body goes through `decoded`, whether Litestar reads it for a handler's `data`
(through `BodyRequest.json`) or a handler decodes it strictly: a body that is not UTF-8,
not JSON, nested too deeply or of the wrong shape is a VALIDATION_ERROR naming the field."""

from __future__ import annotations

import hashlib
import hmac
import re
import weakref
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.types import Empty

from api.wording import allowed_values, in_words, malformed, parameter_name
from application.commands import Idempotency
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


_DIGITS = re.compile(r"[0-9]{1,19}")
_INTEGER_QUERIES: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _integer_queries(handler: Any) -> tuple[str, ...]:
    """The names of the query parameters a handler reads as integers."""
    names = []
    for field in handler.parsed_fn_signature.parameters.values():
        definition = field.kwarg_definition
        if field.annotation is not int and not (field.is_optional and int in field.args):
            continue
        if getattr(definition, "header", None) or getattr(definition, "cookie", None):
            continue
        names.append(parameter_name(field))
    return tuple(names)


async def strict_query_integers(request: Request[Any, Any, Any]) -> None:
    """Refuse a query integer that is not written in digits alone: Litestar would read
    `1e2` as 100, `2.0` as 2 and `null` as none. (A path's integers are matched by the
    route itself.)"""
    handler = request.route_handler
    names = _INTEGER_QUERIES.get(handler)
    if names is None:
        names = _INTEGER_QUERIES[handler] = _integer_queries(handler)
    for name in names:
        for value in request.query_params.getall(name, []):
            if _read_laxly(value):
                raise InvalidInput(f"{name} must be an integer written in digits")


def _read_laxly(value: str) -> bool:
    """Whether Litestar would read a value that is no integer as one (or as none): what it
    refuses itself, or an integer out of bounds, it words better."""
    if _DIGITS.fullmatch(value.removeprefix("-")):
        return False
    if value == "null":
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True
