"""Erasure on both stores: one transaction writes PersonalDataErased to each of the
subject's records and deletes its key; the views fold the new event as the history does;
a command saved on a record meanwhile makes the erasure try again, never lose it, and a
record started meanwhile is erased too, by the erasure or by its own start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from api.app import create_app
from application.commands import GenerateQuestions, StartVerification
from application.handlers import start_verification as starting
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.ports import PersonalData
from application.results import Started
from application.service import Handler
from application.students import Students
from infrastructure.subjects import DataSubjects
from projections.queries import ReadSide
from tests.oracle import mismatches
from tests.support import (
    ACME,
    REACT,
    STUDENT,
    Clock,
    make_service,
    project,
    take_attempt,
    take_endorsement,
)


def students(service: Any, personal: PersonalData | None = None) -> Students:
    return Students(service.store, personal or service.personal, service.sent_emails, service.clock)


def test_an_erasure_is_one_transaction_the_views_follow(store_url: str) -> None:
    service = make_service(store_url, Clock())
    assessed = take_attempt(service, 8)
    human = take_endorsement(service, ["skill_001"])
    other = take_attempt(service, 8, student="stu_2")
    project(service)
    versions = {
        r: service.records.history(None, r, None).state["version"] for r in (assessed, human)
    }

    erased = students(service).erase(ACME, "stu_1")
    assert (erased.student_id, erased.records_affected) == ("stu_1", 2)
    for record_id, version in versions.items():
        history = service.records.history(None, record_id, None)
        assert history.state["version"] == version + 1
        assert history.events[-1].type == "PersonalDataErased"
        assert history.state["student"]["email"] == "[erased]"
    assert service.records.history(None, other, None).state["student"]["email"] == "ada@example.com"
    assert service.personal.current_subject("acme", "live", "stu_1") is None
    project(service)
    read = ReadSide(service.store, service.personal)
    assert mismatches(service.store, read) == []
    assert {view["deadLetters"] for view in read.status().values()} == {0}
    assert students(service).erase(ACME, "stu_1") == erased
    service.store.close()


class Meddling:
    """The port, with `meddle` run once, as a concurrent request would at that moment:
    just before the first call of `method` (or just after it, if not `before`). `calls`
    counts the calls of `method`; `meddled` is what `meddle` returned."""

    def __init__(
        self, service: Any, method: str, meddle: Callable[[], Any], *, before: bool = True
    ) -> None:
        self.real, self.method, self.meddle, self.before = service.personal, method, meddle, before
        self.calls = 0
        self.meddled: Any = None

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.real, name)
        if name != self.method:
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            first = self.calls == 1
            if first and self.before:
                self.meddled = self.meddle()
            answer = found(*args, **kwargs)
            if first and not self.before:
                self.meddled = self.meddle()
            return answer

        return call


def start(service: Any) -> Started:
    """Start a record of the student as acme (as a concurrent POST /verify would)."""
    command = StartVerification(student=STUDENT, skills=[REACT])
    started: Started = service.commands.execute(start_verification, ACME, command, None)
    return started


def test_an_erasure_that_meets_a_concurrent_command_tries_again(store_url: str) -> None:
    service = make_service(store_url, Clock())
    record_id = take_attempt(service, 2)
    command = GenerateQuestions(record_id)
    meddling = Meddling(
        service, "erase", lambda: service.commands.execute(generate_questions, ACME, command, None)
    )

    erased = students(service, meddling).erase(ACME, "stu_1")
    assert (meddling.calls, erased.records_affected) == (2, 1)
    types = [event.type for event in service.records.history(None, record_id, None).events]
    assert types[-2:] == ["QuestionsGenerated", "PersonalDataErased"]
    assert service.personal.current_subject("acme", "live", "stu_1") is None
    service.store.close()


def test_students_starting_together_share_one_data_subject(store_url: str) -> None:
    service = make_service(store_url, Clock())
    barrier = threading.Barrier(6)

    def start() -> str:
        barrier.wait()
        command = StartVerification(student={**STUDENT, "studentId": "stu_new"}, skills=[REACT])
        return service.commands.execute(
            start_verification, ACME, command, None
        ).record_verification_id

    with ThreadPoolExecutor(6) as pool:
        records = list(pool.map(lambda _: start(), range(6)))
    subjects = {subject for subject, _ in service.personal.records("acme", "live", "stu_new")}
    assert subjects == {service.personal.current_subject("acme", "live", "stu_new")}
    for record_id in records:
        assert (
            service.records.history(None, record_id, None).state["student"]["name"]
            == STUDENT["name"]
        )
    assert students(service).erase(ACME, "stu_new").records_affected == 6
    service.store.close()


def erasing_while_sealing(service: Any) -> Meddling:
    """The port, with the student erased once their contact is sealed for a new record,
    before the record is saved (as a concurrent DELETE would)."""
    real = service.personal
    return Meddling(
        service,
        "seal_student",
        lambda: students(service, real).erase(ACME, "stu_1"),
        before=False,
    )


def test_a_record_saved_after_its_student_was_erased_takes_the_erasure(store_url: str) -> None:
    service = make_service(store_url, Clock())
    take_attempt(service, 2)
    meddling = erasing_while_sealing(service)
    service.commands.personal = meddling
    record_id = start(service).record_verification_id
    service.commands.personal = meddling.real

    history = service.records.history(None, record_id, None)
    assert [event.type for event in history.events] == ["VerificationStarted", "PersonalDataErased"]
    assert history.state["student"]["email"] == "[erased]"
    assert service.personal.current_subject("acme", "live", "stu_1") is None
    service.store.close()


def test_an_erasure_that_meets_a_record_started_meanwhile_tries_again(store_url: str) -> None:
    service = make_service(store_url, Clock())
    first = take_attempt(service, 2)
    # A record started (sealed and saved) after the erasure looked for the student's
    # records, before it commits.
    meddling = Meddling(service, "erase", lambda: start(service))

    erased = students(service, meddling).erase(ACME, "stu_1")
    assert (meddling.calls, erased.records_affected) == (2, 2)
    for record_id in (first, meddling.meddled.record_verification_id):
        types = [event.type for event in service.records.history(None, record_id, None).events]
        assert types.count("PersonalDataErased") == 1
        assert types[-1] == "PersonalDataErased"
    service.store.close()


def test_a_repeat_marks_a_record_its_erasure_could_not(store_url: str) -> None:
    service = make_service(store_url, Clock())
    take_attempt(service, 2)
    # A start whose process stops after saving the record, before its own check: sealed
    # under the subject the erasure (run between the sealing and the save) deleted.
    stopped = Handler(Started, starting.decide, tenant_only=True)
    meddling = erasing_while_sealing(service)
    service.commands.personal = meddling
    command = StartVerification(student=STUDENT, skills=[REACT])
    record_id = service.commands.execute(stopped, ACME, command, None).record_verification_id
    service.commands.personal = meddling.real
    types = [event.type for event in service.records.history(None, record_id, None).events]
    assert types == ["VerificationStarted"]
    first = service.personal.last_erasure("acme", "live", "stu_1")

    assert students(service).erase(ACME, "stu_1") == first
    history = service.records.history(None, record_id, None)
    assert [event.type for event in history.events] == ["VerificationStarted", "PersonalDataErased"]
    assert students(service).erase(ACME, "stu_1") == first
    assert len(service.records.history(None, record_id, None).events) == 2
    service.store.close()


def test_a_repeat_leaves_a_record_of_a_new_subject_to_its_own_erasure(store_url: str) -> None:
    service = make_service(store_url, Clock())
    take_attempt(service, 2)
    first = students(service).erase(ACME, "stu_1")
    # A record started just after the erasure looked for the student's current subject
    # (none: they were erased before).
    meddling = Meddling(service, "current_subject", lambda: start(service), before=False)

    assert students(service, meddling).erase(ACME, "stu_1") == first
    assert meddling.meddled is not None
    record_id = meddling.meddled.record_verification_id
    history = service.records.history(None, record_id, None)
    assert [event.type for event in history.events] == ["VerificationStarted"]
    assert history.state["student"]["email"] == STUDENT["email"]
    second = students(service).erase(ACME, "stu_1")
    assert second.records_affected == 1
    types = [event.type for event in service.records.history(None, record_id, None).events]
    assert types == ["VerificationStarted", "PersonalDataErased"]
    service.store.close()


def attempted(url: str) -> tuple[Any, str]:
    """A service whose student stu_1 took an attempt, and the student's data subject."""
    service = make_service(url, Clock())
    take_attempt(service, 2)
    subject = service.personal.current_subject("acme", "live", "stu_1")
    assert subject is not None
    return service, subject


