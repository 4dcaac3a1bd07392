"""Controllers of the write side: start a verification, generate questions, submit answers."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post

from api.auth import authenticated, idempotency
from api.schemas import (
    GeneratedResponse,
    GenerateRequest,
    StartedResponse,
    SubmitRequest,
    SubmittedResponse,
    VerifyRequest,
)
from application.messages import Caller, GenerateQuestions, StartVerification, SubmitAnswers
from application.service import AssessmentService


class VerifyController(Controller):
    """Partners start verifications."""

    path = "/api/v1/verify"
    guards = (authenticated,)
    tags = ("verifications",)

    @post("/", operation_id="startVerification", status_code=201, sync_to_thread=True)
    def start(
        self,
        request: Request[Any, Any, Any],
        data: VerifyRequest,
        caller: Caller,
        service: AssessmentService,
    ) -> StartedResponse:
        """Start verifying a student's skills; returns the session for the student's client."""
        command = StartVerification(
            student={
                "studentId": data.student.student_id,
                "name": data.student.name,
                "email": data.student.email,
            },
            skills=[{"skillId": skill.skill_id, "name": skill.name} for skill in data.skills],
            callback_webhook_url=data.callback_webhook_url,
        )
        started = service.start_verification(caller, command, idempotency(request, data))
        return StartedResponse(data=started)


class AssessmentController(Controller):
    """Students (or partners on their behalf) draw questions and submit answers."""

    path = "/api/v1/assessment"
    guards = (authenticated,)
    tags = ("assessment",)

    @post("/generate", operation_id="generateQuestions", status_code=200, sync_to_thread=True)
    def generate(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        service: AssessmentService,
        data: GenerateRequest | None = None,
    ) -> GeneratedResponse:
        """Draw the questions of the next attempt, or return the pending set again."""
        body = data or GenerateRequest()
        command = GenerateQuestions(record_verification_id=body.record_verification_id)
        generated = service.generate_questions(caller, command, idempotency(request, body))
        return GeneratedResponse(data=generated)

    @post("/submit", operation_id="submitAssessment", status_code=200, sync_to_thread=True)
    def submit(
        self,
        request: Request[Any, Any, Any],
        caller: Caller,
        service: AssessmentService,
        data: SubmitRequest | None = None,
    ) -> SubmittedResponse:
        """Submit all answers at once; score, verify or reject the skills, lock on a pass."""
        body = data or SubmitRequest()
        command = SubmitAnswers(
            answers=None
            if body.answers is None
            else [(answer.question_id, answer.selected_answer) for answer in body.answers],
            record_verification_id=body.record_verification_id,
        )
        submitted = service.submit_answers(caller, command, idempotency(request, body))
        return SubmittedResponse(data=submitted)
