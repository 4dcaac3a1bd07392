"""Tenant API keys and idempotent responses: small aggregates beside the assessments."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import IdempotencyKeyReused

MODES = ("live", "test")


class ApiKey(Aggregate):
    """A tenant's API key, known only by its hash."""

    class Issued(Aggregate.Created):
        """An operator issued a key to a tenant in one mode."""

        tenant: str
        mode: str
        key_hash: str
        display_name: str | None = None  # the tenant's name as reviewers see it

    class Revoked(Aggregate.Event):
        """An operator revoked the key; every process refuses it from then on."""

        def apply(self, key: ApiKey) -> None:
            key.revoked_at = self.timestamp

    def __init__(
        self, tenant: str, mode: str, key_hash: str, display_name: str | None = None
    ) -> None:
        self.tenant = tenant
        self.mode = mode
        self.key_hash = key_hash
        self.display_name = display_name
        self.revoked_at: datetime | None = None

    @staticmethod
    def id_for(key_hash: str) -> UUID:
        """The aggregate id under which a key with this hash is stored."""
        return uuid5(NAMESPACE_URL, f"assess:api-key:{key_hash}")

    @classmethod
    def issue(
        cls, tenant: str, mode: str, key_hash: str, display_name: str | None = None
    ) -> ApiKey:
        """Issue a key to a tenant (named, for the people it asks, by `display_name`)."""
        return cls._create(
            cls.Issued,
            id=cls.id_for(key_hash),
            tenant=tenant,
            mode=mode,
            key_hash=key_hash,
            display_name=display_name,
        )

    @property
    def asker(self) -> str:
        """How the tenant is named to the people it asks: its display name, else its id."""
        return self.display_name or self.tenant

    def revoke(self) -> None:
        """Revoke the key; revoking it again changes nothing."""
        if self.revoked_at is None:
            self.trigger_event(self.Revoked)

    def matches(self, key_hash: str) -> bool:
        """Compare in constant time, and refuse a revoked key."""
        return hmac.compare_digest(self.key_hash, key_hash) and self.revoked_at is None


class IdempotentResponse(Aggregate):
    """The outcome of the first command sent with an Idempotency-Key, for replays."""

    class Recorded(Aggregate.Created):
        """A command sent with an idempotency key succeeded with this result."""

        fingerprint: str
        result: dict[str, Any]

    def __init__(self, fingerprint: str, result: dict[str, Any]) -> None:
        self.fingerprint = fingerprint
        self.result = result

    @staticmethod
    def id_for(scope: str, key: str) -> UUID:
        """The aggregate id of a key within a caller's scope (a tenant or a session)."""
        return uuid5(NAMESPACE_URL, f"assess:idempotency:{scope}\n{key}")

    @classmethod
    def record(
        cls, scope: str, key: str, fingerprint: str, result: dict[str, Any]
    ) -> IdempotentResponse:
        """Record the result of a command sent with an idempotency key."""
        return cls._create(
            cls.Recorded, id=cls.id_for(scope, key), fingerprint=fingerprint, result=result
        )

    def replay(self, fingerprint: str, unkeyed: str | None = None) -> dict[str, Any]:
        """Return the first result, if the request is the same one (`unkeyed`: its
        fingerprint as it was stored before fingerprints were keyed)."""
        if not hmac.compare_digest(self.fingerprint, fingerprint) and not (
            unkeyed is not None and hmac.compare_digest(self.fingerprint, unkeyed)
        ):
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request")
        return self.result
