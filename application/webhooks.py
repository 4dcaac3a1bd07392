"""Tenants' webhook endpoints and callback secrets (the registry; delivery is elsewhere)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from eventsourcing.persistence import IntegrityError

from application.callers import TenantCaller
from application.ports import SecretSeal, TargetCheck
from application.results import RegisteredEndpoint, Secret
from application.store import EventStore
from domain.errors import WebhookNotFound
from domain.webhooks import CALLBACK, EVENT_TYPES, TenantWebhooks


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhooks:
    """Register, list and remove endpoints; read and rotate the callback secret."""

    def __init__(self, store: EventStore, check_target: TargetCheck, secrets: SecretSeal) -> None:
        self.store = store
        self.check_target = check_target
        self.secrets = secrets

    def _new_secret(self, tenant: str, mode: str) -> tuple[str, str]:
        """A new secret, and its sealed form (what events hold)."""
        secret = new_secret()
        return secret, self.secrets.seal(secret, tenant, mode)

    def find(self, tenant: str, mode: str) -> TenantWebhooks | None:
        """A tenant's webhooks, if it ever used them."""
        return self.store.find(TenantWebhooks, TenantWebhooks.id_for(tenant, mode))

    def _opened(self, caller: TenantCaller) -> TenantWebhooks:
        return self.find(caller.tenant, caller.mode) or TenantWebhooks.open(
            caller.tenant, caller.mode, self._new_secret(caller.tenant, caller.mode)[1]
        )

    def registration(
        self, caller: TenantCaller, url: str, events: list[str] | None
    ) -> tuple[RegisteredEndpoint, TenantWebhooks]:
        """A new endpoint, and the tenant's webhooks with it registered (to be saved)."""
        self.check_target(url, "url")
        webhooks = self._opened(caller)
        endpoint_id = f"whe_{secrets.token_hex(12)}"
        chosen = list(EVENT_TYPES if events is None else events)
        secret, sealed = self._new_secret(caller.tenant, caller.mode)
        webhooks.register(endpoint_id, url, chosen, sealed)
        endpoint = webhooks.endpoints[endpoint_id]
        registered = RegisteredEndpoint(endpoint.id, endpoint.url, endpoint.events, secret)
        return registered, webhooks

    def endpoints(self, caller: TenantCaller) -> list[dict[str, Any]]:
        """The tenant's endpoints, without their secrets."""
        webhooks = self.find(caller.tenant, caller.mode)
        found = webhooks.endpoints.values() if webhooks else []
        return [{"id": e.id, "url": e.url, "events": e.events} for e in found]

    def removal(self, caller: TenantCaller, endpoint_id: str) -> TenantWebhooks:
        """The tenant's webhooks with an endpoint removed (to be saved)."""
        webhooks = self._opened(caller)
        webhooks.remove(endpoint_id)
        return webhooks

    def callback_secret(self, caller: TenantCaller) -> str:
        """The secret that signs deliveries to records' callbackWebhookUrl."""
        return self.callback_secret_of(caller.tenant, caller.mode)

    def callback_secret_of(self, tenant: str, mode: str) -> str:
        """A tenant's callback secret, made on first use."""
        return self.secrets.open(self.stored_callback_secret(tenant, mode), tenant, mode)

    def stored_callback_secret(self, tenant: str, mode: str) -> str:
        """A tenant's callback secret as stored (sealed), made on first use."""
        webhooks = self.find(tenant, mode)
        if webhooks is None:
            webhooks = TenantWebhooks.open(tenant, mode, self._new_secret(tenant, mode)[1])
            try:
                self.store.save(webhooks)
            except IntegrityError:  # made at the same moment elsewhere: use that one
                return self.stored_callback_secret(tenant, mode)
        return webhooks.callback_secret

    def rotation(self, caller: TenantCaller) -> tuple[Secret, TenantWebhooks]:
        """A new callback secret, and the tenant's webhooks with it (to be saved); deliveries
        made once it is saved use it."""
        webhooks = self._opened(caller)
        secret, sealed = self._new_secret(caller.tenant, caller.mode)
        webhooks.rotate(sealed)
        return Secret(secret=secret), webhooks

    def check_endpoint(self, caller: TenantCaller, endpoint_id: str) -> None:
        """Refuse an endpoint id the tenant does not have ('callback' names its callbacks)."""
        webhooks = self.find(caller.tenant, caller.mode)
        if endpoint_id != CALLBACK and (webhooks is None or endpoint_id not in webhooks.endpoints):
            raise WebhookNotFound(f"no webhook endpoint '{endpoint_id}'")

    def any_for(self, tenant: str, mode: str, event_type: str) -> bool:
        """Whether some registered endpoint of the tenant wants this event type."""
        webhooks = self.find(tenant, mode)
        return bool(webhooks and webhooks.subscribers(event_type))
