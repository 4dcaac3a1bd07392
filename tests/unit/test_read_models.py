"""Each read model says, for every event of the aggregates it follows, whether it changes
its rows: a new event fails here, not by stopping a view in production."""

from __future__ import annotations

import sys

import pytest
from eventsourcing.domain import AggregateEvent
from eventsourcing.utils import get_topic

from application.integration_events import ASSESSMENT_TOPICS, PUBLIC_EVENTS
from projections.model import ReadModel
from projections.runner import MODELS


def events_of(event: type[AggregateEvent]) -> set[type[AggregateEvent]]:
    """Every event the aggregate that declares this one declares (not its base classes)."""
    owner_name = event.__qualname__.rsplit(".", 1)[0]
    owner = getattr(sys.modules[event.__module__], owner_name)
    return {
        found
        for name, found in vars(owner).items()
        if isinstance(found, type)
        and issubclass(found, AggregateEvent)
        and name not in ("Event", "Created")
    }


@pytest.mark.parametrize("model", MODELS.values(), ids=list(MODELS))
def test_every_event_it_follows_is_applied_or_ignored_by_each_model(model: ReadModel) -> None:
    declared = [*model.applies, *model.ignores]
    assert len(set(declared)) == len(declared)  # none both applied and ignored
    assert sorted(model.topics) == sorted(get_topic(event) for event in declared)
    if model.topics != ASSESSMENT_TOPICS:  # it follows a few events, which it applies
        assert model.ignores == ()
    else:  # every event of the aggregates it follows
        assert set(declared) == set().union(*(events_of(event) for event in declared))


def test_the_assessment_models_follow_the_public_events() -> None:
    assert set(PUBLIC_EVENTS) == events_of(next(iter(PUBLIC_EVENTS)))
