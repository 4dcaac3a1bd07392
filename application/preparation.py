"""Preparing the next attempt's question set ahead of its generate: when an assessment
starts, and after a failed attempt, the configured generator makes the set and it is
recorded as an event of the record (consumers/preparation.py follows the store and calls
this). The record's optimistic concurrency decides between a preparation and a generate, or
another preparation: what loses is not kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.questions import QuestionSets
from application.store import EventStore
from domain.assessment import Assessment
from domain.endorsement import ASSESSMENT

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
        self, store: EventStore, questions: QuestionSets, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.questions = questions
        self.clock = clock

    def prepare(self, record_id: UUID) -> bool:
        """Make and keep the next attempt's set of a record that wants one (not if a generate
        or another preparation was first); tell if it was kept."""
        record = self.store.find(Assessment, record_id)
        if record is None or not record.wants_questions:
            return False
        made = self.questions.prepared(record)  # a model may take its time: nothing is held
        if not record.prepare(made, self.clock()):
            return False
        try:
            self.store.save(record)
        except IntegrityError:  # the record moved on meanwhile: its own set stands
            return False
        return True