@pytest.mark.parametrize("ends", ["commit", "rollback"])
def test_the_check_after_a_start_waits_for_an_erasure_in_progress(pg_url: str, ends: str) -> None:
    service, subject = attempted(pg_url)
    with psycopg.connect(pg_url) as erasing:  # an erasure that deleted the key, not committed
        erasing.execute("DELETE FROM subject_keys WHERE subject = %s", (subject,))
        with ThreadPoolExecutor(1) as pool:
            checking = pool.submit(service.personal.erased, subject)
            time.sleep(0.5)
            assert not checking.done()  # it waits for the erasure's end
            getattr(erasing, ends)()
            assert checking.result(timeout=10) == (ends == "commit")
    service.store.close()


def test_an_erasure_never_holds_up_other_starts_on_postgresql(pg_url: str) -> None:
    """The key table's rewrite (VACUUM FULL, which removes the erased key's bytes) runs
    after the erasure answered and waits briefly for its lock: while a long transaction
    reads the table, erasures answer and other students' starts go on; the rewrite is
    done once that transaction ends."""
    service = make_service(pg_url)
    key = {"x-api-key": service.access.issue_key("acme", "live")}
    reader = psycopg.connect(pg_url)
    try:
        with TestClient(create_app(service)) as client, ThreadPoolExecutor(1) as pool:
            body = {"student": STUDENT, "skills": [REACT]}
            assert client.post("/api/v1/verify", json=body, headers=key).status_code == 201
            reader.execute("SELECT count(*) FROM subject_keys").fetchone()  # holds its lock
            started = time.monotonic()
            erasing = pool.submit(
                client.delete, f"/api/v1/students/{STUDENT['studentId']}", headers=key
            )
            assert erasing.result(timeout=10).status_code == 200
            other = {"student": {**STUDENT, "studentId": "stu_2"}, "skills": [REACT]}
            starting = pool.submit(client.post, "/api/v1/verify", json=other, headers=key)
            assert starting.result(timeout=10).status_code == 201
            assert time.monotonic() - started < 5
            personal = service.personal
            assert isinstance(personal, DataSubjects)
            assert not personal.scrubber.wait(timeout=0.5)  # waiting for the reader
            reader.rollback()
            assert personal.scrubber.wait(timeout=30)
    finally:
        reader.close()
        service.store.close()
