"""The PostgreSQL backend's recorder: one server-side call per insert, one try per statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

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
        # As text, which psycopg converts once (a composed statement is rendered per call).
        self.insert_function_call = (
            SQL("SELECT * FROM {schema}.{function}((%s))")
            .format(schema=schema, function=function)
            .as_string()
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
