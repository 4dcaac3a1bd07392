"""Keeping erased personal data out of the store's files: a secure delete and a checkpoint
on SQLite, a `VACUUM FULL` of the key table on PostgreSQL (`Scrubber`, after the erasure
has answered); `compact` for a whole store (docs/personal-data.md)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.store import EventStore
from infrastructure.database import datastore, transaction

log = logging.getLogger("assess.personal")

KEYS = "subject_keys"


LOCK_WAIT = "200ms"  # how long a rewrite waits for its lock before it tries again later
RETRY_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


class Scrubber:
    """Removes deleted keys' bytes from the store's files after erasures: on SQLite at once
    (a checkpoint), on PostgreSQL in a thread of its own that rewrites the key table."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._changed = threading.Condition()
        self._asked = self._done = self._given_up = 0
        self._thread: threading.Thread | None = None

    def after_erasure(self) -> None:
        """An erasure committed: scrub (now on SQLite; soon on PostgreSQL)."""
        database = datastore(self.store)
        if not isinstance(database, PostgresDatastore):
            checkpoint(self.store)
            return
        with self._changed:
            self._asked += 1
            self._changed.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._rewrite, args=(database,), name="scrubber", daemon=True
                )
                self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Whether every erasure asked for so far was scrubbed within `timeout` seconds."""
        with self._changed:
            asked = self._asked
            return self._changed.wait_for(lambda: self._done >= asked, timeout)

    def _rewrite(self, database: PostgresDatastore) -> None:
        failures = 0
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._given_up < self._asked > self._done)
                asked = self._asked
            if database.pool.closed:  # the store was closed: nothing more to do here
                return
            try:
                vacuum_full(database, [KEYS], lock_wait=LOCK_WAIT)
            except Exception as error:  # a lock not had in time, the database away
                failures += 1
                if failures > len(RETRY_SECONDS) * 6:  # about two minutes: until the next
                    log.warning("key table not rewritten: the next erasure will rewrite it")
                    failures, self._given_up = 0, asked
                    continue
                delay = RETRY_SECONDS[min(failures - 1, len(RETRY_SECONDS) - 1)]
                log.info(
                    "key table not rewritten yet (%s); again in %ss", type(error).__name__, delay
                )
                time.sleep(delay)
                continue
            failures = 0
            with self._changed:
                self._done = asked
                self._changed.notify_all()


def checkpoint(store: EventStore, tries: int = 40) -> None:
    """Copy SQLite's write-ahead log into the database file and truncate it, waiting a
    little for readers (a busy one keeps it: the next erasure's checkpoint truncates)."""
    for _ in range(tries):
        with transaction(store, commit=False) as sql:
            busy = sql.one("PRAGMA wal_checkpoint(TRUNCATE)")[0]
        if not busy:
            return
        time.sleep(0.05)
    log.warning("the write-ahead log is busy and was not truncated; the next erasure will")


def vacuum_full(
    database: PostgresDatastore, tables: Sequence[str], lock_wait: str | None = None
) -> None:
    """Rewrite PostgreSQL tables into new files (outside a transaction, as VACUUM must),
    each waiting at most lock_wait for its lock (if given)."""
    with database.get_connection() as connection:
        if lock_wait is not None:
            connection.execute(f"SET lock_timeout = '{lock_wait}'")
        try:
            for table in tables:
                connection.execute(f"VACUUM FULL {table}")
        finally:
            if lock_wait is not None:
                connection.execute("RESET lock_timeout")


def compact(store: EventStore) -> None:
    """Rewrite the whole store without free space: SQLite's file (VACUUM, then a truncated
    write-ahead log), or PostgreSQL's event table (its other tables that held personal
    data in clear were dropped and made again)."""
    database = datastore(store)
    if isinstance(database, PostgresDatastore):
        vacuum_full(database, [store.recorder.events_table_name])  # type: ignore[attr-defined]
        return
    assert isinstance(database, SQLiteDatastore)
    connection = sqlite3.connect(database.pool.db_name, isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA secure_delete = ON")
        connection.execute("VACUUM")
    finally:
        connection.close()
    checkpoint(store)
