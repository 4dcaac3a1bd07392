"""After PostgreSQL was away: one watcher per process tries a new connection every 100 ms
and, on the first that works, replaces the pools whole (docs/security.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from eventsourcing.postgres import ConnectionPool, PostgresDatastore

from application.settings import Settings
from application.store import EventStore
from infrastructure.database import datastore

log = logging.getLogger("assess.store")
RETRY_SECONDS = 0.1


def renew_pool(database: PostgresDatastore, max_idle: float | None = None) -> None:
    """Give the store's datastore a new pool like its old one (closing unused connections
    after `max_idle` seconds, if given), and close the old one."""
    old = database.pool
    new: ConnectionPool[Any] = ConnectionPool(
        conninfo=old.conninfo,
        kwargs=old.kwargs,
        connection_class=old.connection_class,
        min_size=old.min_size,
        max_size=old.max_size,
        configure=database.after_connect_func(),
        timeout=old.timeout,
        max_waiting=old.max_waiting,
        max_lifetime=old.max_lifetime,
        max_idle=old.max_idle if max_idle is None else max_idle,
        get_password_func=old.get_password_func,
        open=False,
    )
    new.open(wait=False)
    database.pool = new
    old.close(timeout=1)


class Reconnection:
    """Replaces the pools once the database answers again after a failure (`after_failure`,
    called on the event loop; one watcher at a time)."""

    def __init__(
        self,
        settings: Settings,
        database: PostgresDatastore,
        renew_loop_pool: Callable[[], Awaitable[None]] | None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.renew_loop_pool = renew_loop_pool
        self._watcher: asyncio.Task[None] | None = None

    def after_failure(self) -> None:
        """The store could not be used: watch for its return, unless already watching."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while not await self._answers():
            await asyncio.sleep(RETRY_SECONDS)
        await asyncio.to_thread(renew_pool, self.database)
        if self.renew_loop_pool is not None:
            await self.renew_loop_pool()
        log.info("the event store answers again: its connections are new")

    async def _answers(self) -> bool:
        try:
            connection = await psycopg.AsyncConnection.connect(
                self.settings.store_url, connect_timeout=self.settings.db_connect_timeout
            )
        except psycopg.Error:
            return False
        await connection.close()
        return True

    @classmethod
    def of(
        cls,
        store: EventStore,
        settings: Settings,
        renew_loop_pool: Callable[[], Awaitable[None]] | None,
    ) -> Reconnection | None:
        """The watch for a store on PostgreSQL (None on SQLite, which has no pool)."""
        database = datastore(store)
        if not isinstance(database, PostgresDatastore):
            return None
        return cls(settings, database, renew_loop_pool)

    async def stop(self) -> None:
        """Stop watching (the process stops)."""
        if self._watcher is not None:
            self._watcher.cancel()
