"""Examples of each operation's request and answer, for the OpenAPI document. They are built
from the very structs the API decodes and encodes, so an example cannot hold a field the
API does not know; the submit example is the one of the submit endpoint's original page."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from api.humanverification import EndorsedResponse, InvitedResponse, ReviewPageResponse
from api.schemas import (
    Answer,
    CredentialsResponse,
    EndorseRequest,
    GeneratedResponse,
    GenerateRequest,
    HistoryResponse,
    RecordPage,
    RecordPageResponse,
    RecordResponse,
    ReviewerRequest,
    RevokedResponse,
    RevokeRequest,
    Skill,
    SkillsResponse,
    SourceInput,
    StartedResponse,
    Student,
    StudentSkillsResponse,
    SubmitRequest,
    SubmittedResponse,
    VerifyRequest,
)
from api.students import ErasedResponse, StudentExportResponse
from api.webhooks import (
    DeliveryItem,
    DeliveryPage,
    DeliveryPageResponse,
    DeliveryResponse,
    Endpoint,
    EndpointsResponse,
    RegisteredEndpointResponse,
    RemovedEndpointResponse,
    SecretResponse,
    Try,
    WebhookRequest,
)
from application.read_models import Record, StudentSkill
from application.results import (
    AttemptResult,
    BankedSkill,
    CredentialItem,
    Endorsed,
    EndorserInfo,
    Erased,
    Generated,
    History,
    HistoryEvent,
    Invited,
    RegisteredEndpoint,
    RemovedEndpoint,
    RequesterInfo,
    ReviewPage,
    ReviewSkill,
    Revocation,
    Secret,
    Started,
    Submitted,
    WebhookStatus,
)
from application.students import (
    EmailSent,
    ExportedRecord,
    NameAndEmail,
    StudentContact,
    StudentExport,
)
from domain.questions import PublicQuestion
from domain.values import Attempt, SkillOutcome, Source


class Example(NamedTuple):
    """An operation's example request body (None: it takes none) and success answer."""

    request: Any
    response: Any


RECORD = "ver_live_abc123"
AT = "2025-04-09T10:05:00.000Z"
QUEUED = WebhookStatus(sent=True, status="queued")
REACT = SkillOutcome("skill_001", "React", True, "verified", AT, "assessment")
REVOKED = SkillOutcome("skill_001", "React", False, "revoked", AT, "assessment")
REVOCATION = Revocation(RECORD, [REVOKED], "The assessment was taken by someone else", AT)
# A credential as it is answered: a VC-JWT (shortened here: header, payload, signature).
CREDENTIAL_JWT = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImRpZDp3ZWI6YXNzZXNzLmV4YW1wbGUuY29tIzEifQ"
    ".eyJpZCI6InVybjp1dWlkOjEifQ.c2lnbmF0dXJl"
)
RECORD_READ = Record(
    record_verification_id=RECORD,
    student_id="stu_1",
    status="passed",
    is_locked=True,
    skills=[SkillOutcome("skill_001", "React", True, "verified", AT, "assessment")],
    attempts=[Attempt(1, 80, True, 8, 10, AT)],
    created_at="2025-04-09T10:00:00.000Z",
    updated_at=AT,
    method="assessment",
    reviewer=None,
)
DELIVERY = DeliveryItem(
    id="whd_4f1c2a",
    event_id="0b7e4c52-9a57-5d7e-8c1e-2f4a6b1d3c90",
    type="verification.completed",
    status="delivered",
    tries=[Try(at=AT, status_code=200, error=None, duration_ms=84)],
)
ENDPOINT = "whe_e747c8fce356308a0a4b880c"
HOOK_URL = "https://hooks.partner.example.com/assess"

