"""The error map's rarer ways in (a lost race, a store gone, a rate limit) and how the
OpenAPI document lists every error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from litestar import Litestar, get
from litestar.exceptions import HTTPException, TooManyRequestsException, ValidationException
from litestar.testing import TestClient
from psycopg import sql
from psycopg_pool import PoolTimeout

from api.app import create_app
from api.errors import EXCEPTION_HANDLERS, STATUS_OF
from application.commands import GenerateQuestions, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.submit_answers import submit_answers
from tests.api.http import GENERATE, SUBMIT, VERIFY, VERIFY_BODY, assert_error, post, start
from tests.support import ACME, Clock, answer_sheet, kept_logs, make_service


class RacingClock(Clock):
    """A clock that, once armed, first lets another writer in. A handler reads the clock
    (in a worker thread) after it loaded the record and before it saves, so that writer
    wins the race; the limits read it on the event loop, before: not then."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: Callable[[], object] | None = None

    def __call__(self) -> datetime:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            rival, self.rival = self.rival, None
            if rival is not None:
                rival()
        return self.now


def test_a_command_that_lost_a_race_is_a_conflict_and_records_nothing(sqlite_url: str) -> None:
    clock = RacingClock()
    service = make_service(sqlite_url, clock)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        record = start(client, key)
        assert post(client, GENERATE, record.session).status_code == 200
        answers = answer_sheet(service, record.record_id, correct=3)
        rival = SubmitAnswers(
            [(answer["questionId"], answer["selectedAnswer"]) for answer in answers],
            record.record_id,
        )
        clock.rival = lambda: service.commands.execute(submit_answers, ACME, rival, None)
        response = post(client, SUBMIT, record.session, {"answers": answers})
        assert_error(response, 409, "CONFLICT")
        events = service.records.history(None, record.record_id, None).events
    assert [event.type for event in events] == [
        *("VerificationStarted", "QuestionsGenerated", "AnswersSubmitted", "Scored")
    ]
    service.store.close()


def test_a_generate_that_lost_a_race_shows_the_set_that_won(sqlite_url: str) -> None:
    """The question preparer, or a twin request, may record the set first: generate then
    shows that set rather than refusing."""
    clock = RacingClock()
    service = make_service(sqlite_url, clock)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        record = start(client, key)
        rival = GenerateQuestions(record.record_id)
        won: list[Any] = []
        clock.rival = lambda: won.append(
            service.commands.execute(generate_questions, ACME, rival, None)
        )
        response = post(client, GENERATE, key, {"recordVerificationId": record.record_id})
        assert response.status_code == 200, response.text
        shown = response.json()["data"]
        events = service.records.history(None, record.record_id, None).events
    assert [event.type for event in events] == ["VerificationStarted", "QuestionsGenerated"]
    assert shown["alreadyGenerated"] is True
    assert [q["questionId"] for q in shown["questions"]] == [
        question.question_id for question in won[0].questions
    ]
    service.store.close()


def test_a_store_that_cannot_be_reached_is_service_unavailable(pg_url: str) -> None:
    service = make_service(pg_url, Clock())
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        record = start(client, key)
        base, name = pg_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        with kept_logs("assess.api") as logs:
            for response in [
                post(client, GENERATE, record.session),
                post(client, VERIFY, key, VERIFY_BODY),
            ]:
                message = assert_error(response, 503, "SERVICE_UNAVAILABLE")
                assert message == "the event store cannot be reached"
    service.store.close()
    assert [record.levelno for record in logs] == [logging.WARNING] * 2
    assert all(r.getMessage().startswith("event store unreachable: ") for r in logs)
    # ... followed by the driver's reason, in PostgreSQL's words (a terminated connection,
    # or a connection to a database that no longer exists).
    causes = [r.getMessage().removeprefix("event store unreachable: ") for r in logs]
    assert all("connection" in cause for cause in causes), causes


class BreakingClock(Clock):
    """A clock that fails once broken: an error that no rule of the service expects."""

    broken = False

    def __call__(self) -> datetime:
        if self.broken:
            raise RuntimeError("the clock broke at /srv/secret/path")
        return self.now


def test_an_unexpected_error_is_logged_with_its_trace_and_hidden_from_the_caller(
    sqlite_url: str,
) -> None:
    clock = BreakingClock()
    service = make_service(sqlite_url, clock)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        clock.broken = True
        with kept_logs("assess.api") as logs:
            response = post(client, VERIFY, key, VERIFY_BODY)
    service.store.close()
    assert assert_error(response, 500, "INTERNAL_ERROR") == "an unexpected error occurred"
    assert "secret" not in response.text
    [record] = logs
    assert (record.levelno, record.getMessage()) == (
        logging.ERROR,
        "unexpected error on POST /api/v1/verify",
    )
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "the clock broke at /srv/secret/path"


