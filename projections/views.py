"""Materialised views: a read model's tables in one generation, written exactly once.

Each batch of events and the view's tracking position are written in one transaction, on
the library's tracking recorders: a position is recorded only if it is past the last one,
so an event is never applied twice. A rebuild fills the next generation of tables from
position zero and then swaps the SQL view that readers query over to them."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)

from application.ports import Behind
from application.store import EventStore
from infrastructure.database import (
    TRANSIENT,
    add_missing_columns,
    create_tables,
    is_postgres,
    reason,
    transaction,
)
from infrastructure.following import Batch, Tracker, UndecodableEvent, named
from infrastructure.sql import Sql, marks
from projections.deadletters import BLOCKED_BY_EARLIER, DeadLetter, DeadLetters
from projections.model import ReadModel

log = logging.getLogger("assess.projections")

GENERATIONS = "view_generations"
CREATE_GENERATIONS = (
    f"CREATE TABLE IF NOT EXISTS {GENERATIONS} (name TEXT PRIMARY KEY, generation INTEGER)"
)
APPLICATION = "assess"


class Superseded(Exception):
    """A rebuild swapped in a newer generation of this view."""


def table_of(name: str, generation: int) -> str:
    """The table (and tracker name) of one generation of a view."""
    return f"{name}_g{generation}"


class View:
    """One generation of a read model's tables, and the position it has applied."""

    def __init__(self, store: EventStore, model: ReadModel, generation: int, *, live: bool):
        self.store = store
        self.model = model
        self.generation = generation
        self.live = live
        self.table = table_of(model.name, generation)
        self.postgres = is_postgres(store)
        self.tracker = Tracker(store, self.table)
        self.dead_letters = DeadLetters(self.table)
        self.reached = 0  # the last head `reach` recorded or found passed (no read when idle)

    def create(self) -> None:
        """Create the tables of this generation, its dead letters and tracking, if missing."""
        self.tracker.create()
        create_tables(
            self.store,
            [*self.model.create_statements(self.table), self.dead_letters.create_statement],
        )

    def upgrade(self) -> bool:
        """Add the model's added columns this generation's table lacks; tell if any was."""
        with self.transaction() as sql:
            return add_missing_columns(sql, self.table, self.model.added_columns)

    def drop(self) -> None:
        """Remove this generation's tables and tracking."""
        statements = [
            *self.model.drop_statements(self.table),
            self.dead_letters.drop_statement,
            self.tracker.drop_statement,
        ]
        with self.transaction() as sql:
            for statement in statements:
                sql.run(statement)

    def position(self) -> int:
        """The notification id of the last event applied (0 before any)."""
        return self.tracker.position()

    def reach(self, head: int) -> None:
        """Record the log's head as the position once nothing of the model's topics is left
        up to it, so that readers can tell the view is as of any event up to there."""
        if head <= self.reached or head <= self.position():
            self.reached = max(self.reached, head)
            return
        with self.transaction() as sql:
            self._check_live(sql)
            self.tracker.advance_within(sql.cursor, head)
        self.reached = head

    def _check_live(self, sql: Sql) -> None:
        """Refuse to write to a live generation a rebuild has swapped out (readers see the
        new one); the shared lock keeps a swap from committing until this transaction does."""
        if self.live and current_generation(sql, self.model.name, lock=True) != self.generation:
            raise Superseded(self.table)

    def record(self, events: Batch) -> None:
        """Apply a batch of (event, position) and track its last position, atomically.
        The events of records that have an event set aside are set aside too. If the batch
        fails, it is applied again one event at a time, setting aside the events that fail."""
        try:
            self._record(events, one_by_one=False)
        except (Superseded, OperationalError, InterfaceError):
            raise
        except Exception:
            self._record(events, one_by_one=True)

    def _record(self, events: Batch, *, one_by_one: bool) -> None:
        with self.transaction() as sql:
            self._check_live(sql)
            self.tracker.advance_within(sql.cursor, events[-1][1])
            waiting = self.dead_letters.records(sql)
            todo: Batch = []
            for event, position in events:
                if event.originator_id.hex in waiting:
                    self._set_aside(sql, event, position, BLOCKED_BY_EARLIER)
                else:
                    todo.append((event, position))
            if not one_by_one:
                self.model.apply(sql, self.table, todo)
                return
            for event, position in todo:
                if event.originator_id.hex in waiting:
                    self._set_aside(sql, event, position, BLOCKED_BY_EARLIER)
                elif failure := self.try_apply(sql, event, position):
                    self._set_aside(sql, event, position, failure)
                    waiting.add(event.originator_id.hex)

    def try_apply(self, sql: Sql, event: AggregateEvent, position: int) -> str | None:
        """Apply one event within a savepoint; roll it back and say why if it fails (an
        error of the database connection itself ends the transaction instead)."""
        sql.run("SAVEPOINT apply_one")
        try:
            self.model.apply(sql, self.table, [(event, position)])
        except TRANSIENT:
            raise
        except Exception as error:
            sql.run("ROLLBACK TO SAVEPOINT apply_one")
            sql.run("RELEASE SAVEPOINT apply_one")
            return reason(error)
        sql.run("RELEASE SAVEPOINT apply_one")
        return None

    def _set_aside(self, sql: Sql, event: AggregateEvent, position: int, why: str) -> None:
        kind = type(event).__qualname__
        letter = DeadLetter(position, event.originator_id.hex, kind, event.originator_version, why)
        self.dead_letters.set_aside(sql, letter)
        where = named(position, kind, letter.version, letter.record_id)
        log.error("%s set aside %s: %s", self.table, where, why)

    def set_aside_undecodable(self, error: UndecodableEvent) -> None:
        """Set aside a stored event that does not decode, and move past it."""
        with self.transaction() as sql:
            self.tracker.advance_within(sql.cursor, error.position)
            self.dead_letters.set_aside(
                sql,
                DeadLetter(error.position, error.record_id, error.topic, error.version, str(error)),
            )

    def transaction(self) -> Any:
        """A write transaction on the store's database, as Sql."""
        return transaction(self.store)


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
            create_tables(store, [CREATE_GENERATIONS])
            with transaction(store) as sql:
                generation = current_generation(sql, model.name)
            view = View(store, model, generation or 1, live=True)
            if generation is None:
                view.create()
                swap_in(view)
            elif view.upgrade():
                swap_in(view)  # readers' SQL view shows the added columns
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


