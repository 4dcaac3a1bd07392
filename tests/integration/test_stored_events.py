"""Events stored by the service on 2026-12-02 still decode, fold and project the same, on
both stores: the guard every change to an event's shape must keep green."""

from __future__ import annotations

import json
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from api.bootstrap import bootstrap
from application.settings import Settings
from tests.fixtures.stored_events import EVENTS, READ, read_back


def test_events_stored_on_2026_12_02_read_the_same_today(store_url: str) -> None:
    service = bootstrap(Settings(database_url=store_url))
    rows = json.loads(EVENTS.read_text())
    service.store.recorder.insert_events(
        [
            StoredEvent(
                UUID(row["originator_id"]),
                row["originator_version"],
                row["topic"],
                row["state"].encode(),
            )
            for row in rows
        ]
    )
    assert read_back(service, rows) == json.loads(READ.read_text())
    service.store.close()
