"""A tenant's webhook endpoints and the secret its records' callbacks are signed with."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

import msgspec
from eventsourcing.domain import Aggregate

from domain.errors import InvalidInput, WebhookNotFound

EVENT_TYPES = ("verification.initiated", "verification.completed", "verification.revoked")
# Each event is sent to every endpoint that wants it: a bound keeps a tenant's fan-out small.
MAX_ENDPOINTS = 20

CALLBACK = "callback"  # the endpoint id of the deliveries to records' callbackWebhookUrl


class Endpoint(msgspec.Struct, frozen=True):
    """A registered endpoint: where events of its types go, and the secret that signs them."""

    id: str
    url: str
    events: list[str]
    secret: str


class TenantWebhooks(Aggregate):
    """The endpoints one tenant registered in one mode, and its callback secret."""

    class Opened(Aggregate.Created):
        """The tenant's webhooks were first used; a callback secret was made."""

        tenant: str
        mode: str
        callback_secret: str

    class EndpointRegistered(Aggregate.Event):
        """The tenant registered an endpoint for some event types, with its own secret."""

        endpoint_id: str
        url: str
        events: list[str]
        secret: str

        def apply(self, webhooks: TenantWebhooks) -> None:
            webhooks.endpoints[self.endpoint_id] = Endpoint(
                id=self.endpoint_id, url=self.url, events=list(self.events), secret=self.secret
            )

    class EndpointRemoved(Aggregate.Event):
        """The tenant removed an endpoint; nothing more is sent to it."""

        endpoint_id: str

        def apply(self, webhooks: TenantWebhooks) -> None:
            del webhooks.endpoints[self.endpoint_id]

    class CallbackSecretRotated(Aggregate.Event):
        """The tenant replaced the secret that signs callbackWebhookUrl deliveries."""

        callback_secret: str

        def apply(self, webhooks: TenantWebhooks) -> None:
            webhooks.callback_secret = self.callback_secret

    def __init__(self, tenant: str, mode: str, callback_secret: str) -> None:
        self.tenant = tenant
        self.mode = mode
        self.callback_secret = callback_secret
        self.endpoints: dict[str, Endpoint] = {}

    @staticmethod
    def id_for(tenant: str, mode: str) -> UUID:
        """The aggregate id of a tenant's webhooks in one mode."""
        return uuid5(NAMESPACE_URL, f"assess:webhooks:{tenant}:{mode}")

    @classmethod
    def open(cls, tenant: str, mode: str, callback_secret: str) -> TenantWebhooks:
        """Start keeping a tenant's webhooks."""
        return cls._create(
            cls.Opened,
            id=cls.id_for(tenant, mode),
            tenant=tenant,
            mode=mode,
            callback_secret=callback_secret,
        )

    def register(self, endpoint_id: str, url: str, events: list[str], secret: str) -> None:
        """Register an endpoint for known event types, up to MAX_ENDPOINTS."""
        unknown = [event for event in events if event not in EVENT_TYPES]
        if unknown or not events:
            raise InvalidInput(f"events: give some of {', '.join(EVENT_TYPES)}")
        if len(self.endpoints) >= MAX_ENDPOINTS:
            raise InvalidInput(
                f"at most {MAX_ENDPOINTS} webhook endpoints per tenant and mode:"
                " delete one before registering another"
            )
        self.trigger_event(
            self.EndpointRegistered,
            endpoint_id=endpoint_id,
            url=url,
            events=sorted(set(events)),
            secret=secret,
        )

    def remove(self, endpoint_id: str) -> None:
        """Remove a registered endpoint."""
        if endpoint_id not in self.endpoints:
            raise WebhookNotFound(f"no webhook endpoint '{endpoint_id}'")
        self.trigger_event(self.EndpointRemoved, endpoint_id=endpoint_id)

    def rotate(self, callback_secret: str) -> None:
        """Replace the callback secret."""
        self.trigger_event(self.CallbackSecretRotated, callback_secret=callback_secret)

    def subscribers(self, event_type: str) -> list[Endpoint]:
        """The endpoints that want an event type."""
        return [e for e in self.endpoints.values() if event_type in e.events]
