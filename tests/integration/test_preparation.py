"""The question preparer: the next attempt's set made ahead, recorded on the record, shown by
generate; with the `llm` generator, generate waits for it a bounded moment; and no replay
asks a generator again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from application.commands import GenerateQuestions, StartVerification
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.preparation import PREPARER, TRIGGERS, wants_a_set
from application.questions import QuestionSets
from consumers.policies import act_on_records
from domain.assessment import Assessment
from domain.questions import QuestionSet
from entrypoints.bootstrap import Services
from entrypoints.cli import main
from infrastructure.following import Tracker
from projections.runner import MODELS, rebuild
from tests.api.http import GENERATE, post, start
from tests.integration.test_llm_generator import Model, completion, model_server, written
from tests.support import (
    ACME,
    MASTER_KEY,
    REACT,
    STUDENT,
    make_service,
    prepare_questions,
    take_attempt,
)


def events(service: Services, record_id: str) -> list[Any]:
    return list(service.store.events.get(UUID(record_id[-32:])))


def types(service: Services, record_id: str) -> list[str]:
    return [type(event).__name__ for event in events(service, record_id)]


def started(service: Services, method: str = "assessment") -> str:
    command = StartVerification(student=STUDENT, skills=[REACT], method=method)
    return service.commands.execute(start_verification, ACME, command, None).record_verification_id


def handled_all(service: Services) -> bool:
    """Whether the preparer has handled every event that may call for a set."""
    after = Tracker(service.store, PREPARER).position() + 1
    return not service.store.recorder.select_notifications(start=after, limit=1, topics=TRIGGERS)


@contextmanager
def preparing(service: Services) -> Iterator[None]:
    """The question preparer following the store, in a thread, for the block."""
    stopping = threading.Event()
    thread = threading.Thread(target=service.prepare_ahead, args=(stopping,))
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join(timeout=30)


def until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_started_assessment_gets_a_set_prepared_that_generate_then_shows(
    sqlite_url: str,
) -> None:
    service = make_service(sqlite_url)
    record_id = started(service)
    assert prepare_questions(service, record_id)
    assert not prepare_questions(service, record_id)  # one set an attempt
    prepared = events(service, record_id)[-1]
    assert isinstance(prepared, Assessment.QuestionsPrepared)
    generated = service.commands.execute(
        generate_questions, ACME, GenerateQuestions(record_id), None
    )
    shown = events(service, record_id)[-1]
    assert isinstance(shown, Assessment.QuestionsGenerated)
    assert shown.questions == prepared.questions == generated.questions
    assert shown.answer_key == prepared.answer_key
    assert (
        (shown.generator, shown.seed) == (prepared.generator, prepared.seed) == ("bank", shown.seed)
    )
    assert shown.attempt_number == prepared.attempt_number == 1
    service.store.close()


def test_the_preparer_follows_starts_and_failed_attempts_only(sqlite_url: str) -> None:
    service = make_service(sqlite_url)
    failed = take_attempt(service, correct=2)
    passed = take_attempt(service, correct=9, student="stu_2")
    human = started(service, "human_endorsement")
    with preparing(service):
        until(lambda: types(service, failed)[-1] == "QuestionsPrepared")
        until(lambda: handled_all(service))
    assert types(service, failed) == [
        *("VerificationStarted", "QuestionsGenerated", "AnswersSubmitted", "Scored"),
        "QuestionsPrepared",
    ]
    assert "QuestionsPrepared" not in types(service, passed) + types(service, human)
    before = {q.question_id for q in events(service, failed)[1].questions}
    after = {q.question_id for q in events(service, failed)[-1].questions}
    assert not before & after  # none of the failed attempt's questions again
    assert events(service, failed)[-1].attempt_number == 2
    service.store.close()


SETS = ("banks", "personal", "settings", "rng", "generator", "bank")  # QuestionSets' parts


class Racing(QuestionSets):
    """Question sets whose making first lets another preparer record its set."""

    rival: Any = None

    def prepared(self, record: Assessment) -> QuestionSet:
        rival, self.rival = self.rival, None
        if rival is not None:
            assert rival()
        return super().prepared(record)


def test_of_two_preparations_for_one_attempt_only_one_counts(sqlite_url: str) -> None:
    service = make_service(sqlite_url)
    record_id = started(service)
    racing = Racing(*(getattr(service.commands.questions, name) for name in SETS))
    loser = service.preparer()
    loser.questions = racing
    racing.rival = lambda: prepare_questions(service, record_id)
    assert loser.prepare(UUID(record_id[-32:])) is False
    assert types(service, record_id) == ["VerificationStarted", "QuestionsPrepared"]
    service.store.close()


def test_an_erased_students_sources_are_never_sent_again(sqlite_url: str, tmp_path: Any) -> None:
    model = Model(lambda body: completion(written(10)))
    with model_server(model) as url:
        service = make_service(
            sqlite_url, question_generator="llm", llm_url=url, llm_model="tiny", data_dir=tmp_path
        )
        command = StartVerification(
            student=STUDENT,
            skills=[REACT],
            sources=[
                {
                    "type": "project",
                    "title": "Lovelace Bakery till",
                    "description": "Custom hooks for the basket, and its forms.",
                }
            ],
        )
        record_id = service.commands.execute(
            start_verification, ACME, command, None
        ).record_verification_id
        assert prepare_questions(service, record_id)
        prompt = model.asked[-1]["messages"][1]["content"]
        assert '"hooks"' in prompt
        assert "lovelace" not in prompt.lower()
        take_attempt(service, correct=1, record_id=record_id)
        with TestClient(service.app()) as client:
            key = service.access.issue_key("acme", "live")
            erased = client.delete(
                f"/api/v1/students/{STUDENT['studentId']}", headers={"x-api-key": key}
            )
            assert erased.status_code == 200, erased.text
        assert prepare_questions(service, record_id)
        prompt = model.asked[-1]["messages"][1]["content"]
        assert "<sources>[]</sources>" in prompt
    service.store.close()


@pytest.mark.parametrize("delay", [0.0, 30.0])
def test_generate_waits_a_bounded_moment_for_the_models_set(
    sqlite_url: str, tmp_path: Any, delay: float
) -> None:
    """A quick model's set is shown; a model that takes 30 s does not hold generate past
    ASSESS_GENERATE_WAIT_SECONDS + 1 s: the banks answer, and the set says why."""

    def answer(body: dict[str, Any]) -> tuple[int, bytes]:
        time.sleep(delay)
        return completion(written(10))

    with model_server(Model(answer)) as url:
        service = make_service(
            sqlite_url,
            question_generator="llm",
            llm_url=url,
            llm_model="tiny",
            llm_timeout_seconds=4,  # the preparer gives up on the slow model, and stops
            generate_wait_seconds=1,
            data_dir=tmp_path,
        )
        with TestClient(service.app()) as client, preparing(service):
            record = start(client, service.access.issue_key("acme", "live"))
            began = time.monotonic()
            response = post(client, GENERATE, record.session)
            took = time.monotonic() - began
            assert response.status_code == 200, response.text
            origins = {q["origin"] for q in response.json()["data"]["questions"]}
            history = client.get(
                f"/api/v1/verifications/{record.record_id}/history",
                headers={"x-api-key": service.access.issue_key("acme", "live")},
            ).json()["data"]["events"]
        service.store.close()
    assert took < 1 + 1
    shown = next(e for e in history if e["type"] == "QuestionsGenerated")["data"]
    if delay:
        assert origins == {"bank"}
        assert shown["generator"] == "llm:tiny"
        assert shown["fallbacks"] == [
            "no set was prepared within 1 s; the whole set came from the banks"
        ]
    else:
        assert origins == {"generated"}
        assert shown["fallbacks"] == []
    assert not any("answer" in q for q in shown["questions"])
    assert "seed" not in shown  # it would replay the options' order


def test_no_replay_asks_the_model_again(sqlite_url: str, tmp_path: Any) -> None:
    model = Model(lambda body: completion(written(10)))
    with model_server(model) as url:
        service = make_service(
            sqlite_url, question_generator="llm", llm_url=url, llm_model="tiny", data_dir=tmp_path
        )
        record_id = started(service)
        assert prepare_questions(service, record_id)
        take_attempt(service, correct=2, record_id=record_id)
        asked = len(model.asked)
        assert asked == 1
        service.records.history(None, record_id, None)
        for model_name in MODELS.values():
            rebuild(service.store, model_name, lambda applied, position: None)
        env = {"ASSESS_DATABASE_URL": sqlite_url, "ASSESS_MASTER_KEY": MASTER_KEY}
        data = ["--data", str(tmp_path)]
        for args in (["audit", "checkpoint"], ["audit", "verify", "--store"]):
            result = CliRunner().invoke(main, [*args, *data], env=env)
            assert result.exit_code == 0, result.output
        assert len(model.asked) == asked
    service.store.close()


class Failing(QuestionSets):
    """Question sets that cannot be made for one record (a model's answer that breaks the
    parser, say)."""

    broken: UUID | None = None

    def prepared(self, record: Assessment) -> QuestionSet:
        if record.id == self.broken:
            raise RecursionError("maximum recursion depth exceeded")
        return super().prepared(record)


def test_a_record_that_cannot_be_prepared_stops_no_other(sqlite_url: str) -> None:
    service = make_service(sqlite_url)
    broken, fine = started(service), started(service)
    failing = Failing(*(getattr(service.commands.questions, name) for name in SETS))
    failing.broken = UUID(broken[-32:])
    preparer = service.preparer()
    preparer.questions = failing
    stopping = threading.Event()
    tracker = Tracker(service.store, PREPARER)
    loop = threading.Thread(
        target=act_on_records,
        args=(service.store, TRIGGERS, wants_a_set, preparer.prepare, tracker, stopping),
    )
    loop.start()
    try:
        until(lambda: handled_all(service))
        assert loop.is_alive()
    finally:
        stopping.set()
        loop.join(timeout=30)
    assert types(service, broken) == ["VerificationStarted"]
    assert types(service, fine) == ["VerificationStarted", "QuestionsPrepared"]
    service.store.close()


def test_no_set_repeats_a_question_of_any_earlier_attempt_while_the_bank_has_others(
    sqlite_url: str,
) -> None:
    service = make_service(sqlite_url)
    record_id = take_attempt(service, correct=1)
    for _ in range(3):
        take_attempt(service, correct=1, record_id=record_id)
    sets = [
        {q.question_id for q in event.questions}
        for event in events(service, record_id)
        if isinstance(event, Assessment.QuestionsGenerated)
    ]
    assert len(sets) == 4
    assert len(set().union(*sets)) == 40  # 82 React questions: none asked twice yet
