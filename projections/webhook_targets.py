"""The webhook targets view: each tenant's endpoints and callback secret (sealed, as its
TenantWebhooks events hold them), for the webhook consumer."""

from __future__ import annotations

from eventsourcing.utils import get_topic

from application.ports import Behind, Target
from application.store import EventStore
from domain.webhooks import CALLBACK, Endpoint, TenantWebhooks
from infrastructure.database import transaction
from infrastructure.following import Batch
from infrastructure.sql import Sql, dumps, loads
from projections.deadletters import DeadLetters
from projections.model import PoisonEvent, ReadModel
from projections.views import Applied, current_generation, table_of

COLUMNS = ("id", "tenant", "mode", "callback_secret", "endpoints", "position")


class WebhookTargetsView(ReadModel):
    """One row per tenant and mode: its registered endpoints and its callback secret."""

    name = "webhook_targets"
    applies = (
        TenantWebhooks.Opened,
        TenantWebhooks.EndpointRegistered,
        TenantWebhooks.EndpointRemoved,
        TenantWebhooks.CallbackSecretRotated,
    )
    ignores = ()
    topics = tuple(get_topic(event) for event in applies)

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
            " callback_secret TEXT NOT NULL, endpoints TEXT NOT NULL, position BIGINT NOT NULL)"
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}"]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """Fold the batch's events into their tenants' rows; write them back at once."""
        rows = {key: dict(row) for key, row in sql.by_id(table, _ids(events)).items()}
        for event, position in events:
            key = event.originator_id.hex
            if isinstance(event, TenantWebhooks.Opened):
                rows[key] = {"id": key, "tenant": event.tenant, "mode": event.mode}
            row = rows.get(key)
            if row is None:
                raise PoisonEvent(f"{self.name} has no tenant webhooks {key}")
            endpoints = loads(row.get("endpoints", "{}"), dict[str, Endpoint])
            if isinstance(event, TenantWebhooks.Opened | TenantWebhooks.CallbackSecretRotated):
                row["callback_secret"] = event.callback_secret
            elif isinstance(event, TenantWebhooks.EndpointRegistered):
                endpoints[event.endpoint_id] = Endpoint(
                    event.endpoint_id, event.url, list(event.events), event.secret
                )
            elif isinstance(event, TenantWebhooks.EndpointRemoved):
                endpoints.pop(event.endpoint_id, None)
            else:
                raise PoisonEvent(f"{self.name} does not know {type(event).__name__}")
            row.update(endpoints=dumps(endpoints), position=position)
        sql.insert(
            table,
            COLUMNS,
            [tuple(row[column] for column in COLUMNS) for row in rows.values()],
            "ON CONFLICT (id) DO UPDATE SET callback_secret = excluded.callback_secret,"
            " endpoints = excluded.endpoints, position = excluded.position",
        )


def _ids(events: Batch) -> set[str]:
    return {event.originator_id.hex for event, _ in events}


class WebhookTargets:
    """The targets of tenants' events, read from the view once it is as of the event."""

    def __init__(self, store: EventStore, patience: float = 2.0) -> None:
        self.store = store
        self.patience = patience
        self.model = WebhookTargetsView()
        self.applied = Applied(store, self.model, patience)

    def targets(
        self,
        tenant: str,
        mode: str,
        event_type: str,
        callback_url: str | None,
        position: int | None,
    ) -> list[Target]:
        """Where an event of a tenant's record goes, once the view is as of `position`
        (None: the log's head now); Behind if it is not within the patience."""
        generation = self.applied.wait_for(position)
        key = TenantWebhooks.id_for(tenant, mode).hex
        with transaction(self.store, commit=False) as sql:
            row = sql.one(
                f"SELECT callback_secret, endpoints FROM {self.model.name} WHERE id = ?", key
            )
            if current_generation(sql, self.model.name) != generation:  # a rebuild swapped
                raise Behind(f"{self.model.name} was rebuilt meanwhile")
            letters = DeadLetters(table_of(self.model.name, generation or 1))
            if key in letters.records(sql):  # its row is not what its events say
                raise Behind(f"{self.model.name} set aside an event of {tenant} ({mode})")
        endpoints = loads(row["endpoints"], dict[str, Endpoint]).values() if row else []
        found = [Target(e.id, e.url, e.secret) for e in endpoints if event_type in e.events]
        if callback_url:
            if row is None:  # made when the record started, unless it started before 2026-11
                raise LookupError(f"{tenant} ({mode}) has no callback secret")
            found.append(Target(CALLBACK, callback_url, row["callback_secret"]))
        return found
