"""/ready and /metrics show every follower of the event store: each view, the relay (or the
embedded fan-out), the audit log; its position, its lag in events and when it last moved,
so that an operator can alert on a stopped relay. On both stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from application.issuing import ISSUER
from application.preparation import PREPARER
from consumers.processes import EMBEDDED_FANOUT
from consumers.relay import RELAY
from entrypoints.bootstrap import Services
from infrastructure.database import is_postgres
from infrastructure.following import Tracker
from projections.audit import AUDIT_FOLLOWER
from projections.runner import MODELS
from tests.support import Clock, make_service, project, take_attempt


@pytest.fixture
def service(store_url: str, clock: Clock) -> Iterator[Services]:
    service = make_service(store_url, clock)
    yield service
    service.store.close()


def followers(client: TestClient[Litestar]) -> dict[str, Any]:
    ready = client.get("/ready")
    assert ready.status_code == 200
    found: dict[str, Any] = ready.json()["details"]["followers"]
    return found


def test_a_stopped_relay_shows_its_lag_and_when_it_last_moved(service: Services) -> None:
    downstream = RELAY if is_postgres(service.store) else EMBEDDED_FANOUT
    take_attempt(service, 8)
    with TestClient(service.app()) as client:
        before = followers(client)
        assert set(before) == {*MODELS, downstream, AUDIT_FOLLOWER, PREPARER, ISSUER}
        assert before[PREPARER]["lag"] == 2  # it follows starts and scores only
        assert before[ISSUER]["lag"] == 1  # and it locks only
        assert before[downstream]["position"] == 0
        assert before[downstream]["lastMovedAt"] is None
        started_events = before[downstream]["lag"]
        assert started_events >= 4  # started, questions, answers, scored (and locked)

        # The relay handled all of it, then stopped; two more records came.
        relay = Tracker(service.store, RELAY)
        relay.advance(service.store.recorder.max_notification_id() or 0)
        moved = time.time()
        take_attempt(service, 2, student="stu_2")
        take_attempt(service, 3, student="stu_3")
        after = followers(client)
        assert after[RELAY]["lag"] == 8  # 4 events each, none of them relayed
        assert after[RELAY]["lastMovedAt"] is not None
        assert abs(_seconds(after[RELAY]["lastMovedAt"]) - moved) < 5
        views = {name: after[name]["lag"] for name in MODELS}
        assert views["record_view"] > 0

        project(service)
        caught_up = followers(client)
        assert {name: caught_up[name]["lag"] for name in MODELS} == dict.fromkeys(MODELS, 0)
        assert all(caught_up[name]["lastMovedAt"] is not None for name in MODELS)
        assert caught_up[RELAY]["lag"] == 8

        metrics = client.get("/metrics").text
        assert 'assess_follower_lag_events{follower="relay"} 8.0' in metrics
        assert 'assess_follower_lag_events{follower="record_view"} 0.0' in metrics
        assert 'assess_follower_last_moved_timestamp_seconds{follower="relay"}' in metrics
        assert f'assess_follower_position{{follower="{AUDIT_FOLLOWER}"}} 0.0' in metrics


def _seconds(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
