"""A command's first answer as its Idempotency-Key's record keeps it, and as a retry is
answered again from it."""

from __future__ import annotations

import hmac
from typing import Any
from uuid import UUID

import msgspec

from application.access import digest, new_session_token
from application.callers import Caller, tenant_of
from domain.errors import IdempotencyKeyReused

# Result fields that repeat personal data of the request (field: the command's attribute).
# An idempotency record does not keep them, since it outlives an erasure: a replay takes
# them from the retried request, whose body the fingerprint proves to be the same.
ECHOED = {"reviewerEmail": "email"}


def idempotency_record(result: msgspec.Struct) -> dict[str, Any]:
    """A result as its idempotency record keeps it: a session token only as its hash, and
    no personal data."""
    stored: dict[str, Any] = msgspec.to_builtins(result)
    if "sessionToken" in stored:
        stored["sessionTokenHash"] = digest(stored.pop("sessionToken"))
    for field in ECHOED:
        stored.pop(field, None)
    return stored


def answered_again(
    caller: Caller, stored: dict[str, Any], command: object, sessions: bytes
) -> dict[str, Any]:
    """A kept result as it was answered: the personal data it repeated taken from the
    retried request again, and the session token derived again (under `sessions`, the
    session key) for the replaying caller's key, which must be the key that started the
    record."""
    stored = {
        **{
            field: getattr(command, name)
            for field, name in ECHOED.items()
            if hasattr(command, name)
        },
        **stored,
    }
    if "sessionTokenHash" not in stored:  # no token, or one kept before tokens were derived
        return stored
    result = {name: value for name, value in stored.items() if name != "sessionTokenHash"}
    record = UUID(stored["recordVerificationId"].rsplit("_", 1)[1])  # ver_<mode>_<uuid hex>
    token = new_session_token(sessions, record, tenant_of(caller).key_id)
    if not hmac.compare_digest(digest(token), stored["sessionTokenHash"]):
        raise IdempotencyKeyReused("this Idempotency-Key was used with another API key")
    return {**result, "sessionToken": token}
