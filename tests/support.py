"""Helpers shared by the tests: a controllable clock, services, and answer sheets."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from api.bootstrap import bootstrap, seed_banks
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.messages import (
    GenerateQuestions,
    StartVerification,
    SubmitAnswers,
    TenantCaller,
)
from application.service import AssessmentService
from application.settings import Settings
from consumers.processes import embedded
from domain.assessment import Assessment

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
STUDENT = {"studentId": "stu_1", "name": "Ada Lovelace", "email": "ada@example.com"}
REACT = {"skillId": "skill_001", "name": "React"}
PYTHON = {"skillId": "skill_002", "name": "Python"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward and return the new time."""
        self.now += timedelta(**delta)
        return self.now


def make_service(url: str, clock: Clock | None = None, **settings: Any) -> AssessmentService:
    """A service on the store at url, with the shipped banks and a seeded random draw."""
    service = bootstrap(
        Settings(database_url=url, **settings), clock=clock or Clock(), rng=random.Random(7)
    )
    seed_banks(service)
    return service


def drawn_questions(service: AssessmentService, record_id: str) -> Assessment:
    """The record as stored, with its pending question set and answer key."""
    assessment: Assessment = service.store.repository.get(UUID(record_id[-32:]))
    assert isinstance(assessment, Assessment)
    return assessment


def answer_sheet(service: AssessmentService, record_id: str, correct: int) -> list[dict[str, Any]]:
    """Answers to the pending set: the first `correct` right, the others wrong."""
    question_set = drawn_questions(service, record_id).question_set
    assert question_set is not None
    return [
        {
            "questionId": question.question_id,
            "selectedAnswer": question.answer
            if position < correct
            else (question.answer + 1) % len(question.options),
        }
        for position, question in enumerate(question_set)
    ]


ACME = TenantCaller(tenant="acme", mode="live", session_key=b"acme")


def take_attempt(
    service: AssessmentService,
    correct: int,
    *,
    record_id: str | None = None,
    student: str = STUDENT["studentId"],
    skills: tuple[dict[str, str], ...] = (REACT,),
    callback: str | None = None,
) -> str:
    """Start a record as acme (unless given), draw, and answer `correct` right; its id."""
    if record_id is None:
        command = StartVerification(
            student={**STUDENT, "studentId": student},
            skills=list(skills),
            callback_webhook_url=callback,
        )
        record_id = service.execute(start_verification, ACME, command, None).record_verification_id
    service.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    answers = [
        (answer["questionId"], answer["selectedAnswer"])
        for answer in answer_sheet(service, record_id, correct)
    ]
    service.execute(submit_answers, ACME, SubmitAnswers(answers, record_id), None)
    return record_id


@contextmanager
def fanning_out(service: AssessmentService) -> Iterator[None]:
    """The embedded webhook and email consumers, in a thread, for the block."""
    stopping = threading.Event()
    thread = threading.Thread(target=embedded, args=(service.store, service.settings, stopping))
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join(timeout=30)


class _Keeper(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def kept_logs(name: str) -> Iterator[list[logging.LogRecord]]:
    """The records logged under the logger `name` during the block. Litestar's logging
    setup replaces the root logger's handlers, pytest's caplog among them, so this handler
    sits on the named logger itself."""
    records: list[logging.LogRecord] = []
    logger = logging.getLogger(name)
    handler = _Keeper(records)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
