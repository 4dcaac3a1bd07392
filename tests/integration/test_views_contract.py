"""The read models' contract, run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import get_topic

from application.messages import (
    StartVerification,
)
from application.service import AssessmentService
from domain.assessment import Assessment
from domain.errors import InvalidInput
from projections.queries import ReadSide
from projections.runner import MODELS, PoisonedView, catch_up, follow, rebuild
from projections.views import open_live_view
from tests.oracle import mismatches
from tests.support import ACME, PYTHON, REACT, STUDENT, Clock, make_service, take_attempt


@pytest.fixture
def service(store_url: str, clock: Clock) -> Iterator[AssessmentService]:
    service = make_service(store_url, clock)
    yield service
    service.store.close()


def attempt(service: AssessmentService, correct: int, **options: Any) -> str:
    """An attempt on a record of two skills."""
    return take_attempt(service, correct, skills=(REACT, PYTHON), **options)


def catch_up_all(service: AssessmentService) -> None:
    for model in MODELS.values():
        catch_up(open_live_view(service.store, model), until=lambda: True)


def test_the_views_equal_a_fold_of_the_history(service: AssessmentService, clock: Clock) -> None:
    failed_then_passed = attempt(service, correct=3)
    clock.advance(minutes=1)
    attempt(service, correct=9, record_id=failed_then_passed)
    clock.advance(minutes=1)
    take_attempt(
        service, skills=(REACT, PYTHON), correct=2, student="stu_1"
    )  # a later fail keeps stu_1 verified
    attempt(service, correct=1, student="stu_2")
    service.start_verification(ACME, StartVerification(student=STUDENT, skills=[REACT]), None)
    read = ReadSide(service.store)
    assert read.status()["record_view"]["lag"] > 0

    catch_up_all(service)

    assert mismatches(service.store, read) == []
    assert {name: figures["lag"] for name, figures in read.status().items()} == {
        "record_view": 0,
        "skill_view": 0,
    }
    assert [s["status"] for s in read.skills("acme", "live", "stu_1")] == ["verified", "verified"]
    assert [s["status"] for s in read.skills("acme", "live", "stu_2")] == ["rejected", "rejected"]
    record = read.record("acme", "live", failed_then_passed)
    assert record is not None
    assert (record["status"], record["isLocked"]) == ("passed", True)
    assert [a["score"] for a in record["attempts"]] == [30, 90]


def test_an_event_is_never_applied_twice(service: AssessmentService) -> None:
    record_id = attempt(service, correct=4)
    catch_up_all(service)
    read = ReadSide(service.store)
    before = read.record("acme", "live", record_id)
    view = open_live_view(service.store, MODELS["record_view"])
    notifications = service.store.recorder.select_notifications(start=1, limit=1000)
    replay = [
        (service.store.mapper.to_domain_event(n), n.id)
        for n in notifications
        if n.topic.startswith("domain.assessment:Assessment.Scored")
    ]
    with pytest.raises(IntegrityError):
        view.record(replay)  # type: ignore[arg-type]
    catch_up_all(service)
    assert read.record("acme", "live", record_id) == before
    assert mismatches(service.store, read) == []


def test_records_page_newest_first_with_filters(service: AssessmentService) -> None:
    created = [attempt(service, correct=n * 2, student=f"s{n % 2}") for n in range(5)]
    catch_up_all(service)
    read = ReadSide(service.store)
    seen, cursor = [], None
    while True:
        items, cursor = read.records("acme", "live", None, None, 2, cursor)
        seen += [item["recordVerificationId"] for item in items]
        if cursor is None:
            break
    assert seen == created[::-1]
    by_student, _ = read.records("acme", "live", "s1", None, 10, None)
    assert [i["recordVerificationId"] for i in by_student] == [created[3], created[1]]
    passed, _ = read.records("acme", "live", None, "passed", 10, None)
    assert [i["recordVerificationId"] for i in passed] == [created[4], created[3]]
    assert read.records("other", "live", None, None, 10, None) == ([], None)
    assert read.records("acme", "test", None, None, 10, None) == ([], None)
    for field, value in [("status", "done"), ("limit", 0), ("limit", 101), ("cursor", "xyz!")]:
        arguments: dict[str, Any] = {"student_id": None, "status": None, "limit": 10}
        with pytest.raises(InvalidInput, match=field):
            read.records("acme", "live", **{**arguments, "cursor": None, field: value})


def test_a_rebuild_gives_the_same_views_and_serves_the_old_ones_meanwhile(
    service: AssessmentService,
) -> None:
    for n in range(6):
        attempt(service, correct=n * 2, student=f"s{n % 3}")
    catch_up_all(service)
    read = ReadSide(service.store)
    before = {student: read.skills("acme", "live", student) for student in ("s0", "s1", "s2")}
    listed_before = read.records("acme", "live", None, None, 100, None)
    seen_during: list[object] = []

    def read_meanwhile(applied: int, position: int) -> None:
        seen_during.append(read.records("acme", "live", None, None, 100, None))

    for model in MODELS.values():
        old, new = rebuild(service.store, model, on_batch=read_meanwhile)
        assert (old, new) == (1, 2)
    assert seen_during
    assert all(page == listed_before for page in seen_during)
    assert read.records("acme", "live", None, None, 100, None) == listed_before
    assert {s: read.skills("acme", "live", s) for s in before} == before
    assert {name: f["generation"] for name, f in read.status().items()} == {
        "record_view": 2,
        "skill_view": 2,
    }
    attempt(service, correct=10, student="s9")
    catch_up_all(service)
    assert mismatches(service.store, read) == []


def test_a_poison_event_stops_only_its_view_naming_the_event(
    service: AssessmentService, caplog: pytest.LogCaptureFixture
) -> None:
    attempt(service, correct=5)
    orphan = Assessment.Locked(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime(2026, 1, 5, tzinfo=UTC),
        attempt_number=1,  # type: ignore[call-arg]
    )
    [recording] = service.store.save(orphan)
    stopping = threading.Event()
    threads = [
        threading.Thread(target=follow, args=(service.store, model, stopping))
        for model in MODELS.values()
    ]
    with caplog.at_level(logging.ERROR, logger="assess.projections"):
        for thread in threads:
            thread.start()
        threads[0].join(timeout=20)  # the record view stops by itself
        assert not threads[0].is_alive()
        later = attempt(service, correct=10, student="after")
        read = ReadSide(service.store)
        for _ in range(200):  # until the skill view has applied the whole attempt
            if [s["status"] for s in read.skills("acme", "live", "after")] == ["verified"] * 2:
                break
            stopping.wait(0.05)
        stopping.set()
        threads[1].join(timeout=20)
    assert [s["status"] for s in read.skills("acme", "live", "after")] == ["verified"] * 2
    assert read.record("acme", "live", later) is None  # the record view stopped before it
    [message] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"notification {recording.notification.id}" in message
    assert "Assessment.Locked" in message
    assert read.status()["record_view"]["position"] < recording.notification.id


def test_an_event_that_does_not_decode_stops_the_views_naming_it(
    service: AssessmentService,
) -> None:
    attempt(service, correct=5)
    [position] = service.store.recorder.insert_events(
        [StoredEvent(uuid4(), 2, get_topic(Assessment.Scored), b"{not json")]
    ) or [0]
    later = attempt(service, correct=10, student="after")
    for model in MODELS.values():
        view = open_live_view(service.store, model)
        with pytest.raises(PoisonedView, match=f"notification {position} .*Assessment.Scored"):
            catch_up(view, until=lambda: True)
        assert view.position() == position - 1
    assert ReadSide(service.store).record("acme", "live", later) is None


def test_batches_of_any_mix_of_events_apply(service: AssessmentService) -> None:
    """One event at a time, so that some batches hold no Scored and some nothing new."""
    attempt(service, correct=6)
    service.start_verification(ACME, StartVerification(student=STUDENT, skills=[REACT]), None)
    read = ReadSide(service.store)
    for model in MODELS.values():
        view = open_live_view(service.store, model)
        for notification in service.store.recorder.select_notifications(
            start=1, limit=1000, topics=model.topics
        ):
            view.record([(service.store.mapper.to_domain_event(notification), notification.id)])  # type: ignore[list-item]
    assert mismatches(service.store, read) == []
