"""The question preparer's loop: it follows the store's starts and scores and prepares each
next attempt's set (application/preparation.py). It runs in `assess projector`, and
in-process in `assess dev`; its position is tracked, so a restart goes on where it was."""

from __future__ import annotations

import threading

from application.preparation import PREPARER, TRIGGERS, Preparer, wants_a_set
from application.store import EventStore
from consumers.processes import attempt, follow_tracked
from infrastructure.following import Batch, Tracker


def prepare_ahead(
    store: EventStore, preparer: Preparer, tracker: Tracker, stopping: threading.Event
) -> None:
    """Follow the log until stopped, recording the position after each event (a slow model
    does not make a restart repeat the batch); one record's failure is logged and passed."""

    def handle(batch: Batch) -> None:
        for event, position in batch:
            if wants_a_set(event):
                attempt(
                    "questions", str(event.originator_id), preparer.prepare, event.originator_id
                )
            tracker.advance(position)

    follow_tracked(store, TRIGGERS, tracker, handle, stopping, PREPARER)
