"""The commands the service accepts, and the Idempotency-Key that may come with one."""

from __future__ import annotations

from typing import Any

import msgspec


class Idempotency(msgspec.Struct, frozen=True):
    """An Idempotency-Key and the fingerprint of the request it came with (`unkeyed`: the
    fingerprint's form before they were keyed, to replay what was stored then)."""

    key: str
    fingerprint: str
    unkeyed: str | None = None


class StartVerification(msgspec.Struct, frozen=True):
    """Start verifying a student's skills."""

    student: dict[str, str]
    skills: list[dict[str, Any]]
    callback_webhook_url: str | None = None
    method: str = "assessment"
    sources: list[dict[str, Any]] = msgspec.field(default_factory=list)


class InviteReviewer(msgspec.Struct, frozen=True):
    """Invite a reviewer to endorse a human-endorsement record's skills (again: replace)."""

    name: str
    email: str
    endorsement_type: str
    company: str | None = None
    record_verification_id: str | None = None


class EndorseSkills(msgspec.Struct, frozen=True):
    """The reviewer's endorsement: the skills they verify (the others are rejected)."""

    skill_ids: list[str] | None


class GenerateQuestions(msgspec.Struct, frozen=True):
    """Draw (or return again) the questions of the next attempt."""

    record_verification_id: str | None = None


class SubmitAnswers(msgspec.Struct, frozen=True):
    """Submit every answer of the pending attempt at once."""

    answers: list[tuple[str, int]] | None
    record_verification_id: str | None = None


class RemoveWebhook(msgspec.Struct, frozen=True):
    """Remove one of the caller's tenant's webhook endpoints."""

    endpoint_id: str


class RegisterWebhook(msgspec.Struct, frozen=True):
    """Register a webhook endpoint of the caller's tenant (all event types when None)."""

    url: str
    events: list[str] | None = None


class RotateCallbackSecret(msgspec.Struct, frozen=True):
    """Replace the tenant's callback secret."""


class RevokeVerification(msgspec.Struct, frozen=True):
    """Revoke a record's verified skills and their credentials."""

    record_verification_id: str
    reason: str
