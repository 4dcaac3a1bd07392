"""The event store: an eventsourcing Application on SQLite or PostgreSQL, chosen by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic

from application.settings import Settings


class EventStore(Application[UUID]):
    """Every fact of the service, as events in one notification log (table assess_events)."""

    name = "assess"


def _single_try(method: Any) -> Any:
    return method.__wrapped__


class FailFastPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder without its ten retries per statement: when the database is
    gone, a request gets 503 within the connect timeout instead of a minute later, and
    its client retries (with its Idempotency-Key) when the store is back."""

    insert_events = _single_try(PostgresApplicationRecorder.insert_events)
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
            "APPLICATION_RECORDER_TOPIC": get_topic(FailFastPostgresRecorder),
        }
    raise SystemExit(f"ASSESS_DATABASE_URL: unsupported scheme '{url.scheme}'")


def open_store(settings: Settings) -> EventStore:
    """Open the event store, creating its tables if they are missing."""
    return EventStore(env=store_env(settings))
