"""Keeping erased personal data out of the store's files, free pages and old row versions
included. Contacts are only ever stored sealed, so what an erasure must remove is the
subject's key: its row is deleted in the erasure's transaction, and then

- on SQLite, that transaction runs with `secure_delete` (the deleted bytes are zeroed in
  the page's new image) and a checkpoint copies the new pages into the database file and
  truncates the write-ahead log (whose older frames held the key's page);
- on PostgreSQL, `VACUUM FULL` rewrites the key table into a new file and drops the old
  one (a plain VACUUM can leave a deleted row's bytes in a page's free space). A row
  version that a transaction still open at the erasure may see survives until it ends:
  the next erasure's rewrite removes it.

`compact` does the same for a whole store once, after `migrate` sealed what was stored in
clear before contacts were sealed."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.store import EventStore
from infrastructure.database import datastore, transaction

log = logging.getLogger("assess.personal")

KEYS = "subject_keys"


def scrub_after_erasure(store: EventStore) -> None:
    """Remove a deleted key's bytes from the store's files (after the erasure's commit)."""
    database = datastore(store)
    if isinstance(database, PostgresDatastore):
        vacuum_full(database, [KEYS])
    else:
        checkpoint(store)


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


def vacuum_full(database: PostgresDatastore, tables: Sequence[str]) -> None:
    """Rewrite PostgreSQL tables into new files (outside a transaction, as VACUUM must)."""
    with database.get_connection() as connection:
        for table in tables:
            connection.execute(f"VACUUM FULL {table}")


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
