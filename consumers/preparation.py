"""The question preparer's loop: it follows the store's starts and scores and prepares each
next attempt's set (application/preparation.py). It runs in `assess projector`, and
in-process in `assess dev`; its position is tracked, so a restart goes on where it was."""

from __future__ import annotations

import logging
import threading

from application.preparation import TRIGGERS, Preparer, wants_a_set
from application.store import EventStore
from consumers.topic import TRANSIENT
from domain.errors import DomainError
from infrastructure.following import Batch, Tracker, UndecodableEvent, follow_log

log = logging.getLogger("assess.questions")


def prepare_ahead(
    store: EventStore, preparer: Preparer, tracker: Tracker, stopping: threading.Event
) -> None:
    """Follow the log until stopped, recording the position after each event (a slow model
    does not make a restart repeat the batch); an outage pauses it."""

    def handle(batch: Batch) -> None:
        for event, position in batch:
            if wants_a_set(event):
                try:
                    preparer.prepare(event.originator_id)
                except TRANSIENT:
                    raise
                except DomainError as error:  # a bank gone, say: generate draws from the others
                    log.warning("cannot prepare questions for %s: %s", event.originator_id, error)
                except Exception:  # one record's failure never stops the preparer
                    log.exception("cannot prepare questions for %s", event.originator_id)
            tracker.advance(position)

    def set_aside(error: UndecodableEvent) -> None:
        log.error("the question preparer skips an event it cannot decode: %s", error)
        tracker.advance(error.position)

    follow_log(
        store,
        TRIGGERS,
        tracker.position,
        handle,
        stopping,
        paused_by=TRANSIENT,
        on_pause=lambda error: log.warning("question preparer paused (%r)", error),
        set_aside=set_aside,
        limit=100,
    )
