"""The event-store contract, run on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from application.callers import TenantCaller
from application.commands import GenerateQuestions, Idempotency, StartVerification, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.results import Submitted
from domain.errors import Conflict, Unauthorized
from domain.questions import parse_bank
from entrypoints.bootstrap import Services
from tests.support import ACME, REACT, STUDENT, Clock, answer_sheet, make_service


class RaceClock(Clock):
    """A clock that holds every caller until all racers have loaded the record."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier: threading.Barrier | None = None

    def __call__(self) -> datetime:
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        return self.now


def start(service: Services) -> str:
    command = StartVerification(student=STUDENT, skills=[REACT])
    return service.commands.execute(start_verification, ACME, command, None).record_verification_id


def sheet(service: Services, record_id: str, correct: int) -> SubmitAnswers:
    answers = [
        (a["questionId"], a["selectedAnswer"]) for a in answer_sheet(service, record_id, correct)
    ]
    return SubmitAnswers(answers=answers, record_verification_id=record_id)


def event_types(service: Services, record_id: str) -> list[str]:
    return [event.type for event in service.records.history(None, record_id, None).events]


def test_a_reopened_store_holds_the_whole_history(store_url: str, clock: Clock) -> None:
    service = make_service(store_url, clock)
    key = service.access.issue_key("acme", "live")
    record_id = start(service)
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    service.commands.execute(submit_answers, ACME, sheet(service, record_id, 2), None)
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    before = service.records.history(ACME, record_id, None)
    service.store.close()

    reopened = make_service(store_url, clock)
    assert reopened.records.history(ACME, record_id, None) == before
    assert reopened.access.authenticate(key) == ACME
    submitted = reopened.commands.execute(
        submit_answers, ACME, sheet(reopened, record_id, 10), None
    )
    assert (submitted.result.attempt_number, submitted.result.passed) == (2, True)
    reopened.store.close()


def test_history_as_of_a_moment_folds_only_what_had_happened(store_url: str, clock: Clock) -> None:
    service = make_service(store_url, clock)
    record_id = start(service)
    clock.advance(minutes=1)
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    between = clock.advance(minutes=1)
    clock.advance(minutes=1)
    service.commands.execute(submit_answers, ACME, sheet(service, record_id, 1), None)

    then = service.records.history(ACME, record_id, between)
    assert [e.type for e in then.events] == ["VerificationStarted", "QuestionsGenerated"]
    assert (then.state["status"], then.state["attempts"]) == ("in_progress", [])
    now = service.records.history(ACME, record_id, None)
    assert now.state["status"] == "failed"
    assert [a["score"] for a in now.state["attempts"]] == [10]
    service.store.close()


@pytest.mark.parametrize("same_key", [False, True])
def test_racing_submits_record_exactly_one_attempt(store_url: str, same_key: bool) -> None:
    clock = RaceClock()
    service = make_service(store_url, clock)
    record_id = start(service)
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    command = sheet(service, record_id, 10)
    idempotency = Idempotency(key="k1", fingerprint="f") if same_key else None

    def submit() -> Submitted | Exception:
        try:
            return service.commands.execute(submit_answers, ACME, command, idempotency)
        except Conflict as error:
            return error

    clock.barrier = threading.Barrier(2, timeout=10)
    with ThreadPoolExecutor(2) as pool:
        outcomes: list[Any] = list(pool.map(lambda _: submit(), range(2)))
    clock.barrier = None

    assert event_types(service, record_id).count("AnswersSubmitted") == 1
    winners = [o for o in outcomes if isinstance(o, Submitted)]
    if same_key:
        assert len(winners) == 2
        assert winners[0] == winners[1]
    else:
        assert len(winners) == 1
        assert [type(o) for o in outcomes if not isinstance(o, Submitted)] == [Conflict]
    service.store.close()


def test_an_idempotent_command_replays_after_a_restart(store_url: str, clock: Clock) -> None:
    service = make_service(store_url, clock)
    idempotency = Idempotency(key="start-1", fingerprint="same")
    command = StartVerification(student=STUDENT, skills=[REACT])
    first = service.commands.execute(start_verification, ACME, command, idempotency)
    service.store.close()
    reopened = make_service(store_url, clock)
    assert reopened.commands.execute(start_verification, ACME, command, idempotency) == first
    reopened.store.close()


def test_an_import_replaces_the_bank_but_drawn_sets_stay(store_url: str, clock: Clock) -> None:
    service = make_service(store_url, clock)
    record_id = start(service)
    drawn = service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    replacement = parse_bank(
        b'{"skillId": "skill_001", "name": "React", "questions": ['
        b'{"question": "New?", "options": ["yes", "no"], "answer": 0}]}'
    )
    service.banks.import_bank(replacement)
    [*_, imported] = service.store.recorder.select_notifications(
        start=1, limit=1000, topics=["domain.banks:QuestionBank.Imported"]
    )
    assert (  # as imports were always stored
        b',"bank":{"skillId":"skill_001","name":"React","questions":'
        b'[{"question":"New?","options":["yes","no"],"answer":0}]}'
    ) in imported.state
    assert [b["questions"] for b in service.banks.list_banks() if b["skillId"] == "skill_001"] == [
        1
    ]
    again = service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    assert again.questions == drawn.questions
    service.commands.execute(submit_answers, ACME, sheet(service, record_id, 0), None)
    fresh = service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    assert [q.question for q in fresh.questions] == ["New?"]
    service.store.close()


def test_unknown_keys_and_sessions_are_refused(store_url: str, clock: Clock) -> None:
    service = make_service(store_url, clock)
    key = service.access.issue_key("acme", "test")
    for credential in [
        None,
        "",
        "ak_live_nope",
        key[:-1] + "x",
        "sess_" + "0" * 32 + "_" + "a" * 43,
    ]:
        with pytest.raises(Unauthorized):
            service.access.authenticate(credential)
    tenant = service.access.authenticate(key)
    assert isinstance(tenant, TenantCaller)
    assert (tenant.tenant, tenant.mode) == ("acme", "test")
    service.store.close()
