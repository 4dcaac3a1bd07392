"""A start decided on the event loop (PostgreSQL) keeps the guarantees the worker-thread
path's tests show (test_erasure.py): students starting together share one data subject,
a record saved after its student was erased takes the erasure, and the check after a start
waits for an erasure in progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.domain import Aggregate

from application.commands import StartVerification
from application.handlers.start_verification import start_verification
from application.results import Started
from application.store import Loaded
from domain.values import Contact, Sealed
from infrastructure.loop_events import PostgresLoopEvents, open_loop_events
from tests.integration.test_erasure import attempted, students
from tests.support import ACME, REACT, STUDENT, Clock, make_service, take_attempt


async def opened(service: Any) -> PostgresLoopEvents:
    events = await open_loop_events(service.store, service.settings, service.personal)
    assert events is not None
    return events


async def started(service: Any, events: Any, student_id: str = "stu_1") -> Started:
    command = StartVerification(student={**STUDENT, "studentId": student_id}, skills=[REACT])
    answer: Started = await service.commands.execute_on_loop(
        events, start_verification, ACME, command, None
    )
    return answer


def test_students_starting_together_on_the_loop_share_one_data_subject(pg_url: str) -> None:
    service = make_service(pg_url, Clock())

    async def together() -> list[Started]:
        events = await opened(service)
        try:
            return await asyncio.gather(*(started(service, events, "stu_new") for _ in range(6)))
        finally:
            await events.close()

    records = [answer.record_verification_id for answer in asyncio.run(together())]
    subjects = {subject for subject, _ in service.personal.records("acme", "live", "stu_new")}
    assert subjects == {service.personal.current_subject("acme", "live", "stu_new")}
    for record_id in records:
        state = service.records.history(None, record_id, None).state
        assert state["student"]["name"] == STUDENT["name"]
    assert students(service).erase(ACME, "stu_new").records_affected == 6
    service.store.close()


class ErasingWhileSealing:
    """Loop events that erase the student once their contact is sealed for a new record,
    before the record is saved (as a concurrent DELETE would)."""

    def __init__(self, events: PostgresLoopEvents, erase: Callable[[], Any]) -> None:
        self.events, self.erase = events, erase

    async def load(self, ids: Any) -> Loaded:
        return await self.events.load(ids)

    async def save(self, *aggregates: Aggregate) -> None:
        await self.events.save(*aggregates)

    async def seal_student(
        self, tenant: str, mode: str, student_id: str, contact: Contact, record: UUID
    ) -> Sealed:
        sealed = await self.events.seal_student(tenant, mode, student_id, contact, record)
        await asyncio.to_thread(self.erase)
        return sealed

    async def erased(self, subject: str) -> bool:
        return await self.events.erased(subject)


def test_a_record_saved_on_the_loop_after_its_student_was_erased_takes_the_erasure(
    pg_url: str,
) -> None:
    service = make_service(pg_url, Clock())
    take_attempt(service, 2)

    async def start() -> Started:
        events = await opened(service)
        try:
            erase = lambda: students(service).erase(ACME, "stu_1")  # noqa: E731
            return await started(service, ErasingWhileSealing(events, erase))
        finally:
            await events.close()

    record_id = asyncio.run(start()).record_verification_id
    history = service.records.history(None, record_id, None)
    assert [event.type for event in history.events] == ["VerificationStarted", "PersonalDataErased"]
    assert history.state["student"]["email"] == "[erased]"
    assert service.personal.current_subject("acme", "live", "stu_1") is None
    service.store.close()


@pytest.mark.parametrize("ends", ["commit", "rollback"])
def test_the_check_on_the_loop_waits_for_an_erasure_in_progress(pg_url: str, ends: str) -> None:
    service, subject = attempted(pg_url)

    async def check(erasing: psycopg.Connection[Any]) -> bool:
        events = await opened(service)
        try:
            checking = asyncio.create_task(events.erased(subject))
            await asyncio.sleep(0.5)
            assert not checking.done()  # it waits for the erasure's end
            getattr(erasing, ends)()
            return await asyncio.wait_for(checking, 10)
        finally:
            await events.close()

    with psycopg.connect(pg_url) as erasing:  # an erasure that deleted the key, not committed
        erasing.execute("DELETE FROM subject_keys WHERE subject = %s", (subject,))
        assert asyncio.run(check(erasing)) == (ends == "commit")
    service.store.close()
