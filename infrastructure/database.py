"""The event store's database, for the tables beside the events (views, trackers, the
delivery log, the sent-email log): transactions with portable SQL, and idempotent DDL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg_pool import PoolTimeout

from application.store import EventStore
from infrastructure.postgres import SCHEMA_LOCK
from infrastructure.sql import Sql

# Errors that say the database could not be used, not that a statement's data is wrong:
# a follower ends the whole transaction on them and tries it again later.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError)


def datastore(store: EventStore) -> PostgresDatastore | SQLiteDatastore:
    """The database connections the store's recorders share."""
    found: PostgresDatastore | SQLiteDatastore = store.factory.datastore  # type: ignore[attr-defined]
    return found


def is_postgres(store: EventStore) -> bool:
    """Whether the store is PostgreSQL (else SQLite)."""
    return isinstance(datastore(store), PostgresDatastore)


@contextmanager
def transaction(store: EventStore, *, commit: bool = True) -> Iterator[Sql]:
    """A transaction on the store's database (rolled back unless commit)."""
    with datastore(store).transaction(commit=commit) as cursor:
        yield Sql(cursor, is_postgres(store))


@contextmanager
def statements(store: EventStore) -> Iterator[Sql]:
    """Statements each its own transaction: on PostgreSQL one round trip each, on a pooled
    autocommit connection; SQLite runs them in one transaction."""
    database = datastore(store)
    if isinstance(database, PostgresDatastore):
        with database.get_connection() as connection, connection.cursor() as cursor:
            yield Sql(cursor, True)
    else:
        with database.transaction(commit=True) as cursor:
            yield Sql(cursor, False)


def create_tables(store: EventStore, statements: Sequence[str]) -> None:
    """Run idempotent DDL (IF NOT EXISTS); on PostgreSQL under the schema lock, since two
    processes creating the same table at once can fail."""
    with transaction(store) as sql:
        if sql.postgres:
            sql.run("SELECT pg_advisory_xact_lock(?)", SCHEMA_LOCK)
        for statement in statements:
            sql.run(statement)


def columns(sql: Sql, table: str) -> set[str]:
    """The names of a table's columns (none if there is no such table)."""
    if sql.postgres:
        rows = sql.all(
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?",
            table,
        )
    else:
        rows = sql.all(f"SELECT name FROM pragma_table_info('{table}')")
    return {row["name"] for row in rows}


def add_missing_columns(sql: Sql, table: str, added: Sequence[tuple[str, str]]) -> bool:
    """Add the columns (name, DDL) that a table made before them lacks; tell if any was."""
    present = columns(sql, table)
    missing = [(name, ddl) for name, ddl in added if name not in present]
    for name, ddl in missing:
        sql.run(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")
    return bool(missing)


def pool_full(error: BaseException) -> bool:
    """Whether a store error is a full pool (every connection of the budget busy), not a
    failure of the database."""
    return isinstance(error, PoolTimeout) or isinstance(error.__cause__, PoolTimeout)


def reason(error: BaseException) -> str:
    """Why a statement failed, in one line. Of a database error, only its primary message:
    PostgreSQL's detail and context quote the row, which may hold personal data."""
    if isinstance(error, psycopg.Error) and error.diag.message_primary:
        return f"{type(error).__name__} ({error.sqlstate}): {error.diag.message_primary}"
    return " ".join(f"{type(error).__name__}: {error}".split())


# Serialises migrations of processes that start together (a key apart from SCHEMA_LOCK,
# which the DDL inside a migration takes per transaction on other connections).
MIGRATION_LOCK = SCHEMA_LOCK + 1


@contextmanager
def migration_lock(store: EventStore) -> Iterator[None]:
    """Hold PostgreSQL's migration lock for the block, so that processes starting together
    migrate one after another (creating a view's first generation in two at once can
    deadlock). SQLite serialises its writers by itself."""
    if not is_postgres(store):
        yield
        return
    database = datastore(store)
    assert isinstance(database, PostgresDatastore)
    # A connection of its own, closed after: the pool keeps the one the migration uses.
    given = database.pool.kwargs
    assert isinstance(given, dict)  # the library gives its pool the connection's arguments
    kwargs = {key: value for key, value in given.items() if key != "row_factory"}
    with psycopg.connect(autocommit=True, **kwargs) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        yield  # the lock ends with the session
