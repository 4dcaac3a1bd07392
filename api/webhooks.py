"""Controllers of tenants' webhook endpoints and callback secrets."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from anyio import to_thread
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.auth import API_KEY, authenticated
from api.bodies import idempotency, strict_body
from api.errors import BODY, COMMAND, KEYED, errors_of
from api.schemas import Cursor, Envelope, Limit, Page, PathId, Url
from application.callers import Caller, tenant_of
from application.commands import RegisterWebhook, RemoveWebhook, RotateCallbackSecret
from application.handlers.register_webhook import register_webhook
from application.handlers.remove_webhook import remove_webhook
from application.handlers.rotate_callback_secret import rotate_callback_secret
from application.results import RegisteredEndpoint, RemovedEndpoint, Secret
from application.service import AssessmentService

EventType = Literal["verification.initiated", "verification.completed"]


class WebhookRequest(msgspec.Struct, frozen=True):
    """POST /api/v1/webhooks: where to send which events (default: all)."""

    url: Url
    events: Annotated[list[EventType], msgspec.Meta(min_length=1)] | None = None


class Endpoint(msgspec.Struct, frozen=True):
    """A registered endpoint (its secret is shown once, when it is registered)."""

    id: str
    url: str
    events: list[str]


class Try(msgspec.Struct, frozen=True, rename="camel"):
    """One try of a delivery."""

    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryItem(msgspec.Struct, frozen=True, rename="camel"):
    """A delivery and its tries."""

    id: str
    event_id: str
    type: str
    status: str
    tries: list[Try]


class RegisteredEndpointResponse(Envelope[RegisteredEndpoint], frozen=True, kw_only=True):
    """Envelope of POST /webhooks."""


class EndpointsResponse(Envelope[list[Endpoint]], frozen=True, kw_only=True):
    """Envelope of GET /webhooks."""


class RemovedEndpointResponse(Envelope[RemovedEndpoint], frozen=True, kw_only=True):
    """Envelope of DELETE /webhooks/{endpointId}."""


class SecretResponse(Envelope[Secret], frozen=True, kw_only=True):
    """Envelope of the callback secret, read or rotated."""


class DeliveryPage(Page[DeliveryItem], frozen=True):
    """A page of deliveries, newest first; nextCursor is null on the last page."""


class DeliveryPageResponse(Envelope[DeliveryPage], frozen=True, kw_only=True):
    """Envelope of GET /webhooks/{endpointId}/deliveries."""


class DeliveryResponse(Envelope[DeliveryItem], frozen=True, kw_only=True):
    """Envelope of POST /webhook-deliveries/{deliveryId}/redeliver."""


class WebhooksController(Controller):
    """Partners register where verification events are sent."""

    path = "/api/v1/webhooks"
    guards = (authenticated,)
    security = API_KEY
    tags = ("webhooks",)

    @post(
        "/",
        **errors_of(*KEYED, *BODY, *COMMAND),
        operation_id="registerWebhook",
        summary="Register a webhook endpoint",
        status_code=201,
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        data: JSONBody[WebhookRequest],
    ) -> RegisteredEndpointResponse:
        """Register an endpoint for some event types (all when events is left out). The
        answer holds the endpoint's signing secret, shown this once. The URL must be http or
        https on a public address. Tenant key."""
        body = await strict_body(request, WebhookRequest)
        events = None if body.events is None else list[str](body.events)
        registered = await to_thread.run_sync(
            service.execute,
            register_webhook,
            caller,
            RegisterWebhook(body.url, events),
            idempotency(request, body),
        )
        return RegisteredEndpointResponse(data=registered)

    @get(
        "/",
        **errors_of(*KEYED),
        operation_id="listWebhooks",
        summary="List webhook endpoints",
        sync_to_thread=True,
    )
    def endpoints(
        self, caller: NamedDependency[Caller], service: NamedDependency[AssessmentService]
    ) -> EndpointsResponse:
        """The tenant's endpoints, without their secrets. Tenant key."""
        found = service.webhooks.endpoints(tenant_of(caller))
        return EndpointsResponse(data=msgspec.convert(found, list[Endpoint]))

    @delete(
        "/{endpoint_id:str}",
        **errors_of(*KEYED, "VALIDATION_ERROR", "NOT_FOUND", "CONFLICT"),
        operation_id="deleteWebhook",
        summary="Remove a webhook endpoint",
        status_code=200,
        sync_to_thread=True,
    )
    def remove(
        self,
        endpoint_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
    ) -> RemovedEndpointResponse:
        """Remove an endpoint: nothing more is sent to it. Tenant key."""
        command = RemoveWebhook(endpoint_id=endpoint_id)
        return RemovedEndpointResponse(data=service.execute(remove_webhook, caller, command, None))

    @get(
        "/callback-secret",
        **errors_of(*KEYED),
        operation_id="getCallbackSecret",
        summary="Read the callback secret",
        sync_to_thread=True,
    )
    def callback_secret(
        self, caller: NamedDependency[Caller], service: NamedDependency[AssessmentService]
    ) -> SecretResponse:
        """The secret that signs deliveries to records' callbackWebhookUrl. Tenant key."""
        secret = service.webhooks.callback_secret(tenant_of(caller))
        return SecretResponse(data=Secret(secret=secret))

    @post(
        "/callback-secret/rotate",
        **errors_of(*KEYED, *COMMAND, "VALIDATION_ERROR", "PAYLOAD_TOO_LARGE"),
        operation_id="rotateCallbackSecret",
        summary="Replace the callback secret",
        status_code=200,
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
    ) -> SecretResponse:
        """Replace the callback secret: later deliveries to callbackWebhookUrl are signed
        with the new one. Tenant key."""
        secret = await to_thread.run_sync(
            service.execute,
            rotate_callback_secret,
            caller,
            RotateCallbackSecret(),
            idempotency(request, None),
        )
        return SecretResponse(data=secret)

    @get(
        "/{endpoint_id:str}/deliveries",
        **errors_of(*KEYED, "VALIDATION_ERROR", "NOT_FOUND"),
        operation_id="listWebhookDeliveries",
        summary="List an endpoint's deliveries",
        sync_to_thread=True,
    )
    def deliveries(
        self,
        endpoint_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> DeliveryPageResponse:
        """An endpoint's deliveries, newest first, with every try (the endpoint id
        `callback` lists the deliveries to records' callbackWebhookUrl). Tenant key."""
        tenant = tenant_of(caller)
        service.webhooks.check_endpoint(tenant, endpoint_id)
        items, next_cursor = service.deliveries.page(
            tenant.tenant, tenant.mode, endpoint_id, limit, cursor
        )
        page = DeliveryPage(
            items=msgspec.convert(items, list[DeliveryItem]), next_cursor=next_cursor
        )
        return DeliveryPageResponse(data=page)


class DeliveriesController(Controller):
    """Partners send a delivery again."""

    path = "/api/v1/webhook-deliveries"
    guards = (authenticated,)
    security = API_KEY
    tags = ("webhooks",)

    @post(
        "/{delivery_id:str}/redeliver",
        **errors_of(*KEYED, *COMMAND, "VALIDATION_ERROR", "NOT_FOUND", "PAYLOAD_TOO_LARGE"),
        operation_id="redeliverWebhook",
        summary="Send a delivery again",
        status_code=200,
        sync_to_thread=True,
    )
    def redeliver(
        self,
        request: Request[Any, Any, Any],
        delivery_id: PathId,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
    ) -> DeliveryResponse:
        """Queue a delivery again now, with the same webhook-id. One already queued is left
        as it is; with an Idempotency-Key, a retry answers as the first call did and queues
        nothing again, even once the delivery was sent. Tenant key."""
        tenant = tenant_of(caller)

        def queued() -> DeliveryItem:
            item = service.deliveries.redeliver(
                tenant.tenant, tenant.mode, delivery_id, time.time()
            )
            return msgspec.convert(item, DeliveryItem)

        item = service.once(caller, idempotency(request, None), DeliveryItem, queued)
        return DeliveryResponse(data=item)
