"""The event store: an eventsourcing Application on SQLite or PostgreSQL, chosen by URL."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from application.settings import Settings
from application.sql import Sql

A = TypeVar("A", bound=Aggregate)


class EventStore(Application[UUID]):
    """Every fact of the service, as events in one notification log (table assess_events)."""

    name = "assess"

    @property
    def datastore(self) -> PostgresDatastore | SQLiteDatastore:
        """The database connections the recorders share (views and trackers use it too)."""
        datastore: PostgresDatastore | SQLiteDatastore = self.factory.datastore  # type: ignore[attr-defined]
        return datastore

    @property
    def postgres(self) -> bool:
        """Whether the store is PostgreSQL (else SQLite)."""
        return isinstance(self.datastore, PostgresDatastore)

    @contextmanager
    def sql(self, *, commit: bool = True) -> Iterator[Sql]:
        """A transaction on the store's database (rolled back unless commit)."""
        with self.datastore.transaction(commit=commit) as cursor:
            yield Sql(cursor, self.postgres)

    def create_tables(self, statements: Sequence[str]) -> None:
        """Run idempotent DDL (IF NOT EXISTS); on PostgreSQL under the schema lock, since two
        processes creating the same table at once can fail."""
        with self.sql() as sql:
            if self.postgres:
                sql.run("SELECT pg_advisory_xact_lock(?)", SCHEMA_LOCK)
            for statement in statements:
                sql.run(statement)

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of this kind with this id, or None."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None


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


def read_ahead(
    store: EventStore, position: int, topics: Sequence[str], limit: int = 1000
) -> Iterator[Batch]:
    """The notification log after a position, as batches of (event, notification id) of
    these topics. While the caller handles one batch, a thread fetches and decodes the
    next. An empty batch means caught up: the log is read again when the caller asks for
    the next batch. An event that does not decode raises UndecodableEvent once the events
    before it were handed out."""

    def fetch(start: int) -> Batch:
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

    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        ahead = reader.submit(fetch, position + 1)
        while True:
            batch = ahead.result()
            if batch:
                position = batch[-1][1]
                ahead = reader.submit(fetch, position + 1)
                yield batch
            else:
                yield batch
                ahead = reader.submit(fetch, position + 1)


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
        datastore = store.datastore
        if isinstance(datastore, PostgresDatastore):
            self.recorder = PostgresTrackingRecorder(
                datastore, tracking_table_name=f"{name}_tracking"
            )
            self.key = store.name
            self.drop_statement = f"DROP TABLE IF EXISTS {name}_tracking"
        else:
            self.recorder = SQLiteTrackingRecorder(datastore)
            self.key = f"{store.name}:{name}"
            self.drop_statement = f"DELETE FROM tracking WHERE application_name = '{self.key}'"

    def create(self) -> None:
        """Create the tracking table if it is missing."""
        try:
            self.recorder.create_table()
        except IntegrityError:  # another thread or process created it at the same moment
            self.recorder.create_table()

    def position(self) -> int:
        """The notification id of the last event handled (0 before any)."""
        return self.recorder.max_tracking_id(self.key) or 0

    def advance(self, notification_id: int) -> None:
        """Record a new position in its own transaction."""
        self.recorder.insert_tracking(Tracking(self.key, notification_id))

    def advance_within(self, cursor: Any, notification_id: int) -> None:
        """Record a new position within the caller's transaction (its rows and this commit
        together); a position that is not past the last one raises IntegrityError."""
        self.recorder._insert_tracking(cursor, Tracking(self.key, notification_id))


# The advisory lock that serialises schema creation across processes.
SCHEMA_LOCK = 0x6173736573


def _single_try(method: Any) -> Any:
    return method.__wrapped__


class AssessPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder with two changes, both for requests under load.

    Events are inserted by one server-side call that locks the table, inserts, notifies and
    commits: the EXCLUSIVE lock that keeps notification ids in commit order (so followers of
    the log never pass a gap) is then held for the server's work only, never across a round
    trip back to a Python thread that may be waiting for the GIL.

    And each statement is tried once, without the library's ten retries: when the database
    is gone a request gets 503 within the connect timeout, and its client retries (with its
    Idempotency-Key) when the store is back.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_function_name = f"assess_insert_events_{datastore.originator_id_type}"
        function = Identifier(self.insert_function_name)
        schema, table = Identifier(datastore.schema), Identifier(events_table_name)
        self.sql_create_statements[self.create_insert_function_statement_index] = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN"
            "  SET LOCAL lock_timeout = '{lock_timeout}s';"
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE;"
            "  NOTIFY {channel};"
            "  RETURN QUERY INSERT INTO {schema}.{table} AS t"
            "    (originator_id, originator_version, topic, state)"
            "    SELECT originator_id, originator_version, topic, state FROM unnest(events)"
            "    RETURNING notification_id;"
            " END; $BODY$"
        ).format(
            schema=schema,
            function=function,
            event=Identifier(self.stored_event_type_name),
            lock_timeout=datastore.lock_timeout,
            table=table,
            channel=Identifier(self.channel_name),
        )
        self.insert_function_call = SQL("SELECT * FROM {schema}.{function}((%s))").format(
            schema=schema, function=function
        )

    def insert_events(self, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int]:
        """Insert in one statement, which is one transaction on the autocommit connection."""
        if not stored_events:
            return []
        rows = [
            self.construct_pg_stored_event(
                event.originator_id, event.originator_version, event.topic, event.state
            )
            for event in stored_events
        ]
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(self.insert_function_call, (rows,), prepare=True)
            return [row[self.insert_function_name] for row in cursor.fetchall()]

    select_events = _single_try(PostgresApplicationRecorder.select_events)
    select_notifications = _single_try(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _single_try(PostgresApplicationRecorder.max_notification_id)


def store_env(settings: Settings) -> dict[str, str]:
    """Translate the store URL into the eventsourcing persistence environment."""
    url = urlsplit(settings.store_url)
    if url.scheme == "sqlite":
        # sqlite:///relative/file or sqlite:////absolute/file, as SQLAlchemy spells them.
        path = Path(unquote(url.path[1:]))
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if url.scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_CONNECT_TIMEOUT": str(settings.db_connect_timeout),
            "APPLICATION_RECORDER_TOPIC": get_topic(AssessPostgresRecorder),
        }
    raise SystemExit(f"ASSESS_DATABASE_URL: unsupported scheme '{url.scheme}'")


def tune_gc() -> None:
    """Collect garbage less often than CPython's default (every 700 allocations): a batch
    of decoded events or a request allocates thousands of objects that live until it is
    done, and each early collection traverses them in vain (a third of a rebuild's
    decoding time, measured with bench/rebuild.py). Called once by every assess process."""
    gc.set_threshold(20_000, 50, 100)


def open_store(settings: Settings) -> EventStore:
    """Open the event store, creating its tables if they are missing. Processes that start
    together (compose starts them all at once) take turns: the library's table and function
    creation is not safe to run concurrently on PostgreSQL."""
    env = store_env(settings)
    if env["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return EventStore(env=env)
    with psycopg.connect(
        settings.store_url, autocommit=True, connect_timeout=settings.db_connect_timeout
    ) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        return EventStore(env=env)
