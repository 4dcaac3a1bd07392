"""Which database holds the event store, chosen by ASSESS_DATABASE_URL (SQLite or
PostgreSQL), and opening it."""

from __future__ import annotations

import gc
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic

from application.settings import Settings, folder_of
from application.store import EventStore
from infrastructure.database import datastore
from infrastructure.postgres import SCHEMA_LOCK, AssessPostgresRecorder
from infrastructure.reconnection import renew_pool
from infrastructure.tracing import TracedMapper
from infrastructure.transcoding import StructMapper, StructTranscoder


def store_env(settings: Settings) -> dict[str, str]:
    """Translate the store URL into the eventsourcing persistence environment."""
    # Events carry typed values (msgspec structs), stored as the plain JSON they always
    # were; a process that traces stores each command's trace context with its events.
    mapper = TracedMapper if settings.tracing_on else StructMapper
    codec = {"TRANSCODER_TOPIC": get_topic(StructTranscoder), "MAPPER_TOPIC": get_topic(mapper)}
    url = urlsplit(settings.store_url)
    if url.scheme == "sqlite":
        # sqlite:///relative/file or sqlite:////absolute/file, as SQLAlchemy spells them.
        path = Path(unquote(url.path[1:]))
        folder_of(path.parent)
        # SQLite gives its write-ahead log and shared-memory files the database's mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return {
            **codec,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if url.scheme in ("postgresql", "postgres"):
        return {
            **codec,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            # One connection kept; more opened as needed, up to the process's share.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": str(settings.thread_pool_size - 1),
            "POSTGRES_CONNECT_TIMEOUT": str(settings.db_connect_timeout),
            "APPLICATION_RECORDER_TOPIC": get_topic(AssessPostgresRecorder),
        }
    raise SystemExit(f"ASSESS_DATABASE_URL: unsupported scheme '{url.scheme}'")


def table_names(settings: Settings) -> set[str]:
    """The tables in the store's database now (none if its SQLite file does not exist),
    read without opening the store (which creates the event tables)."""
    url = urlsplit(settings.store_url)
    if url.scheme == "sqlite":
        path = Path(unquote(url.path[1:]))
        if not path.exists():
            return set()
        with closing(sqlite3.connect(path)) as connection:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
            return {row[0] for row in connection.execute(query)}
    with psycopg.connect(settings.store_url, connect_timeout=settings.db_connect_timeout) as db:
        listed = db.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return {row[0] for row in listed}


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
        store = EventStore(env=env)
    # The library's pool keeps unused connections ten minutes: close them sooner.
    database = datastore(store)
    assert isinstance(database, PostgresDatastore)
    renew_pool(database, max_idle=settings.db_idle_seconds)
    return store