EXAMPLES: dict[str, Example] = {
    "startVerification": Example(
        VerifyRequest(
            student=Student("stu_1", "Ada Lovelace", "ada@example.com"),
            skills=[Skill("skill_001", "React", ["https://github.com/ada/shop"])],
            callback_webhook_url="https://partner.example.com/hooks/assess",
            sources=[SourceInput("project", "Shop front end", start_date=date(2025, 1, 1))],
        ),
        StartedResponse(
            data=Started(
                RECORD, "sess_abc123_w9mcODuOTskvVWMMLqjhUv", "2025-05-19T10:00:00.000Z", 3456000
            )
        ),
    ),
    "generateQuestions": Example(
        GenerateRequest(),
        GeneratedResponse(
            data=Generated(
                record_verification_id=RECORD,
                attempt_number=1,
                total_questions=1,
                questions=[
                    PublicQuestion(
                        "uuid-q-1",
                        "skill_001",
                        "Which hook keeps state in a function component?",
                        ["useMemo", "useState", "useRef"],
                    )
                ],
                already_generated=False,
            )
        ),
    ),
    "submitAssessment": Example(
        SubmitRequest(answers=[Answer("uuid-q-1", 1), Answer("uuid-q-2", 0)]),
        SubmittedResponse(
            data=Submitted(
                record_verification_id=RECORD,
                result=AttemptResult(
                    80,
                    True,
                    1,
                    8,
                    10,
                    "You have successfully passed the assessment and earned the Verified skill.",
                ),
                verified_skills=[REACT],
                skills_updated=1,
                webhook=QUEUED,
            )
        ),
    ),
    "getVerification": Example(None, RecordResponse(data=RECORD_READ)),
    "listVerifications": Example(
        None, RecordPageResponse(data=RecordPage(items=[RECORD_READ], next_cursor=None))
    ),
    "getVerificationHistory": Example(
        None,
        HistoryResponse(
            data=History(
                events=[
                    HistoryEvent(
                        1,
                        "VerificationStarted",
                        "2025-04-09T10:00:00.000Z",
                        {"student": {"studentId": "stu_1"}, "method": "assessment"},
                    ),
                    HistoryEvent(5, "Locked", AT, {}),
                ],
                state={"recordVerificationId": RECORD, "status": "passed", "isLocked": True},
            )
        ),
    ),
    "getStudentSkills": Example(
        None,
        StudentSkillsResponse(
            data=[StudentSkill("skill_001", "React", "verified", True, AT, "assessment", RECORD)]
        ),
    ),
    "listSkills": Example(None, SkillsResponse(data=[BankedSkill("skill_001", "React", 32)])),
    "registerWebhook": Example(
        WebhookRequest(url=HOOK_URL, events=["verification.completed"]),
        RegisteredEndpointResponse(
            data=RegisteredEndpoint(
                ENDPOINT, HOOK_URL, ["verification.completed"], "whsec_oY+c6dXbaq7KfWQ0OJSfG1iF"
            )
        ),
    ),
    "listWebhooks": Example(
        None, EndpointsResponse(data=[Endpoint(ENDPOINT, HOOK_URL, ["verification.completed"])])
    ),
    "exportStudent": Example(
        None,
        StudentExportResponse(
            data=StudentExport(
                student_id="stu_1",
                exported_at=AT,
                personal_data=NameAndEmail("Ada Lovelace", "ada@example.com"),
                records=[
                    ExportedRecord(
                        record_verification_id=RECORD,
                        method="assessment",
                        status="passed",
                        is_locked=True,
                        student=StudentContact("stu_1", "Ada Lovelace", "ada@example.com"),
                        sources=[Source("project", "Analytical Engine notes")],
                        proof_urls={"skill_001": ["https://github.com/ada/app"]},
                        skills=[REACT],
                        attempts=[Attempt(1, 80, True, 8, 10, AT)],
                        reviewer=None,
                        emails=[EmailSent("result", "student", "React: passed, score 80%", AT)],
                        personal_data_erased=False,
                        created_at="2025-04-09T10:00:00.000Z",
                        updated_at=AT,
                    )
                ],
                skills=[
                    StudentSkill("skill_001", "React", "verified", True, AT, "assessment", RECORD)
                ],
            )
        ),
    ),
    "eraseStudent": Example(None, ErasedResponse(data=Erased("stu_1", 1, AT))),
    "deleteWebhook": Example(None, RemovedEndpointResponse(data=RemovedEndpoint(ENDPOINT, True))),
    "getCallbackSecret": Example(None, SecretResponse(data=Secret("whsec_3EXJlHJ4ET5mG4NeXw"))),
    "rotateCallbackSecret": Example(None, SecretResponse(data=Secret("whsec_Hq9xT2mB7cLw0PzKd4"))),
    "listWebhookDeliveries": Example(
        None, DeliveryPageResponse(data=DeliveryPage(items=[DELIVERY], next_cursor=None))
    ),
    "redeliverWebhook": Example(None, DeliveryResponse(data=DELIVERY)),
    "inviteReviewer": Example(
        ReviewerRequest("Grace Hopper", "grace@example.com", "tech_lead", company="Navy"),
        InvitedResponse(
            data=Invited(RECORD, "grace@example.com", "2025-04-23T10:05:00.000Z", QUEUED)
        ),
    ),
    "getReviewPage": Example(
        None,
        ReviewPageResponse(
            data=ReviewPage(
                record_verification_id=RECORD,
                endorsement_type="tech_lead",
                expires_at="2025-04-23T10:05:00.000Z",
                endorser_info=EndorserInfo("Grace Hopper", "Navy", "grace@example.com"),
                requester_info=RequesterInfo("Ada Lovelace", "ada@example.com", "stu_1"),
                sources=[Source("project", "Shop front end", start_date="2025-01-01")],
                skills=[ReviewSkill("skill_001", "React", ["https://github.com/ada/shop"])],
            )
        ),
    ),
    "revokeVerification": Example(
        RevokeRequest(reason="The assessment was taken by someone else"),
        RevokedResponse(data=REVOCATION),
    ),
    "getVerificationCredentials": Example(
        None,
        CredentialsResponse(
            data=[
                CredentialItem(
                    "skill_001", "3f2c8f8e-4b7a-5c1d-9e6f-0a1b2c3d4e5f", CREDENTIAL_JWT, "active"
                )
            ]
        ),
    ),
    "endorseSkills": Example(
        EndorseRequest(skill_ids=["skill_001"]),
        EndorsedResponse(
            data=Endorsed(
                record_verification_id=RECORD,
                skills_verified=1,
                skills_rejected=0,
                verified_skills=[
                    SkillOutcome("skill_001", "React", True, "verified", AT, "human_endorsement")
                ],
                skills_updated=1,
                webhook=QUEUED,
            )
        ),
    ),
}
