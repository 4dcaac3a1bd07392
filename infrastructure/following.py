"""Following the notification log: batches read ahead and decoded, and a follower's
position kept by the library's tracking recorders."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder

from application.store import EventStore
from infrastructure.database import datastore
from infrastructure.postgres import SCHEMA_LOCK
from infrastructure.sql import Sql

# When each follower last moved (seconds since the epoch), for /ready and /metrics.
MOVES = "follower_moves"
CREATE_MOVES = (
    f"CREATE TABLE IF NOT EXISTS {MOVES} (name TEXT PRIMARY KEY, moved_at DOUBLE PRECISION)"
)

Batch = list[tuple[AggregateEvent, int]]


class UndecodableEvent(Exception):
    """A stored event that does not decode to an assessment event; names its notification."""

    def __init__(self, notification: Notification, error: Exception) -> None:
        self.position = notification.id
        self.record_id = UUID(str(notification.originator_id)).hex
        self.topic = notification.topic
        self.version = notification.originator_version
        where = named(self.position, self.topic, self.version, notification.originator_id)
        super().__init__(f"{where}: {error}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is (the relay's builder process raises it in the relay's)."""
        return _undecodable, (str(self), self.position, self.record_id, self.topic, self.version)


def _undecodable(
    message: str, position: int, record_id: str, topic: str, version: int
) -> UndecodableEvent:
    error = Exception.__new__(UndecodableEvent)
    Exception.__init__(error, message)
    error.position, error.record_id, error.topic, error.version = (
        position,
        record_id,
        topic,
        version,
    )
    return error


def read_ahead(
    store: EventStore,
    position: int,
    topics: Sequence[str],
    limit: int = 1000,
    *,
    heads: bool = False,
) -> Iterator[tuple[Batch, int]]:
    """The notification log after a position, as batches of (event, notification id) of
    these topics, each with (if `heads`) the log's head read before it was fetched (0 after
    a full batch, while the reader catches up: only an empty batch's head is of use, and an
    empty one always has it). While the caller handles one batch, a thread fetches and
    decodes the next. An empty batch means caught up (every event of these topics up to its
    head was handed out): the log is read again when the caller asks for the next batch. An
    event that does not decode raises UndecodableEvent once the events before it were
    handed out."""

    def fetch(start: int, head_wanted: bool) -> tuple[Batch, int]:
        # Notification ids commit in order (the stores lock the table to insert), so what
        # the head covers is all committed when the query below runs.
        head = (store.recorder.max_notification_id() or 0) if head_wanted else 0
        batch = fetched(store, start, topics, limit)
        if heads and not head_wanted and not batch:  # caught up after all: its head, now
            return fetch(start, True)
        return batch, head

    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        ahead = reader.submit(fetch, position + 1, heads)
        while True:
            batch, head = ahead.result()
            if batch:
                position = batch[-1][1]
                ahead = reader.submit(fetch, position + 1, heads and len(batch) < limit)
                yield batch, head
            else:
                yield batch, head
                ahead = reader.submit(fetch, position + 1, heads)


def fetched(store: EventStore, start: int, topics: Sequence[str], limit: int) -> Batch:
    """The events of these topics from a position on, decoded, at most `limit`; an event
    that does not decode raises UndecodableEvent once the events before it were returned."""
    batch: Batch = []
    for notification in store.recorder.select_notifications(
        start=start, limit=limit, topics=topics
    ):
        try:
            batch.append((decoded(store, notification), notification.id))
        except UndecodableEvent:
            if not batch:
                raise
            break  # the events before it first; the next fetch starts at it, and raises
    return batch


def decoded(store: EventStore, notification: Notification) -> AggregateEvent:
    """The domain event of a stored notification."""
    try:
        event = store.mapper.to_domain_event(notification)
        if not isinstance(event, AggregateEvent):
            raise TypeError("not an aggregate event")
    except Exception as error:
        raise UndecodableEvent(notification, error) from error
    return event


def named(position: int, kind: str, version: int, record: Any) -> str:
    """How errors name a stored event: notification id, type, version and record."""
    return f"notification {position} ({kind}, v{version} of {record})"


