"""Who sends a command: a tenant (by its API key), a student's session or a reviewer's link."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from domain.assessment import Assessment
from domain.errors import Unauthorized


class Caller:
    """Who sends a command: a tenant or a student's session."""

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        raise NotImplementedError


@dataclass(frozen=True)
class TenantCaller(Caller):
    """A partner platform, authenticated by a tenant API key (key_id: the key's id, which
    the records it starts keep: their sessions live as long as the key)."""

    tenant: str
    mode: str
    key_id: UUID = field(compare=False)

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        return f"tenant:{self.tenant}:{self.mode}"


def tenant_of(caller: Caller) -> TenantCaller:
    """The tenant behind a partner's request; a session token is refused."""
    if not isinstance(caller, TenantCaller):
        raise Unauthorized("this endpoint needs a tenant API key, not a session token")
    return caller


@dataclass(frozen=True, eq=False)
class SessionCaller(Caller):
    """A student's client, authenticated by a session token; holds its record as loaded."""

    record: Assessment

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        return f"session:{self.record.record_verification_id}"


@dataclass(frozen=True, eq=False)
class ReviewerCaller(Caller):
    """A reviewer, whose only credential is the token of the link they were sent; holds the
    record it names, as loaded (the token itself is checked by the record)."""

    record: Assessment
    token: str = field(repr=False)

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        return f"reviewer:{self.record.record_verification_id}"
