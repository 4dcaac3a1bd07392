"""On PostgreSQL, starts, generates and submits are decided on the event loop (their reads
loaded first in one round trip, a start's student sealed in one more, their events appended
through the same insert function), and callers are authenticated there: with every
guarantee of the worker-thread path."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError
from litestar import Litestar
from litestar.testing import TestClient
from psycopg_pool import AsyncConnectionPool

from api.app import create_app
from application.commands import Idempotency, SubmitAnswers
from application.handlers.submit_answers import submit_answers
from application.store import Loaded
from domain.assessment import Assessment
from domain.errors import Conflict
from domain.values import Sealed
from entrypoints.bootstrap import Services
from infrastructure.loop_events import PostgresLoopEvents, open_loop_events
from tests.api.http import GENERATE, SUBMIT, history, start, submit
from tests.processes import free_port
from tests.support import answer_sheet, make_service, prepare_questions


def on_loop() -> bool:
    """Whether the calling thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Watched:
    """Which commands ran in a worker thread (`execute`), and where callers were
    authenticated (True: on the event loop)."""

    def __init__(self, service: Services) -> None:
        self.in_threads: list[str] = []
        self.authenticated_on_loop: list[bool] = []
        execute, authenticate = service.commands.execute, service.access.authenticate

        def watched_execute(handler: Any, *args: Any) -> Any:
            self.in_threads.append(handler.result.__name__)
            return execute(handler, *args)

        def watched_authenticate(credential: str | None) -> Any:
            self.authenticated_on_loop.append(on_loop())
            return authenticate(credential)

        service.commands.execute = watched_execute  # type: ignore[method-assign,assignment]
        service.access.authenticate = watched_authenticate  # type: ignore[method-assign]


@pytest.fixture
def pg_service(pg_url: str) -> Iterator[Services]:
    """A service on a fresh PostgreSQL database."""
    service = make_service(pg_url)
    yield service
    service.store.close()


@pytest.fixture
def pg_client(pg_service: Services) -> Iterator[TestClient[Litestar]]:
    """The HTTP app over it."""
    with TestClient(create_app(pg_service)) as client:
        yield client


