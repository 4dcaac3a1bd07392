"""The event store read and written from the event loop (PostgreSQL, async psycopg), with
the same table, mapper and insert function as the store's recorder."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from application.settings import Settings
from application.store import EventStore, Loaded
from domain.values import Contact, Sealed
from infrastructure.current_subject import HELD, MADE, new_subject, student
from infrastructure.database import is_postgres
from infrastructure.postgres import AssessPostgresRecorder
from infrastructure.sealing import seal, unwrap
from infrastructure.subjects import DataSubjects

HELD_ON_LOOP, MADE_ON_LOOP = HELD.replace("?", "%s"), MADE.replace("?", "%s")
HELD_KEY = "SELECT 1 FROM subject_keys WHERE subject = %s FOR SHARE"


@contextmanager
def translated(pool: AsyncConnectionPool[Any] | None = None) -> Iterator[None]:
    """psycopg's errors as the library's, which the API answers (409, 503) as it does the
    recorder's. A pool that timed out below its size could not open a connection: the
    store is away, not the pool full (the API answers them differently)."""
    try:
        yield
    except psycopg.IntegrityError as error:
        raise IntegrityError(str(error)) from error
    except PoolTimeout as error:
        if pool is not None and pool.get_stats()["pool_size"] < pool.max_size:
            raise OperationalError(f"no connection to the event store: {error}") from None
        raise OperationalError(str(error)) from error
    except psycopg.OperationalError as error:
        raise OperationalError(str(error)) from error
    except psycopg.InterfaceError as error:
        raise InterfaceError(str(error)) from error


class PostgresLoopEvents:
    """Load many aggregates in one SELECT; save what aggregates changed in one call of the
    recorder's insert function. Each on an autocommit connection of its own pool; the
    statements are kept as text, which psycopg converts once (a composed statement is
    rendered again on every call)."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        pool: AsyncConnectionPool[Any],
        personal: DataSubjects,
    ) -> None:
        recorder = store.recorder
        assert isinstance(recorder, AssessPostgresRecorder)
        self.mapper = store.mapper
        self.settings = settings
        self.pool = pool
        self.personal = personal
        schema = Identifier(recorder.datastore.schema)
        self.select = (
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {schema}.{table}"
                " WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
            )
            .format(schema=schema, table=Identifier(recorder.events_table_name))
            .as_string()
        )
        self.insert = (
            SQL(
                "SELECT * FROM {schema}.{function}(ARRAY("
                "SELECT ROW(o, v, t, s)::{schema}.{event} FROM unnest("
                "%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
                " WITH ORDINALITY AS e(o, v, t, s, n) ORDER BY n))"
            )
            .format(
                schema=schema,
                function=Identifier(recorder.insert_function_name),
                event=Identifier(recorder.stored_event_type_name),
            )
            .as_string()
        )

    async def load(self, ids: Collection[UUID]) -> Loaded:
        """Each id with its aggregate as its events fold to it now, or None."""
        found: dict[UUID, Aggregate | None] = dict.fromkeys(ids)
        if not ids:
            return found
        with translated(self.pool):
            async with self.pool.connection() as connection:
                cursor = await connection.execute(self.select, (list(ids),), prepare=True)
                rows = await cursor.fetchall()
        for originator_id, version, topic, state in rows:
            event = self.mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))
            found[originator_id] = cast("AggregateEvent", event).mutate(found[originator_id])
        return found

    async def save(self, *aggregates: Aggregate) -> None:
        """Append the aggregates' pending events, atomically."""
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        stored = [self.mapper.to_stored_event(event) for event in events]
        if not stored:
            return
        columns = tuple(
            [getattr(event, name) for event in stored]
            for name in ("originator_id", "originator_version", "topic", "state")
        )
        with translated(self.pool):
            async with self.pool.connection() as connection:
                await connection.execute(self.insert, columns, prepare=True)

    async def seal_student(
        self, tenant: str, mode: str, student_id: str, contact: Contact, record: UUID
    ) -> Sealed:
        """As DataSubjects.seal_student: the student's current subject found or made, with
        the record noted under it, in one statement (two for a student's first record)."""
        wrapping = self.personal.wrapping  # read at the process's start (check_master_key)
        who = student(tenant, mode, student_id)
        with translated(self.pool):
            async with self.pool.connection() as connection:
                for _ in range(5):  # a subject made or erased between two statements
                    cursor = await connection.execute(HELD_ON_LOOP, (*who, record.hex))
                    if row := await cursor.fetchone():
                        subject, wrapped = row
                        break
                    subject, wrapped = new_subject(wrapping)
                    made = (subject, *who, wrapped, record.hex)
                    if await (await connection.execute(MADE_ON_LOOP, made)).fetchone():
                        break
                else:
                    raise IntegrityError("the student's data subject kept changing")
        return seal(unwrap(wrapping, subject, wrapped), subject, contact, record, 1)

    async def erased(self, subject: str) -> bool:
        """As DataSubjects.erased: whether the subject was erased, once an erasure of it in
        progress has ended."""
        with translated(self.pool):
            async with self.pool.connection() as connection:
                cursor = await connection.execute(HELD_KEY, (subject,), prepare=True)
                return await cursor.fetchone() is None

    async def close(self) -> None:
        """Close the pool's connections."""
        await self.pool.close()

    async def renew(self) -> None:
        """Replace the pool with a new one (infrastructure/reconnection.py), and close it."""
        old, self.pool = self.pool, await new_pool(self.settings)
        await old.close(timeout=1)


async def new_pool(settings: Settings) -> AsyncConnectionPool[Any]:
    """An open pool of autocommit connections to the store (made as they are needed)."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        settings.store_url,
        min_size=1,
        max_size=settings.loop_pool_size,
        max_idle=settings.db_idle_seconds,
        kwargs={"autocommit": True, "connect_timeout": settings.db_connect_timeout},
        timeout=settings.db_connect_timeout,
        open=False,
    )
    await pool.open()
    return pool


async def open_loop_events(
    store: EventStore, settings: Settings, personal: DataSubjects
) -> PostgresLoopEvents | None:
    """The store's reads and writes for the running event loop, on PostgreSQL (None on
    SQLite, whose commands stay in worker threads: its embedded default is for one
    process, where a thread hand-off is not the cost that matters)."""
    if not is_postgres(store):
        return None
    return PostgresLoopEvents(store, settings, await new_pool(settings), personal)
