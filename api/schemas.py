"""Request and response structs of the HTTP API (camelCase on the wire)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Generic, Literal, TypeVar

import msgspec
from litestar.params import Parameter

from application.read_models import Record, StudentSkill
from application.results import (
    BankedSkill,
    CredentialItem,
    Generated,
    History,
    Revocation,
    Started,
    Submitted,
)
from infrastructure.mailboxes import mailbox

Data = TypeVar("Data")

# No control characters (U+0000-U+001F, U+007F): what a reader, PostgreSQL's text or an
# email header cannot take back. (No lone surrogate gets this far: msgspec refuses one in
# JSON, and Litestar decodes a query or path as UTF-8 with replacement.) The patterns are
# also JSON Schema's, so they stay within what ECMA-262 and Rust's regex read alike. msgspec
# searches them with Python's `re`, whose `$` also matches before a final line break: END
# refuses that one.
END = r"$(?!\n)"
PRINTABLE = rf"^[^\x00-\x1f\x7f]*{END}"


Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=PRINTABLE)]
PathId = Annotated[str, Parameter(max_length=128, pattern=PRINTABLE)]
Cursor = Annotated[str | None, Parameter(max_length=128, pattern=PRINTABLE)]
Limit = Annotated[int, Parameter(ge=1, le=100, description="Items per page.")]
RecordStatus = Literal["pending", "in_progress", "passed", "failed", "in_review", "completed"]
AnyId = Annotated[str, msgspec.Meta(max_length=128, pattern=PRINTABLE)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=PRINTABLE)]
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f]+"
EMAIL = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}{END}"
URL = rf"^https?://[^\s\x00-\x1f\x7f]+{END}"
Email = Annotated[str, msgspec.Meta(pattern=EMAIL, max_length=254)]
Url = Annotated[str, msgspec.Meta(pattern=URL, max_length=2048)]


def check_mailbox(email: str) -> None:
    """A ValueError (a VALIDATION_ERROR at the struct's path) unless the address is one
    mailbox the mailer can send to."""
    try:
        mailbox(email)
    except ValueError as error:
        raise ValueError(f"email: not one deliverable mailbox ({error})") from None


class Student(msgspec.Struct, frozen=True, rename="camel"):
    """The student whose skills are verified."""

    student_id: Id
    name: Text
    email: Email

    def __post_init__(self) -> None:
        check_mailbox(self.email)


Technology = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=PRINTABLE)]
Description = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=PRINTABLE)]
Method = Literal["assessment", "human_endorsement"]
EndorsementType = Literal["reporting_manager", "tech_lead", "client", "founder_cxo", "peer"]


class Skill(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """A skill to verify (by assessment, its skillId names a question bank), with up to 5
    links to proof of it."""

    skill_id: Id
    name: Text
    proof_urls: Annotated[list[Url], msgspec.Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )


class SourceInput(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    """Work the skills were shown in; dates as YYYY-MM-DD."""

    type: Literal["project", "experience", "certificate"]
    title: Text
    subtitle: Text | None = None
    description: Description | None = None
    start_date: date | None = None
    end_date: date | None = None
    url: Url | None = None
    technologies: Annotated[list[Technology], msgspec.Meta(max_length=20)] | None = None


class VerifyRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/verify."""

    student: Student
    skills: Annotated[list[Skill], msgspec.Meta(min_length=1, max_length=10)]
    callback_webhook_url: Url | None = None
    method: Method = "assessment"
    sources: Annotated[list[SourceInput], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class ReviewerRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/humanverification/reviewer (the id only with a tenant key)."""

    name: Text
    email: Email
    endorsement_type: EndorsementType
    company: Text | None = None
    record_verification_id: AnyId | None = None  # "" is MISSING_VERIFICATION_ID

    def __post_init__(self) -> None:
        check_mailbox(self.email)


class EndorseRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/humanverification/verify: the skills the reviewer endorses."""

    skill_ids: Annotated[list[Id], msgspec.Meta(max_length=10)] | None = None


class RevokeRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/verifications/{id}/revoke: why (kept in the history and sent in the
    verification.revoked webhook; a short reason, not personal data)."""

    reason: Text


class GenerateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/assessment/generate (the id only with a tenant key)."""

    record_verification_id: AnyId | None = None  # "" is MISSING_VERIFICATION_ID


class Answer(msgspec.Struct, frozen=True, rename="camel"):
    """One answer: the index of the chosen option, in the order generate showed them."""

    question_id: AnyId  # an empty or unknown id is INVALID_ANSWERS, as the submit page says
    selected_answer: int


class SubmitRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/assessment/submit: every answer at once."""

    answers: list[Answer] | None = None
    record_verification_id: AnyId | None = None  # "" is MISSING_VERIFICATION_ID


class StartedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of POST /verify."""

    success: bool = True
    data: Started
    message: str = "Verification started"


class GeneratedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of POST /assessment/generate."""

    success: bool = True
    data: Generated
    message: str = "Questions generated"


class SubmittedResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Envelope of POST /assessment/submit, as the submit page shows it."""

    success: bool = True
    data: Submitted
    message: str = "Assessment submitted successfully"


class Envelope(msgspec.Struct, Generic[Data], frozen=True, kw_only=True):
    """The success envelope: {success: true, data}. Each endpoint answers with a subclass of
    its own name (RecordResponse: Envelope[Record]), the name its schema goes by."""

    success: bool = True
    data: Data


class Page(msgspec.Struct, Generic[Data], frozen=True, rename="camel"):
    """A page, newest first; nextCursor is null on the last page."""

    items: list[Data]
    next_cursor: str | None


class ErrorBody(msgspec.Struct, frozen=True):
    """What went wrong, as a stable code and words."""

    code: str
    message: str


class ErrorResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The error envelope every endpoint uses."""

    success: bool = False
    error: ErrorBody


class HistoryResponse(Envelope[History], frozen=True, kw_only=True):
    """Envelope of GET /verifications/{id}/history."""


class RecordResponse(Envelope[Record], frozen=True, kw_only=True):
    """Envelope of GET /verifications/{id}."""


class RecordPage(Page[Record], frozen=True):
    """A page of records, newest first; nextCursor is null on the last page."""


class RecordPageResponse(Envelope[RecordPage], frozen=True, kw_only=True):
    """Envelope of GET /verifications."""


class SkillsResponse(Envelope[list[BankedSkill]], frozen=True, kw_only=True):
    """Envelope of GET /skills."""


class StudentSkillsResponse(Envelope[list[StudentSkill]], frozen=True, kw_only=True):
    """Envelope of GET /students/{studentId}/skills."""


class RevokedResponse(Envelope[Revocation], frozen=True, kw_only=True):
    """Envelope of POST /verifications/{id}/revoke."""


class CredentialsResponse(Envelope[list[CredentialItem]], frozen=True, kw_only=True):
    """Envelope of GET /verifications/{id}/credentials."""
