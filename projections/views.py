"""Materialised views: a read model's tables in one generation, written exactly once.

Each batch of events and the view's tracking position are written in one transaction, on
the library's tracking recorders: a position is recorded only if it is past the last one,
so an event is never applied twice. A rebuild fills the next generation of tables from
position zero and then swaps the SQL view that readers query over to them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, InternalError, ProgrammingError

from application.sql import Sql, marks
from application.store import Batch, EventStore, Tracker
from projections.model import ReadModel

GENERATIONS = "view_generations"
CREATE_GENERATIONS = (
    f"CREATE TABLE IF NOT EXISTS {GENERATIONS} (name TEXT PRIMARY KEY, generation INTEGER)"
)
APPLICATION = "assess"


class Superseded(Exception):
    """A rebuild swapped in a newer generation of this view."""


class View:
    """One generation of a read model's tables, and the position it has applied."""

    def __init__(self, store: EventStore, model: ReadModel, generation: int, *, live: bool):
        self.store = store
        self.model = model
        self.generation = generation
        self.live = live
        self.table = f"{model.name}_g{generation}"
        self.postgres = store.postgres
        self.tracker = Tracker(store, self.table)

    def create(self) -> None:
        """Create the tables of this generation and its tracking, if missing."""
        self.tracker.create()
        self.store.create_tables(self.model.create_statements(self.table))

    def drop(self) -> None:
        """Remove this generation's tables and tracking."""
        with self.transaction() as sql:
            for statement in [*self.model.drop_statements(self.table), self.tracker.drop_statement]:
                sql.run(statement)

    def position(self) -> int:
        """The notification id of the last event applied (0 before any)."""
        return self.tracker.position()

    def record(self, events: Batch) -> None:
        """Apply a batch of (event, position) and track its last position, atomically."""
        with self.transaction() as sql:
            if self.live and current_generation(sql, self.model.name, lock=True) != self.generation:
                raise Superseded(self.table)
            self.tracker.advance_within(sql.cursor, events[-1][1])
            self.model.apply(sql, self.table, events)

    def transaction(self) -> Any:
        """A write transaction on the store's database, as Sql."""
        return self.store.sql()


def current_generation(sql: Sql, name: str, *, lock: bool = False) -> int | None:
    """The generation readers of a view see; with lock, no swap commits until we do."""
    suffix = " FOR SHARE" if lock and sql.postgres else ""
    row = sql.one(f"SELECT generation FROM {GENERATIONS} WHERE name = ?{suffix}", name)
    return None if row is None else int(row["generation"])


def open_live_view(store: EventStore, model: ReadModel) -> View:
    """The generation readers see, created (as generation 1) on first use. Processes
    starting together may race to create it; creation is idempotent, so the loser of a
    race (a duplicate-object error) simply looks again."""
    for attempt in range(5):
        try:
            store.create_tables([CREATE_GENERATIONS])
            with store.sql() as sql:
                generation = current_generation(sql, model.name)
            view = View(store, model, generation or 1, live=True)
            if generation is None:
                view.create()
                swap_in(view)
            return view
        except (IntegrityError, InternalError, ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def swap_in(view: View) -> int | None:
    """Point readers at this generation; return the generation they saw before."""
    with view.transaction() as sql:
        sql.run(
            f"CREATE TABLE IF NOT EXISTS {GENERATIONS} (name TEXT PRIMARY KEY, generation INTEGER)"
        )
        before = current_generation(sql, view.model.name, lock=True)
        sql.run(
            f"INSERT INTO {GENERATIONS} VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
            " SET generation = excluded.generation",
            view.model.name,
            view.generation,
        )
        if view.postgres:
            sql.run(f"CREATE OR REPLACE VIEW {view.model.name} AS SELECT * FROM {view.table}")
        else:
            sql.run(f"DROP VIEW IF EXISTS {view.model.name}")
            sql.run(f"CREATE VIEW {view.model.name} AS SELECT * FROM {view.table}")
    return before


def count_after(store: EventStore, position: int, topics: Sequence[str]) -> int:
    """How many stored events of these topics come after a position."""
    events = getattr(store.recorder, "events_table_name", "stored_events")
    with store.sql() as sql:
        row = sql.one(
            f"SELECT COUNT(*) AS n FROM {events}"
            f" WHERE {'notification_id' if store.postgres else 'rowid'} > ?"
            f" AND topic IN ({marks(len(topics))})",
            position,
            *topics,
        )
    return int(row["n"])