@get("/teapot")
async def teapot() -> None:
    """Refuses with a status the map has no code for."""
    raise HTTPException(status_code=418, detail="short and stout", headers={"X-Spout": "1"})


@get("/busy")
async def busy() -> None:
    """A rate limit that says nothing of when it resets."""
    raise TooManyRequestsException("slow down")


@get("/invalid")
async def invalid() -> None:
    """A validation error that lists no fields."""
    raise ValidationException("the request makes no sense")


@get("/unnamed")
async def unnamed() -> None:
    """A validation error whose one field-shaped entry names no field."""
    extra: list[Any] = [{"message": "Expected `object`, got `array`"}, "not an entry"]
    raise ValidationException("Validation failed", extra=extra)


@get("/store-away")
async def store_away() -> None:
    """The store failed (its driver's error, as the persistence layer raises it)."""
    raise OperationalError("connection refused")


@get("/pool-full")
async def pool_full() -> None:
    """Every connection of the budget was busy for the pool's whole timeout."""
    raise OperationalError("no connection in time") from PoolTimeout("couldn't get a connection")


class Watcher:
    """Stands in for the process's reconnection watcher: counts the calls to watch."""

    def __init__(self) -> None:
        self.failures = 0

    def after_failure(self) -> None:
        self.failures += 1


@pytest.fixture
def bare_client() -> Iterator[TestClient[Litestar]]:
    """An app of the routes above with the service's error map."""
    routes = [teapot, busy, invalid, unnamed, store_away, pool_full]
    app = Litestar(routes, exception_handlers=EXCEPTION_HANDLERS)
    app.state.reconnection = Watcher()
    with TestClient(app) as client:
        yield client


def test_a_failed_store_is_watched_for_its_return_and_a_full_pool_is_not(
    bare_client: TestClient[Litestar],
) -> None:
    watcher = bare_client.app.state.reconnection
    with kept_logs("assess.api") as logs:
        away = bare_client.get("/store-away")
        assert watcher.failures == 1
        full = bare_client.get("/pool-full")
        assert watcher.failures == 1  # a full pool is waited out: nothing to reconnect
    assert assert_error(away, 503, "SERVICE_UNAVAILABLE") == "the event store cannot be reached"
    assert assert_error(full, 503, "SERVICE_UNAVAILABLE") == "the service is busy; try again"
    assert [(r.levelno, r.getMessage()) for r in logs] == [
        (logging.WARNING, "event store unreachable: connection refused"),
        (logging.WARNING, "every connection of the pool is busy: no connection in time"),
    ]


def test_an_http_error_without_a_code_of_its_own_is_an_internal_error(
    bare_client: TestClient[Litestar],
) -> None:
    response = bare_client.get("/teapot")
    assert assert_error(response, 418, "INTERNAL_ERROR") == "short and stout"
    assert response.headers["X-Spout"] == "1"


def test_a_rate_limit_without_a_reset_asks_for_a_minute(
    bare_client: TestClient[Litestar],
) -> None:
    response = bare_client.get("/busy")
    assert assert_error(response, 429, "RATE_LIMITED") == "slow down"
    assert response.headers["Retry-After"] == "60"


def test_a_validation_error_without_fields_keeps_its_detail(
    bare_client: TestClient[Litestar],
) -> None:
    response = bare_client.get("/invalid")
    assert assert_error(response, 400, "VALIDATION_ERROR") == "the request makes no sense"


def test_a_validation_error_of_no_field_is_put_on_the_body(
    bare_client: TestClient[Litestar],
) -> None:
    response = bare_client.get("/unnamed")
    message = assert_error(response, 400, "VALIDATION_ERROR")
    assert message == "body must be an object, not an array"


def test_retry_after_is_the_limiter_reset(sqlite_url: str) -> None:
    clock = Clock()
    service = make_service(sqlite_url, clock, rate_limit_per_minute=1)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        assert post(client, VERIFY, key, VERIFY_BODY).status_code == 201
        clock.advance(seconds=21)  # 21 s into the window (of the service's clock)
        response = post(client, VERIFY, key, VERIFY_BODY)
    assert_error(response, 429, "RATE_LIMITED")
    reset = response.headers["RateLimit-Reset"]
    assert reset == "39"
    assert response.headers["Retry-After"] == reset
    service.store.close()