class Tracker:
    """A follower's position in the notification log, kept in the store's database by the
    library's tracking recorders: a position is recorded only if it is past the last one."""

    recorder: PostgresTrackingRecorder | SQLiteTrackingRecorder

    def __init__(self, store: EventStore, name: str) -> None:
        database = datastore(store)
        self.name = name
        self.database = database
        self.postgres = isinstance(database, PostgresDatastore)
        if isinstance(database, PostgresDatastore):
            self.recorder = PostgresTrackingRecorder(
                database, tracking_table_name=f"{name}_tracking"
            )
            self.key = store.name
            self.drop_statement = f"DROP TABLE IF EXISTS {name}_tracking"
        else:
            self.recorder = SQLiteTrackingRecorder(database)
            self.key = f"{store.name}:{name}"
            self.drop_statement = f"DELETE FROM tracking WHERE application_name = '{self.key}'"

    def create(self) -> None:
        """Create the tracking table, and the table of moves, if they are missing."""
        for attempt in range(2):
            try:
                self.recorder.create_table()
                with self.database.transaction(commit=True) as cursor:
                    sql = Sql(cursor, self.postgres)
                    if self.postgres:  # two processes creating one table at once can fail
                        sql.run("SELECT pg_advisory_xact_lock(?)", SCHEMA_LOCK)
                    sql.run(CREATE_MOVES)
                return
            except IntegrityError:  # another thread or process created one at the same moment
                if attempt:
                    raise

    def position(self) -> int:
        """The notification id of the last event handled (0 before any)."""
        return self.recorder.max_tracking_id(self.key) or 0

    def advance(self, notification_id: int) -> None:
        """Record a new position, and when it moved, in their own transaction."""
        with self.database.transaction(commit=True) as cursor:
            self.advance_within(cursor, notification_id)

    def advance_within(self, cursor: Any, notification_id: int) -> None:
        """Record a new position, and when it moved, within the caller's transaction (its
        rows and this commit together); a position that is not past the last one raises
        IntegrityError."""
        self.recorder._insert_tracking(cursor, Tracking(self.key, notification_id))
        Sql(cursor, self.postgres).run(
            f"INSERT INTO {MOVES} VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET moved_at = excluded.moved_at",
            self.name,
            time.time(),
        )


IDLE_WAIT = 0.1
MAX_BACKOFF = 10.0


def follow_log(
    store: EventStore,
    topics: Sequence[str],
    position: Callable[[], int],
    apply: Callable[[Any], None],
    stopping: threading.Event,
    *,
    read: Callable[[int], Iterator[tuple[list[tuple[Any, int]], int]]] | None = None,
    until: Callable[[], bool] | None = None,
    paused_by: tuple[type[Exception], ...] = (),
    on_pause: Callable[[Exception], None] = lambda error: None,
    set_aside: Callable[[UndecodableEvent], None] | None = None,
    caught_up_to: Callable[[int], None] | None = None,
    beat: Callable[[], None] = lambda: None,
    limit: int = 1000,
) -> None:
    """The one follow loop of the projector, the relay and the embedded fan-out: read the
    log after `position()` in batches (the next one read ahead) and `apply` each, which
    records its last position; when caught up, `caught_up_to` hears the log's head the
    empty read covered (a view records it as its position: nothing of its topics is left up
    to there), and `until()` says whether to stop (by default, wait a moment and go on).
    An error in `paused_by` (the store or a broker away) is handed to `on_pause`, and the
    loop starts again from the recorded position after a backoff. A stored event that does
    not decode goes to `set_aside` (which records it as handled), or ends the loop when
    there is none. `read`, if given, reads the batches instead of `read_ahead` (the relay's
    come built, from a process of their own)."""
    backoff = 0.5
    heads = caught_up_to is not None
    if read is None:
        read = lambda after: read_ahead(store, after, topics, limit, heads=heads)  # noqa: E731
    while not stopping.is_set():
        try:
            for batch, head in read(position()):
                beat()
                if stopping.is_set():
                    return
                if batch:
                    apply(batch)
                    backoff = 0.5
                    continue
                if caught_up_to is not None and head:
                    caught_up_to(head)
                if until() if until else stopping.wait(IDLE_WAIT):
                    return
        except UndecodableEvent as error:
            if set_aside is None:
                raise
            set_aside(error)
        except paused_by as error:
            on_pause(error)
            stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
