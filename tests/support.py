"""Helpers shared by the tests: a controllable clock, services, and answer sheets."""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
from eventsourcing.domain import AggregateEvent

from application.access import reviewer_key, reviewer_token
from application.callers import TenantCaller
from application.commands import (
    EndorseSkills,
    GenerateQuestions,
    InviteReviewer,
    RegisterWebhook,
    StartVerification,
    SubmitAnswers,
)
from application.handlers.endorse_skills import endorse_skills
from application.handlers.generate_questions import generate_questions
from application.handlers.invite_reviewer import invite_reviewer
from application.handlers.register_webhook import register_webhook
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from application.results import Endorsed, Invited
from application.settings import Settings
from consumers.processes import embedded
from domain.assessment import Assessment
from domain.values import Sealed, Skill
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.migrations import seed_banks
from projections.runner import MODELS, catch_up, start_projector
from projections.views import open_live_view

START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@cache
def migrated_template() -> Path:
    """A SQLite store migrated by today's code, with the shipped banks imported (their
    events at START), closed: new stores of the tests are copies of it."""
    folder = Path(tempfile.mkdtemp(prefix="assess-template-"))
    path = folder / "assess.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}", master_key=MASTER_KEY, data_dir=folder)
    service = bootstrap(settings, clock=Clock(), rng=random.Random(7))
    seed_banks(service.banks)
    service.store.close()
    return path


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


def make_service(url: str, clock: Clock | None = None, **settings: Any) -> Services:
    """A service on the store at url, with the shipped banks and a seeded random draw. A new
    SQLite store starts as a copy of one migrated with the banks imported (made once per
    test process), which is what migrating and importing would make, ten times faster."""
    settings.setdefault("master_key", MASTER_KEY)  # never one made in the working tree
    if url.startswith("sqlite:///") and settings["master_key"] == MASTER_KEY:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_template(), path)
    service = bootstrap(
        Settings(database_url=url, **settings), clock=clock or Clock(), rng=random.Random(7)
    )
    seed_banks(service.banks)
    return service


def drawn_questions(service: Services, record_id: str) -> Assessment:
    """The record as stored, with its pending question set and answer key."""
    assessment: Assessment = service.store.repository.get(UUID(record_id[-32:]))
    assert isinstance(assessment, Assessment)
    return assessment


def prepare_questions(service: Services, record_id: str) -> bool:
    """Prepare the next attempt's set of a record, as the question preparer would."""
    return service.preparer().prepare(UUID(record_id[-32:]))


def answer_sheet(service: Services, record_id: str, correct: int) -> list[dict[str, Any]]:
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


MASTER_KEY = "6d" * 32

ACME = TenantCaller(tenant="acme", mode="live", key_id=UUID(int=1))


def take_attempt(
    service: Services,
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
        record_id = service.commands.execute(
            start_verification, ACME, command, None
        ).record_verification_id
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    answers = [
        (answer["questionId"], answer["selectedAnswer"])
        for answer in answer_sheet(service, record_id, correct)
    ]
    service.commands.execute(submit_answers, ACME, SubmitAnswers(answers, record_id), None)
    return record_id


def start_endorsement(
    service: Services,
    student: str = STUDENT["studentId"],
    skills: tuple[dict[str, Any], ...] = (REACT, PYTHON),
    sources: tuple[dict[str, str], ...] = (),
) -> str:
    """Start a human-endorsement record of the student as acme; its id."""
    command = StartVerification(
        student={**STUDENT, "studentId": student},
        skills=list(skills),
        method="human_endorsement",
        sources=list(sources),
    )
    return service.commands.execute(start_verification, ACME, command, None).record_verification_id


def invite_to_review(
    service: Services,
    record_id: str,
    name: str = "Grace Hopper",
    email: str = "grace@example.com",
) -> Invited:
    """Invite (or replace) the record's reviewer as acme: a tech lead at Navy."""
    command = InviteReviewer(
        name=name,
        email=email,
        endorsement_type="tech_lead",
        company="Navy",
        record_verification_id=record_id,
    )
    return service.commands.execute(invite_reviewer, ACME, command, None)


def link_token(service: Services, record_id: str, invitation: int = 1) -> str:
    """The token of an invitation's link, as the email consumer derives it for the email."""
    key = reviewer_key(service.settings.master_secret())
    return reviewer_token(key, UUID(record_id[-32:]), invitation)


def endorse_with(service: Services, token: str, skill_ids: list[str]) -> Endorsed:
    """The reviewer of the link endorses the skills named (the others are rejected)."""
    command = EndorseSkills(skill_ids=skill_ids)
    return service.commands.execute(endorse_skills, service.records.reviewer(token), command, None)


def take_endorsement(
    service: Services,
    endorsed: list[str] | None,
    *,
    student: str = STUDENT["studentId"],
    skills: tuple[dict[str, str], ...] = (REACT, PYTHON),
    invitations: int = 1,
) -> str:
    """Start a human record as acme, invite its reviewer `invitations` times, and let the
    last one endorse the skills named (none: the review is still open); its id."""
    record_id = start_endorsement(service, student, skills)
    for _ in range(invitations):
        invite_to_review(service, record_id)
    if endorsed is not None:
        endorse_with(service, link_token(service, record_id, invitations), endorsed)
    return record_id


def register_endpoint(
    service: Services, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    """Register a webhook endpoint of acme, as POST /api/v1/webhooks does; with its secret."""
    command = RegisterWebhook(url=url, events=events)
    endpoint: dict[str, Any] = msgspec.to_builtins(
        service.commands.execute(register_webhook, ACME, command, None)
    )
    return endpoint


def project(service: Services) -> None:
    """Bring every view up to date with the store, as the projector would."""
    for model in MODELS.values():
        catch_up(open_live_view(service.store, model), until=lambda: True)


@contextmanager
def fanning_out(service: Services) -> Iterator[None]:
    """The embedded webhook and email consumers, in a thread, and the projector (whose
    views they read), for the block."""
    stopping = threading.Event()
    parts = (service.store, service.settings, service.embedded(), stopping)
    thread = threading.Thread(target=embedded, args=parts)
    projector = start_projector(service.store, stopping)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        for running in (thread, *projector):
            running.join(timeout=30)


def public_messages(service: Services) -> list[dict[str, Any]]:
    """Every stored assessment event of the service, as the topic carries it."""
    messages = PublicMessages(service.store)
    notifications = service.store.recorder.select_notifications(
        start=1, limit=1000, topics=ASSESSMENT_TOPICS
    )
    found = []
    for notification in notifications:
        event = service.store.mapper.to_domain_event(notification)
        assert isinstance(event, AggregateEvent)
        found.append(messages.message(event, notification.id)[0])
    return found


def new_record(skills: Sequence[Skill], **fields: Any) -> Assessment:
    """A record started at START by the domain alone (an assessment unless told otherwise)."""
    return Assessment.start(
        **{
            "id": uuid4(),
            "at": START,
            "tenant": "acme",
            "mode": "live",
            "student_id": "s1",
            "seal": lambda: Sealed("subject-1", "ada@1"),
            "skills": skills,
            "callback_webhook_url": None,
            "session_token_hash": "h",
            "session_expires_at": START + timedelta(days=40),
            "api_key_id": UUID(int=1),
            **fields,
        }
    )


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
