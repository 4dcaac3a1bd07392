"""The event store as the use cases see it: the library's Application over one notification
log (table assess_events). Which database holds it is infrastructure's choice
(infrastructure/persistence.py).

A decision may also run on the event loop (AssessmentService.execute_on_loop): its reads
are made first, in one round trip, and `find` then answers from them (`loaded`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)

# What a decision on the loop read first: each id asked for, and its aggregate or None.
Loaded = Mapping[UUID, Aggregate | None]
_LOADED: ContextVar[Loaded | None] = ContextVar("assess_loaded", default=None)


class NotLoaded(Exception):
    """A decision on the event loop read an aggregate it had not loaded first: the caller
    runs it again in a worker thread, where the store may be read."""


class EventStore(Application[UUID]):
    """Every fact of the service, as events in one notification log."""

    name = "assess"

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of this kind with this id, or None (within `loaded`, from what was
        loaded: NotLoaded if the id was not asked for)."""
        loaded = _LOADED.get()
        if loaded is None:
            try:
                found: Aggregate | None = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        elif aggregate_id in loaded:
            found = loaded.get(aggregate_id)
        else:
            raise NotLoaded(aggregate_id)
        return found if isinstance(found, kind) else None

    @staticmethod
    def off_the_loop(what: str) -> None:
        """Refuse to read `what` within `loaded` (a decision on the event loop): NotLoaded,
        and the caller decides again in a worker thread."""
        if _LOADED.get() is not None:
            raise NotLoaded(what)

    @staticmethod
    @contextmanager
    def loaded(found: Loaded) -> Iterator[None]:
        """Answer `find` from what was loaded (in this context only: the event loop's task
        of one request, never another's)."""
        token = _LOADED.set(found)
        try:
            yield
        finally:
            _LOADED.reset(token)
