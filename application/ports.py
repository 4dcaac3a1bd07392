"""What the use cases need from infrastructure, as interfaces; the composition root
(api/bootstrap.py) plugs in the implementations."""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryLog(Protocol):
    """The webhook delivery log: a tenant's deliveries, and sending one again."""

    def page(
        self, tenant: str, mode: str, endpoint_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """An endpoint's deliveries, newest first, and the cursor of the next page."""

    def redeliver(self, tenant: str, mode: str, delivery_id: str, now: float) -> dict[str, Any]:
        """Send a delivery again (same webhook-id)."""


class TargetCheck(Protocol):
    """Refuses a webhook target that may not be one (InvalidInput naming the field)."""

    def __call__(self, url: str, field: str) -> None:
        """Return if the URL may be a target; raise InvalidInput otherwise."""
