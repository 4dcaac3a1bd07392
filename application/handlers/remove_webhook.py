"""DELETE /webhooks/{id}: remove an endpoint of the caller's tenant; nothing more goes to it."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from application.callers import Caller, tenant_of
from application.commands import RemoveWebhook
from application.results import RemovedEndpoint
from application.service import AssessmentService, Handler


def decide(
    service: AssessmentService, caller: Caller, command: RemoveWebhook
) -> tuple[RemovedEndpoint, list[Aggregate]]:
    """The tenant's webhooks without the endpoint."""
    webhooks = service.webhooks.removal(tenant_of(caller), command.endpoint_id)
    return RemovedEndpoint(id=command.endpoint_id, deleted=True), [webhooks]


remove_webhook = Handler(RemovedEndpoint, decide, tenant_only=True)