def test_start_generate_and_submit_are_decided_on_the_event_loop(
    pg_service: Services, pg_client: TestClient[Litestar]
) -> None:
    key = pg_service.access.issue_key("acme", "live")
    watched = Watched(pg_service)
    by_session = start(pg_client, key)
    assert prepare_questions(pg_service, by_session.record_id)  # else generate reads sources
    assert pg_client.post(GENERATE, headers={"x-api-key": by_session.session}).status_code == 200
    answers = answer_sheet(pg_service, by_session.record_id, correct=10)
    response = submit(pg_client, by_session.session, answers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["score"] == 100
    by_tenant = start(pg_client, key)
    assert prepare_questions(pg_service, by_tenant.record_id)
    body = {"recordVerificationId": by_tenant.record_id}
    assert pg_client.post(GENERATE, json=body, headers={"x-api-key": key}).status_code == 200
    answers = answer_sheet(pg_service, by_tenant.record_id, correct=0)
    response = submit(pg_client, key, answers, by_tenant.record_id)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"]["passed"] is False

    assert watched.in_threads == []
    assert all(watched.authenticated_on_loop)  # sessions loaded there, the key remembered
    assert [e["type"] for e in history(pg_client, key, by_session.record_id)["events"]] == [
        "VerificationStarted",
        "QuestionsPrepared",
        "QuestionsGenerated",
        "AnswersSubmitted",
        "Scored",
        "Locked",
    ]


def test_a_generate_with_no_set_prepared_draws_in_a_worker_thread(
    pg_service: Services, pg_client: TestClient[Litestar]
) -> None:
    """It reads the record's sources (sealed) to rank the banks' questions: not on the loop."""
    key = pg_service.access.issue_key("acme", "live")
    watched = Watched(pg_service)
    record = start(pg_client, key)
    response = pg_client.post(GENERATE, headers={"x-api-key": record.session})
    assert response.status_code == 200, response.text
    assert watched.in_threads == ["Generated"]


def test_an_idempotent_retry_on_the_loop_answers_as_the_first_did(
    pg_service: Services, pg_client: TestClient[Litestar]
) -> None:
    key = pg_service.access.issue_key("acme", "live")
    record = start(pg_client, key)
    pg_client.post(GENERATE, headers={"x-api-key": record.session})
    answers = answer_sheet(pg_service, record.record_id, correct=7)
    retry = {"Idempotency-Key": "submit-1"}
    first = submit(pg_client, record.session, answers, headers=retry)
    again = submit(pg_client, record.session, answers, headers=retry)
    other = submit(pg_client, record.session, answers[:1], headers=retry)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    events = history(pg_client, key, record.record_id)["events"]
    assert [e["type"] for e in events].count("Scored") == 1


def test_a_decision_that_reads_more_runs_in_a_worker_thread(pg_url: str) -> None:
    """A process that no longer remembers a question bank loads it in a worker thread."""
    seeded = make_service(pg_url)
    key = seeded.access.issue_key("acme", "live")
    fresh = make_service(pg_url)  # seeding found the banks imported: it remembers none
    fresh.banks._banks.forget("skill_001")
    watched = Watched(fresh)
    with TestClient(create_app(fresh)) as client:
        record = start(client, key)
        response = client.post(GENERATE, headers={"x-api-key": record.session})
        assert response.status_code == 200, response.text
        again = client.post(GENERATE, headers={"x-api-key": record.session})
        assert again.json()["data"]["alreadyGenerated"] is True
    assert watched.in_threads == ["Generated"]  # then the bank is remembered
    for service in (seeded, fresh):
        service.store.close()


class Together:
    """Loop events whose loads wait for each other, so that two commands decide on the
    same version of their record and only one can append."""

    def __init__(self, events: PostgresLoopEvents, parties: int) -> None:
        self.events, self.barrier = events, asyncio.Barrier(parties)

    async def load(self, ids: Collection[UUID]) -> Loaded:
        found = await self.events.load(ids)
        if any(isinstance(aggregate, Assessment) for aggregate in found.values()):
            await self.barrier.wait()
        return found

    async def save(self, *aggregates: Aggregate) -> None:
        await self.events.save(*aggregates)

    async def seal_student(self, *who: Any) -> Sealed:
        return await self.events.seal_student(*who)

    async def erased(self, subject: str) -> bool:
        return await self.events.erased(subject)


def racing_submits(service: Services, keys: list[str | None]) -> list[Any]:
    """Two submits of one record's answers, by its tenant, deciding together."""
    tenant = service.access.issue_key("acme", "live")
    caller = service.access.authenticate(tenant)
    with TestClient(create_app(service)) as client:
        record = start(client, tenant)
        client.post(GENERATE, headers={"x-api-key": record.session})
    answers = answer_sheet(service, record.record_id, correct=10)
    command = SubmitAnswers(
        answers=[(a["questionId"], a["selectedAnswer"]) for a in answers],
        record_verification_id=record.record_id,
    )

    async def race() -> list[Any]:
        events = await open_loop_events(service.store, service.settings, service.personal)
        assert events is not None
        together = Together(events, parties=2)
        try:
            return await asyncio.gather(
                *(
                    service.commands.execute_on_loop(
                        together,
                        submit_answers,
                        caller,
                        command,
                        None if key is None else Idempotency(key, "fingerprint"),
                    )
                    for key in keys
                ),
                return_exceptions=True,
            )
        finally:
            await events.close()

    outcomes = asyncio.run(race())
    stored = service.store.find(Assessment, UUID(record.record_id[-32:]))
    assert stored is not None
    assert len(stored.attempts) == 1  # one scored attempt, whoever won
    return outcomes


def test_of_two_submits_deciding_together_one_is_recorded(pg_service: Services) -> None:
    first, second = racing_submits(pg_service, [None, None])
    assert sorted(type(outcome).__name__ for outcome in (first, second)) == [
        "Conflict",
        "Submitted",
    ]
    assert isinstance(first, Conflict) != isinstance(second, Conflict)


def test_a_retry_racing_its_first_try_answers_as_it_did(pg_service: Services) -> None:
    first, second = racing_submits(pg_service, ["same", "same"])
    assert type(first).__name__ == type(second).__name__ == "Submitted"
    assert first == second


def test_an_unreachable_store_is_the_library_s_operational_error(
    pg_service: Services,
) -> None:
    async def load() -> None:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            f"postgresql://postgres@127.0.0.1:{free_port()}/assess",
            min_size=1,
            timeout=1,
            kwargs={"connect_timeout": 1},
            open=False,
        )
        await pool.open()
        try:
            await PostgresLoopEvents(
                pg_service.store, pg_service.settings, pool, pg_service.personal
            ).load([UUID(int=1)])
        finally:
            await pool.close()

    with pytest.raises(OperationalError):
        asyncio.run(load())


def test_on_sqlite_commands_stay_in_worker_threads(
    service: Services, client: TestClient[Litestar], tenant_key: str
) -> None:
    watched = Watched(service)
    start(client, tenant_key)
    record = start(client, tenant_key)
    assert client.post(GENERATE, headers={"x-api-key": record.session}).status_code == 200
    assert client.post(SUBMIT, headers={"x-api-key": record.session}).status_code == 400
    assert watched.in_threads == ["Started", "Started", "Generated", "Submitted"]
    # a tenant key this process remembers is taken on the loop; sessions are read in threads
    assert watched.authenticated_on_loop == [False, True, False, False]


def test_a_key_another_process_issued_is_read_on_the_loop(pg_url: str) -> None:
    issuer = make_service(pg_url)
    key = issuer.access.issue_key("acme", "live")
    issuer.store.close()
    serving = make_service(pg_url)
    watched = Watched(serving)
    with TestClient(create_app(serving)) as client:
        record = start(client, key)
        generated = client.post(
            GENERATE, json={"recordVerificationId": record.record_id}, headers={"x-api-key": key}
        )
    serving.store.close()
    assert generated.status_code == 200
    assert watched.authenticated_on_loop == [True] * 3  # the key read there, then remembered
