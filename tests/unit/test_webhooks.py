"""A tenant's webhook endpoints and callback secret: given events, when a command, then
events, state or an error."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from domain import errors
from domain.webhooks import MAX_ENDPOINTS, TenantWebhooks

COMPLETED, INITIATED = "verification.completed", "verification.initiated"


def opened() -> TenantWebhooks:
    return TenantWebhooks.open("acme", "live", "whsec_first")


def replayed(webhooks: TenantWebhooks) -> Any:
    """The webhooks as another process loads them: folded from the events alone."""
    folded: Any = None
    for event in webhooks.collect_events():
        folded = event.mutate(folded)
    return folded


def test_opening_keeps_the_tenant_mode_and_callback_secret() -> None:
    loaded = replayed(opened())
    assert (loaded.tenant, loaded.mode, loaded.callback_secret) == ("acme", "live", "whsec_first")
    assert loaded.endpoints == {}


def test_an_endpoint_is_registered_for_its_events_each_once_in_order() -> None:
    webhooks = opened()
    webhooks.register("whe_1", "https://partner.example/a", [INITIATED, COMPLETED, INITIATED], "s1")
    webhooks.register("whe_2", "https://partner.example/b", [COMPLETED], "s2")
    expected = {
        "whe_1": {
            "id": "whe_1",
            "url": "https://partner.example/a",
            "events": [COMPLETED, INITIATED],
            "secret": "s1",
        },
        "whe_2": {
            "id": "whe_2",
            "url": "https://partner.example/b",
            "events": [COMPLETED],
            "secret": "s2",
        },
    }
    assert msgspec.to_builtins(webhooks.endpoints) == expected
    loaded = replayed(webhooks)
    assert msgspec.to_builtins(loaded.endpoints) == expected
    assert [endpoint.id for endpoint in loaded.subscribers(COMPLETED)] == ["whe_1", "whe_2"]
    assert [endpoint.id for endpoint in loaded.subscribers(INITIATED)] == ["whe_1"]
    assert loaded.subscribers("verification.unknown") == []


@pytest.mark.parametrize("events", [[], ["verification.exploded"], [COMPLETED, "nope"]])
def test_an_endpoint_needs_known_events(events: list[str]) -> None:
    webhooks = opened()
    with pytest.raises(errors.InvalidInput) as refused:
        webhooks.register("whe_1", "https://partner.example/a", events, "s1")
    assert str(refused.value) == (
        "events: give some of verification.initiated, verification.completed, verification.revoked"
    )
    assert webhooks.endpoints == {}


def test_at_most_20_endpoints_until_one_is_removed() -> None:
    webhooks = opened()
    for n in range(MAX_ENDPOINTS):
        webhooks.register(f"whe_{n}", f"https://partner.example/{n}", [COMPLETED], "s")
    assert MAX_ENDPOINTS == 20
    with pytest.raises(errors.InvalidInput) as refused:
        webhooks.register("whe_x", "https://partner.example/x", [COMPLETED], "s")
    assert str(refused.value) == (
        "at most 20 webhook endpoints per tenant and mode: delete one before registering another"
    )
    webhooks.remove("whe_0")
    webhooks.register("whe_x", "https://partner.example/x", [COMPLETED], "s")
    assert len(replayed(webhooks).endpoints) == 20


def test_a_removed_endpoint_is_sent_nothing_more() -> None:
    webhooks = opened()
    webhooks.register("whe_1", "https://partner.example/a", [COMPLETED], "s1")
    webhooks.register("whe_2", "https://partner.example/b", [COMPLETED], "s2")
    webhooks.remove("whe_1")
    loaded = replayed(webhooks)
    assert list(loaded.endpoints) == ["whe_2"]
    assert [endpoint.id for endpoint in loaded.subscribers(COMPLETED)] == ["whe_2"]


def test_removing_an_unknown_endpoint_is_not_found() -> None:
    webhooks = opened()
    with pytest.raises(errors.WebhookNotFound) as refused:
        webhooks.remove("whe_1")
    assert str(refused.value) == "no webhook endpoint 'whe_1'"


def test_the_callback_secret_is_rotated() -> None:
    webhooks = opened()
    webhooks.rotate("whsec_second")
    assert webhooks.callback_secret == "whsec_second"
    assert replayed(webhooks).callback_secret == "whsec_second"
