"""The webhook delivery log: every delivery, its tries, and when it is due again."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.store import EventStore
from domain.errors import InvalidInput, WebhookNotFound
from domain.webhooks import CALLBACK
from infrastructure.database import add_missing_columns, is_postgres, transaction
from infrastructure.sql import bigint, dumps

TABLE = "webhook_deliveries"
DELIVERY_LOG = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
    " endpoint_id TEXT NOT NULL, target TEXT NOT NULL, url TEXT NOT NULL,"
    " secret TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL,"
    " payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " due_at DOUBLE PRECISION NOT NULL, tries TEXT NOT NULL, seq BIGINT NOT NULL,"
    " traceparent TEXT, UNIQUE (target, event_id))",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, due_at)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_by_endpoint ON {TABLE} (tenant, mode, endpoint_id, seq)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_seq ON {TABLE} (seq)",  # for MAX(seq) at each insert
]
# Columns a delivery log made before them lacks (`upgrade_delivery_log` adds them).
ADDED_COLUMNS = [("traceparent", "TEXT")]
LEASE = 60.0  # a claimed delivery is left to its worker this long: more than a try takes


@dataclass(frozen=True)
class Delivery:
    """One webhook message to one target; its id is the webhook-id on every try."""

    id: str
    tenant: str
    mode: str
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    type: str
    payload: str
    attempts: int = 0
    traceparent: str | None = None  # the trace it was queued in, when tracing

    @property
    def target(self) -> str:
        """What makes a delivery unique with its event: the endpoint, or the callback URL."""
        return f"callback:{self.url}" if self.endpoint_id == CALLBACK else self.endpoint_id


def upgrade_delivery_log(store: EventStore) -> bool:
    """Add the columns the delivery log lacks, if it was made before them; tell if any was."""
    with transaction(store) as sql:
        return add_missing_columns(sql, TABLE, ADDED_COLUMNS)


def new_delivery_id() -> str:
    """A delivery id, also its webhook-id."""
    return f"msg_{secrets.token_hex(12)}"


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "eventId": row["event_id"],
        "type": row["type"],
        "status": row["status"],
        "tries": json.loads(row["tries"]),
    }


class Deliveries:
    """Queue, claim, record and list deliveries in the store's database."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def enqueue(self, deliveries: list[Delivery], now: float) -> int:
        """Queue deliveries, once per (target, event) whatever is redelivered; return how
        many were new."""
        added = 0
        with transaction(self.store) as sql:
            for delivery in deliveries:
                added += sql.run(
                    f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?,"
                    f" '[]', (SELECT COALESCE(MAX(seq), 0) + 1 FROM {TABLE}), ?)"
                    " ON CONFLICT (target, event_id) DO NOTHING",
                    delivery.id,
                    delivery.tenant,
                    delivery.mode,
                    delivery.endpoint_id,
                    delivery.target,
                    delivery.url,
                    delivery.secret,
                    delivery.event_id,
                    delivery.type,
                    delivery.payload,
                    now,
                    delivery.traceparent,
                )
        return added

    def claim(
        self, now: float, limit: int, lease: float, per_tenant: int, busy: Mapping[str, int]
    ) -> list[Delivery]:
        """Take due deliveries for `lease` seconds (another worker skips them meanwhile),
        oldest first but at most `per_tenant` of a tenant's at a time, counting the `busy`
        ones its worker is already sending: one tenant's backlog of slow targets takes some
        of the threads, never all, and never holds back another tenant's deliveries."""
        lock = " FOR UPDATE SKIP LOCKED" if is_postgres(self.store) else ""
        with transaction(self.store) as sql:
            due = sql.all(
                f"SELECT * FROM {TABLE} WHERE id IN (SELECT id FROM (SELECT id, due_at,"
                " ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY due_at) AS turn"
                f" FROM {TABLE} WHERE status = 'pending' AND due_at <= ?) AS due"
                f" WHERE turn <= {int(per_tenant)}) ORDER BY due_at{lock}",
                now,
            )
            taken: Counter[str] = Counter(busy)
            rows: list[Any] = []
            for row in due:
                if len(rows) < limit and taken[row["tenant"]] < per_tenant:
                    taken[row["tenant"]] += 1
                    rows.append(row)
            for row in rows:
                sql.run(f"UPDATE {TABLE} SET due_at = ? WHERE id = ?", now + lease, row["id"])
        return [
            Delivery(
                id=row["id"],
                tenant=row["tenant"],
                mode=row["mode"],
                endpoint_id=row["endpoint_id"],
                url=row["url"],
                secret=row["secret"],
                event_id=row["event_id"],
                type=row["type"],
                payload=row["payload"],
                attempts=row["attempts"],
                traceparent=row["traceparent"],
            )
            for row in rows
        ]

    def record_try(
        self, delivery_id: str, attempt: dict[str, Any], status: str, due_at: float
    ) -> None:
        """Log one try and what happens next: delivered, pending again at due_at, or failed."""
        with transaction(self.store) as sql:
            row = sql.one(f"SELECT tries FROM {TABLE} WHERE id = ?", delivery_id)
            sql.run(
                f"UPDATE {TABLE} SET tries = ?, status = ?, attempts = attempts + 1, due_at = ?"
                " WHERE id = ?",
                dumps([*json.loads(row["tries"]), attempt]),
                status,
                due_at,
                delivery_id,
            )

    def page(
        self, tenant: str, mode: str, endpoint_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """An endpoint's deliveries, newest first, and the cursor of the next page."""
        if not 1 <= limit <= 100:
            raise InvalidInput("limit: 1 to 100")
        after = ""
        params: list[Any] = [tenant, mode, endpoint_id]
        if cursor is not None:
            text, _, last_id = cursor.partition(".")
            try:
                seq = bigint(text) if last_id else bigint("")
            except ValueError:
                raise InvalidInput("cursor: not a cursor this API gave out") from None
            after = " AND (seq < ? OR (seq = ? AND id < ?))"
            params += [seq, seq, last_id]
        with transaction(self.store, commit=False) as sql:
            rows = sql.all(
                f"SELECT * FROM {TABLE} WHERE tenant = ? AND mode = ? AND endpoint_id = ?{after}"
                f" ORDER BY seq DESC, id DESC LIMIT {limit + 1}",
                *params,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = f"{rows[-1]['seq']}.{rows[-1]['id']}" if more else None
        return [_item(row) for row in rows], next_cursor

    def redeliver(self, tenant: str, mode: str, delivery_id: str, now: float) -> dict[str, Any]:
        """Send a delivery again now (same webhook-id), or bring its retry forward. One
        that is pending and due within a lease (queued, or being tried) is left as it is:
        a delivery is queued at most once at a time, so a flood of redeliveries sends
        nothing more to its target, and a try in flight is never doubled."""
        mine = f"SELECT * FROM {TABLE} WHERE id = ? AND tenant = ? AND mode = ?"
        with transaction(self.store) as sql:
            if sql.one(mine, delivery_id, tenant, mode) is None:
                raise WebhookNotFound(f"no webhook delivery '{delivery_id}'")
            sql.run(
                f"UPDATE {TABLE} SET status = 'pending', due_at = ?"
                " WHERE id = ? AND (status <> 'pending' OR due_at > ?)",
                now,
                delivery_id,
                now + LEASE,
            )
            return _item(sql.one(mine, delivery_id, tenant, mode))
