"""The event store as the use cases see it: the library's Application over one notification
log (table assess_events). Which database holds it is infrastructure's choice
(infrastructure/persistence.py)."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)


class EventStore(Application[UUID]):
    """Every fact of the service, as events in one notification log."""

    name = "assess"

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate of this kind with this id, or None."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None
