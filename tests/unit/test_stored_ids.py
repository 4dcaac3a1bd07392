"""Aggregates found by a derived id (a key's hash, a tenant, an idempotency key, the one
catalog) are looked up again under the ids the store of 2026-12-02 holds them by."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from domain.access import ApiKey, IdempotentResponse
from domain.banks import CATALOG_ID, BankCatalog
from domain.webhooks import TenantWebhooks

EVENTS = Path(__file__).parents[1] / "fixtures" / "events-2026-12-02.json"


def first_events(kind: str) -> list[tuple[UUID, dict[str, Any]]]:
    """Each stored aggregate of a kind: its id and its first event's fields."""
    return [
        (UUID(row["originator_id"]), json.loads(row["state"]))
        for row in json.loads(EVENTS.read_text())
        if row["originator_version"] == 1 and row["topic"].split(":")[1].startswith(f"{kind}.")
    ]


def test_api_keys_are_found_by_their_hash() -> None:
    keys = first_events("ApiKey")
    assert len(keys) == 2
    for stored_id, fields in keys:
        assert ApiKey.id_for(fields["key_hash"]) == stored_id
        assert ApiKey.issue(fields["tenant"], fields["mode"], fields["key_hash"]).id == stored_id


def test_a_tenants_webhooks_are_found_by_tenant_and_mode() -> None:
    [(stored_id, fields)] = first_events("TenantWebhooks")
    assert TenantWebhooks.id_for(fields["tenant"], fields["mode"]) == stored_id
    assert TenantWebhooks.open("acme", "live", "whsec_x").id == stored_id
    assert TenantWebhooks.id_for("acme", "test") != stored_id


def test_an_idempotent_response_is_found_by_its_scope_and_key() -> None:
    # The fixture's first POST /verify was sent by acme's live key with Idempotency-Key start-1.
    [(stored_id, fields)] = first_events("IdempotentResponse")
    assert fields["fingerprint"] == "fixture"
    assert IdempotentResponse.id_for("tenant:acme:live", "start-1") == stored_id
    recorded = IdempotentResponse.record("tenant:acme:live", "start-1", "fixture", {})
    assert recorded.id == stored_id
    assert IdempotentResponse.id_for("tenant:acme:test", "start-1") != stored_id


def test_the_bank_catalog_is_found_under_its_one_id() -> None:
    [(stored_id, _)] = first_events("BankCatalog")
    assert stored_id == CATALOG_ID
    assert BankCatalog.create().id == stored_id