# Every status an endpoint may answer with an error, and (at least) the codes it carries.
DOCUMENTED = {
    "400": {
        "VALIDATION_ERROR",
        "MISSING_VERIFICATION_ID",
        "MISSING_ANSWERS",
        "INCOMPLETE_ANSWERS",
        "INVALID_ANSWERS",
        "MISSING_REVIEWER_TOKEN",
        "MISSING_SKILL_IDS",
    },
    "401": {"UNAUTHORIZED", "INVALID_REVIEWER_TOKEN"},
    "403": {"ASSESSMENT_LOCKED"},
    "404": {"VERIFICATION_NOT_FOUND", "NO_QUESTIONS", "NOT_FOUND", "NOT_YET_CHECKPOINTED"},
    "409": {"CONFLICT", "WRONG_METHOD", "ALREADY_VERIFIED", "NOT_VERIFIED"},
    "410": {"REVIEWER_TOKEN_EXPIRED", "PERSONAL_DATA_ERASED"},
    "413": {"PAYLOAD_TOO_LARGE"},
    "422": {"IDEMPOTENCY_KEY_REUSED"},
    "429": {"RATE_LIMITED"},
    "500": {"INTERNAL_ERROR"},
    "503": {"SERVICE_UNAVAILABLE"},
}


def test_the_error_map_gives_each_code_one_status() -> None:
    grouped: dict[str, set[str]] = {}
    for code, status in STATUS_OF.items():
        grouped.setdefault(str(status), set()).add(code)
    assert grouped == {**DOCUMENTED, "405": {"METHOD_NOT_ALLOWED"}}


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }


def listed(operation: dict[str, Any]) -> dict[str, set[str]]:
    """An operation's error statuses, each with the codes it lists."""
    return {
        status: set(answer["description"].split(" or "))
        for status, answer in operation["responses"].items()
        if status[0] in "45"
    }


def test_each_operation_lists_only_the_codes_it_can_return(
    client: TestClient[Litestar],
) -> None:
    document = client.get("/schema/openapi.json").json()
    found = operations(document)
    for name, operation in found.items():
        errors = listed(operation)
        for status, codes in errors.items():
            assert all(str(STATUS_OF[code]) == status for code in codes), name
            content = operation["responses"][status]["content"]["application/json"]
            assert content == {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}, name
        assert {"RATE_LIMITED", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"} <= set().union(
            *errors.values()
        ), name
        assert set().union(*errors.values()) < set(STATUS_OF), f"{name} lists every code"
    skills = set().union(*listed(found["getStudentSkills"]).values())
    assert not skills & {"MISSING_ANSWERS", "REVIEWER_TOKEN_EXPIRED", "IDEMPOTENCY_KEY_REUSED"}
    submit = set().union(*listed(found["submitAssessment"]).values())
    assert {
        "MISSING_ANSWERS",
        "INCOMPLETE_ANSWERS",
        "INVALID_ANSWERS",
        "ASSESSMENT_LOCKED",
    } <= submit
    assert "REVIEWER_TOKEN_EXPIRED" not in submit
    endorse = set().union(*listed(found["endorseSkills"]).values())
    assert {"INVALID_REVIEWER_TOKEN", "REVIEWER_TOKEN_EXPIRED", "MISSING_SKILL_IDS"} <= endorse
    assert "UNAUTHORIZED" not in endorse  # the reviewer's link is its credential
    envelope = document["components"]["schemas"]["ErrorResponse"]
    assert set(envelope["properties"]) == {"success", "error"}


def test_an_answer_an_operation_does_not_list_is_logged_as_an_error(
    client: TestClient[Litestar], tenant_key: str, undocumented_errors: list[logging.LogRecord]
) -> None:
    with kept_logs("assess.api") as records:
        refused = client.get("/api/v1/skills", headers={"x-api-key": tenant_key + "x"})
    assert refused.status_code == 401
    assert not [r for r in records if "undocumented" in r.getMessage()]
    route = client.app.route_handler_method_map["/api/v1/skills"]["GET"]
    route.opt["error_codes"] = frozenset(route.opt["error_codes"] - {"UNAUTHORIZED"})
    try:
        with kept_logs("assess.api") as records:
            client.get("/api/v1/skills", headers={"x-api-key": tenant_key + "x"})
    finally:
        route.opt["error_codes"] = route.opt["error_codes"] | {"UNAUTHORIZED"}
    assert [r.getMessage() for r in records if "undocumented" in r.getMessage()] == [
        "undocumented error: listSkills answered UNAUTHORIZED"
    ]
    undocumented_errors.clear()  # this one was made on purpose
