"""The store's policies: followers that act on a record when one of its events calls for it.
The question preparer prepares the next attempt's set when an assessment starts or an
attempt fails (application/preparation.py); the credential issuer issues a record's
credentials once it is locked (application/issuing.py). Both run in `assess projector`,
and in-process in `assess dev`; their positions are tracked, so a restart goes on where
it was."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from uuid import UUID

from eventsourcing.domain import AggregateEvent

from application.store import EventStore
from consumers.processes import attempt, follow_tracked
from infrastructure.following import Batch, Tracker


def act_on_records(
    store: EventStore,
    topics: Sequence[str],
    calls_for: Callable[[AggregateEvent], bool],
    act: Callable[[UUID], object],
    tracker: Tracker,
    stopping: threading.Event,
) -> None:
    """Follow the log's events of `topics` until stopped and `act` on the record of each
    that calls for it, recording the position after each event (a slow act does not make a
    restart repeat the batch); one record's failure is logged and passed."""

    def handle(batch: Batch) -> None:
        for event, position in batch:
            if calls_for(event):
                attempt(tracker.name, str(event.originator_id), act, event.originator_id)
            tracker.advance(position)

    follow_tracked(store, topics, tracker, handle, stopping, tracker.name)
