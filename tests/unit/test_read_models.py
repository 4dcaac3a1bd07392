"""Each read model says, for every public event, whether it changes its rows: a new event
fails here, not by stopping a view in production."""

from __future__ import annotations

import pytest

from application.integration_events import PUBLIC_EVENTS
from projections.model import ReadModel
from projections.runner import MODELS


@pytest.mark.parametrize("model", MODELS.values(), ids=list(MODELS))
def test_every_public_event_is_applied_or_ignored_by_each_model(model: ReadModel) -> None:
    assert sorted(e.__qualname__ for e in (*model.applies, *model.ignores)) == sorted(
        e.__qualname__ for e in PUBLIC_EVENTS
    )
    assert set(model.applies).isdisjoint(model.ignores)
