"""POST /webhooks/callback-secret/rotate: replace the tenant's callback secret."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from application.callers import Caller, tenant_of
from application.commands import RotateCallbackSecret
from application.results import Secret
from application.service import AssessmentService, Handler


def decide(
    service: AssessmentService, caller: Caller, _: RotateCallbackSecret
) -> tuple[Secret, list[Aggregate]]:
    """The new secret, and the tenant's webhooks with it."""
    secret, webhooks = service.webhooks.rotation(tenant_of(caller))
    return secret, [webhooks]


rotate_callback_secret = Handler(Secret, decide, tenant_only=True)
