"""The question preparer: a follower of the event store that makes the next attempt's
question set ahead of its generate (when an assessment starts, and after a failed attempt)
with the configured generator, and records it as an event of the record. The record's
optimistic concurrency decides between it and a generate, or another preparer: what loses
is not kept. It runs in `assess projector`, and in-process in `assess dev`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.questions import QuestionSets
from application.store import EventStore
from consumers.topic import TRANSIENT
from domain.assessment import Assessment
from domain.endorsement import ASSESSMENT
from domain.errors import DomainError
from infrastructure.following import Batch, Tracker, UndecodableEvent, follow_log

log = logging.getLogger("assess.questions")

PREPARER = "question_preparer"  # the follower's name, of its position and in /ready
TRIGGERS = (get_topic(Assessment.VerificationStarted), get_topic(Assessment.Scored))


def wants_a_set(event: AggregateEvent) -> bool:
    """Whether an event calls for the next attempt's set: an assessment started, or an
    attempt failed."""
    if isinstance(event, Assessment.VerificationStarted):
        return event.method == ASSESSMENT
    return isinstance(event, Assessment.Scored) and not event.passed


class Preparer:
    """Prepares question sets for the records whose events call for one."""

    def __init__(
        self,
        store: EventStore,
        questions: QuestionSets,
        clock: Callable[[], datetime],
        tracker: Tracker,
    ) -> None:
        self.store = store
        self.questions = questions
        self.clock = clock
        self.tracker = tracker

    def prepare(self, record_id: UUID) -> bool:
        """Make and keep the next attempt's set of a record that wants one (not if a generate
        or another preparer was first); tell if it was kept."""
        record = self.store.find(Assessment, record_id)
        if record is None or not record.wants_questions:
            return False
        made = self.questions.prepared(record)  # a model may take its time: nothing is held
        if not record.prepare(made, self.clock()):
            return False
        try:
            self.store.save(record)
        except IntegrityError:  # the record moved on meanwhile: its own draw stands
            return False
        return True

    def handle(self, batch: Batch) -> None:
        """Prepare for each event of the batch that calls for it, recording the position
        after each (a slow model does not make the next start repeat the batch)."""
        for event, position in batch:
            if wants_a_set(event):
                try:
                    self.prepare(event.originator_id)
                except TRANSIENT:
                    raise
                except (DomainError, ValueError) as error:  # a bank gone, say: generate draws
                    log.warning("cannot prepare questions for %s: %s", event.originator_id, error)
            self.tracker.advance(position)

    def run(self, stopping: threading.Event) -> None:
        """Follow the log until stopped; an outage pauses it, and it goes on from its
        recorded position."""

        def set_aside(error: UndecodableEvent) -> None:
            log.error("the question preparer skips an event it cannot decode: %s", error)
            self.tracker.advance(error.position)

        follow_log(
            self.store,
            TRIGGERS,
            self.tracker.position,
            self.handle,
            stopping,
            paused_by=TRANSIENT,
            on_pause=lambda error: log.warning("question preparer paused (%r)", error),
            set_aside=set_aside,
            limit=100,
        )
