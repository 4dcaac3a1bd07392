"""POST /webhooks: register an endpoint of the caller's tenant; its secret is shown once."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from application.callers import Caller, tenant_of
from application.commands import RegisterWebhook
from application.results import RegisteredEndpoint
from application.service import AssessmentService, Handler


def decide(
    service: AssessmentService, caller: Caller, command: RegisterWebhook
) -> tuple[RegisteredEndpoint, list[Aggregate]]:
    """The new endpoint, and the tenant's webhooks with it."""
    tenant = tenant_of(caller)
    endpoint, webhooks = service.webhooks.registration(tenant, command.url, command.events)
    return endpoint, [webhooks]


register_webhook = Handler(RegisteredEndpoint, decide, tenant_only=True)