# A lag is counted up to this many events: /ready stays quick behind any backlog.
MOST_COUNTED = 1_000_000


def count_after(
    store: EventStore,
    position: int,
    topics: Sequence[str] | None,
    until: int | None = None,
    most: int | None = MOST_COUNTED,
) -> int:
    """How many stored events of these topics (None: of any) come after a position (up to
    `until`), counted up to `most` (None: all)."""
    events = getattr(store.recorder, "events_table_name", "stored_events")
    column = "notification_id" if is_postgres(store) else "rowid"
    bound = "" if until is None else f" AND {column} <= ?"
    of_topics = "" if topics is None else f" AND topic IN ({marks(len(topics))})"
    with transaction(store) as sql:
        row = sql.one(
            f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM {events}"
            f" WHERE {column} > ?{bound}{of_topics}{'' if most is None else f' LIMIT {most}'})"
            " AS behind",
            position,
            *([] if until is None else [until]),
            *(topics or []),
        )
    return int(row["n"])


class Applied:
    """Waits for a view to have applied the events of its topics up to a position, for
    reads that must see them (a webhook's targets as of its event, a status list as of a
    revocation)."""

    def __init__(self, store: EventStore, model: ReadModel, patience: float = 2.0) -> None:
        self.store = store
        self.model = model
        self.patience = patience
        self.trackers: dict[int, Tracker] = {}

    def wait_for(self, position: int | None = None) -> int | None:
        """Return, with the generation readers see, once it has applied every event of its
        topics up to `position` (None: the log's head now): its position is there, or
        (counted once, over the few events since it last recorded the head) none of its
        events lies between. Behind if it is not there within the patience."""
        if position is None:
            position = self.store.recorder.max_notification_id() or 0
        generation, reached = self.position()
        if reached >= position:
            return generation
        if count_after(self.store, reached, self.model.topics, until=position) == 0:
            return generation
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            time.sleep(0.02)
            generation, reached = self.position()
            if reached >= position:
                return generation
        raise Behind(f"{self.model.name} is at {reached}, not yet at {position}")

    def position(self) -> tuple[int | None, int]:
        """The generation readers see, and its position."""
        with transaction(self.store, commit=False) as sql:
            generation = current_generation(sql, self.model.name)
        key = generation or 1
        if key not in self.trackers:
            self.trackers[key] = Tracker(self.store, table_of(self.model.name, key))
        return generation, self.trackers[key].position()
