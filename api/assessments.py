"""Controllers of the write side: start a verification, generate questions, submit answers
(each body decoded strictly; docs/performance.md says why the service and the caller come
from state rather than as dependencies)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import msgspec
from anyio import to_thread
from litestar import Controller, Request, post
from litestar.params import JSONBody

from api.auth import API_KEY, authenticated, caller_of
from api.bodies import idempotency, strict_body
from api.errors import BODY, COMMAND, KEYED, errors_of
from api.schemas import (
    GeneratedResponse,
    GenerateRequest,
    StartedResponse,
    SubmitRequest,
    SubmittedResponse,
    VerifyRequest,
)
from application.callers import Caller
from application.commands import GenerateQuestions, StartVerification, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.ports import LoopEvents
from application.service import AssessmentService, Command, Handler, Result
from application.store import NotLoaded
from domain.errors import Conflict
from domain.questions import BANK

PREPARED_POLL_SECONDS = 0.1  # how often generate looks for a set being prepared


async def executed(
    request: Request[Any, Any, Any],
    handler: Handler[Command, Result],
    command: Command,
    body: msgspec.Struct,
) -> Result:
    """Run a command for the request's caller: decided on the event loop where the store
    can be read from it (PostgreSQL) and the handler names what it reads; else, or if it
    read more than it named, in a worker thread."""
    service: AssessmentService = request.app.state.service
    caller: Caller = request.state.caller
    events: LoopEvents | None = request.app.state.loop_events
    key = idempotency(request, body)
    if events is not None and handler.decides_on_loop:
        try:
            return await service.execute_on_loop(events, handler, caller, command, key)
        except NotLoaded:
            caller = await caller_of(request.app, request.headers.get("x-api-key"))
    return await to_thread.run_sync(service.execute, handler, caller, command, key)


async def prepared_in_time(request: Request[Any, Any, Any], command: GenerateQuestions) -> None:
    """With the `llm` generator, give the question preparer up to
    ASSESS_GENERATE_WAIT_SECONDS to record the set of a record that wants one; then generate
    draws from the banks. (The `bank` generator's set is drawn at once when none is ready.)"""
    service: AssessmentService = request.app.state.service
    if service.settings.question_generator == BANK:
        return
    deadline = time.monotonic() + service.settings.generate_wait_seconds
    caller: Caller = request.state.caller
    record_id = command.record_verification_id
    while await to_thread.run_sync(service.awaits_questions, caller, record_id):
        if time.monotonic() >= deadline:
            return
        await anyio.sleep(PREPARED_POLL_SECONDS)


class VerifyController(Controller):
    """Partners start verifications."""

    path = "/api/v1/verify"
    guards = (authenticated,)
    security = API_KEY
    tags = ("verifications",)

    @post(
        "/",
        **errors_of(*KEYED, *BODY, *COMMAND),
        operation_id="startVerification",
        summary="Start a verification",
        status_code=201,
    )
    async def start(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[VerifyRequest],
    ) -> StartedResponse:
        """Start verifying a student's skills (tenant key). By assessment (the default), each
        skillId must name a question bank; by human endorsement, a reviewer is invited next.
        Returns the record's id and the session token for the student's client (shown only
        here), valid until expiresAt. Nothing is sent to the student yet."""
        body = await strict_body(request, VerifyRequest)
        command = StartVerification(
            student={
                "studentId": body.student.student_id,
                "name": body.student.name,
                "email": body.student.email,
            },
            skills=msgspec.to_builtins(body.skills),
            callback_webhook_url=body.callback_webhook_url,
            method=body.method,
            sources=msgspec.to_builtins(body.sources),
        )
        started = await executed(request, start_verification, command, body)
        return StartedResponse(data=started)


class AssessmentController(Controller):
    """Students (or partners on their behalf) draw questions and submit answers."""

    path = "/api/v1/assessment"
    guards = (authenticated,)
    security = API_KEY
    tags = ("assessment",)

    @post(
        "/generate",
        **errors_of(
            *KEYED,
            *BODY,
            *COMMAND,
            "MISSING_VERIFICATION_ID",
            "VERIFICATION_NOT_FOUND",
            "ASSESSMENT_LOCKED",
            "NO_QUESTIONS",
            "WRONG_METHOD",
        ),
        operation_id="generateQuestions",
        summary="Draw the questions of an attempt",
        status_code=200,
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[GenerateRequest | None] = None,
    ) -> GeneratedResponse:
        """Draw the questions of the record's next attempt, spread across its skills (session
        token, or tenant key with recordVerificationId). Called again before a submit, it
        returns the same set with alreadyGenerated true. Correct answers are never shown.
        The first draw of a record fires verification.initiated."""
        body = await strict_body(request, GenerateRequest)
        command = GenerateQuestions(record_verification_id=body.record_verification_id)
        await prepared_in_time(request, command)
        try:
            generated = await executed(request, generate_questions, command, body)
        except Conflict:  # the question preparer (or a twin request) was first: show its set
            request.state.caller = await caller_of(request.app, request.headers.get("x-api-key"))
            generated = await executed(request, generate_questions, command, body)
        return GeneratedResponse(data=generated)

    @post(
        "/submit",
        **errors_of(
            *KEYED,
            *BODY,
            *COMMAND,
            "MISSING_VERIFICATION_ID",
            "VERIFICATION_NOT_FOUND",
            "ASSESSMENT_LOCKED",
            "NO_QUESTIONS",
            "WRONG_METHOD",
            "MISSING_ANSWERS",
            "INCOMPLETE_ANSWERS",
            "INVALID_ANSWERS",
        ),
        operation_id="submitAssessment",
        summary="Submit the answers of an attempt",
        status_code=200,
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SubmitRequest | None] = None,
    ) -> SubmittedResponse:
        """Submit every answer of the pending attempt at once (session token, or tenant key
        with recordVerificationId): one per question, selectedAnswer the index into the
        options as generate showed them. A score of 60 or more verifies every skill of the
        record and locks it; less rejects them, and the next attempt needs a new generate.
        Fires verification.completed and emails the student the result."""
        body = await strict_body(request, SubmitRequest)
        command = SubmitAnswers(
            answers=None
            if body.answers is None
            else [(answer.question_id, answer.selected_answer) for answer in body.answers],
            record_verification_id=body.record_verification_id,
        )
        submitted = await executed(request, submit_answers, command, body)
        return SubmittedResponse(data=submitted)
