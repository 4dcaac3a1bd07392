"""What the commands and queries return (camelCase on the wire): results, pages, history."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.questions import PublicQuestion
from domain.scoring import result_message
from domain.values import SkillOutcome, Source


class RemovedEndpoint(msgspec.Struct, frozen=True):
    """An endpoint that was removed."""

    id: str
    deleted: bool


class RegisteredEndpoint(msgspec.Struct, frozen=True):
    """A new webhook endpoint with its signing secret (shown once)."""

    id: str
    url: str
    events: list[str]
    secret: str


class Secret(msgspec.Struct, frozen=True):
    """A signing secret."""

    secret: str


class Started(msgspec.Struct, frozen=True, rename="camel"):
    """A verification was started; the session token is shown only here."""

    record_verification_id: str
    session_token: str
    expires_at: str
    expires_in: int


class Generated(msgspec.Struct, frozen=True, rename="camel"):
    """The questions of an attempt, without their answers."""

    record_verification_id: str
    attempt_number: int
    total_questions: int
    questions: list[PublicQuestion]
    already_generated: bool


class Scoring(msgspec.Struct, frozen=True, rename="camel"):
    """What a scored attempt decided, as the `Scored` event and its public message hold it:
    every outcome of a submit (the answer, its idempotency record, the webhook body, the
    email) is built from this."""

    attempt_number: int
    correct_answers: int
    total_questions: int
    score: int
    passed: bool
    skills: list[SkillOutcome]
    skills_updated: int


class AttemptResult(msgspec.Struct, frozen=True, rename="camel"):
    """The score of one attempt."""

    score: int
    passed: bool
    attempt_number: int
    correct_answers: int
    total_questions: int
    message: str

    @classmethod
    def of(cls, scoring: Scoring) -> AttemptResult:
        """An attempt's result, in the words that tell a pass from a fail."""
        return cls(
            score=scoring.score,
            passed=scoring.passed,
            attempt_number=scoring.attempt_number,
            correct_answers=scoring.correct_answers,
            total_questions=scoring.total_questions,
            message=result_message(scoring.passed, scoring.score, len(scoring.skills)),
        )


class WebhookStatus(msgspec.Struct, frozen=True):
    """Whether verification.completed was queued for at least one endpoint."""

    sent: bool
    status: str


class Submitted(msgspec.Struct, frozen=True, rename="camel"):
    """The outcome of a submission, field for field as the submit page shows it."""

    record_verification_id: str
    result: AttemptResult
    verified_skills: list[SkillOutcome]
    skills_updated: int
    webhook: WebhookStatus

    @classmethod
    def of(cls, record_verification_id: str, scoring: Scoring, webhook: WebhookStatus) -> Submitted:
        """The outcome of a record's scored attempt."""
        return cls(
            record_verification_id,
            AttemptResult.of(scoring),
            scoring.skills,
            scoring.skills_updated,
            webhook,
        )


class BankedSkill(msgspec.Struct, frozen=True, rename="camel"):
    """A skill a record can name: it has a question bank of this many questions."""

    skill_id: str
    name: str
    questions: int


class Invited(msgspec.Struct, frozen=True, rename="camel"):
    """A reviewer was invited; the link went to them only."""

    record_verification_id: str
    reviewer_email: str
    expires_at: str
    webhook: WebhookStatus


class Endorsed(msgspec.Struct, frozen=True, rename="camel"):
    """The outcome of an endorsement: how many skills were verified and rejected, each
    skill's new status, and the webhook."""

    record_verification_id: str
    skills_verified: int
    skills_rejected: int
    verified_skills: list[SkillOutcome]
    skills_updated: int
    webhook: WebhookStatus

    @classmethod
    def of(
        cls,
        record_verification_id: str,
        skills: list[SkillOutcome],
        skills_updated: int,
        webhook: WebhookStatus,
    ) -> Endorsed:
        """The outcome of a record's endorsement: its skills' new statuses, counted."""
        verified = sum(skill.verified for skill in skills)
        return cls(
            record_verification_id,
            verified,
            len(skills) - verified,
            skills,
            skills_updated,
            webhook,
        )


class EndorserInfo(msgspec.Struct, frozen=True):
    """Who is asked to endorse."""

    name: str
    company: str | None
    email: str


class RequesterInfo(msgspec.Struct, frozen=True, rename="camel"):
    """The student whose skills are to be endorsed."""

    name: str
    email: str
    external_student_id: str


class ReviewSkill(msgspec.Struct, frozen=True, rename="camel"):
    """A skill the reviewer is asked about, with the links to its proof."""

    skill_id: str
    name: str
    proof_urls: list[str]


class ReviewPage(msgspec.Struct, frozen=True, rename="camel"):
    """What a reviewer is asked to judge."""

    record_verification_id: str
    endorsement_type: str
    expires_at: str
    endorser_info: EndorserInfo
    requester_info: RequesterInfo
    sources: list[Source]
    skills: list[ReviewSkill]


class HistoryEvent(msgspec.Struct, frozen=True, rename="camel"):
    """A stored event in its public form: its version in the record, its type (the event's
    name, such as VerificationStarted or Scored), when it occurred, and its fields."""

    version: int
    type: str
    occurred_at: str
    data: dict[str, Any]


class History(msgspec.Struct, frozen=True):
    """A record's events in order, and the state they fold to (an empty object before the
    record's first event)."""

    events: list[HistoryEvent]
    state: dict[str, Any]


class Erased(msgspec.Struct, frozen=True, rename="camel"):
    """A student's personal data in a tenant and mode was erased, from so many records."""

    student_id: str
    records_affected: int
    erased_at: str


class SentEmail(msgspec.Struct, frozen=True, rename="camel"):
    """An email the service sent: its subject line (never personal data) and when."""

    subject: str | None
    sent_at: str


class Revocation(msgspec.Struct, frozen=True, rename="camel"):
    """A record's revocation: its skills (the verified ones now revoked), why and when.
    The same on every call: a record is revoked once."""

    record_verification_id: str
    skills: list[SkillOutcome]
    reason: str
    revoked_at: str


class CredentialItem(msgspec.Struct, frozen=True, rename="camel"):
    """One credential of a record: its skill, its id, the signed credential (null once the
    student's personal data is erased: it names their pseudonym) and whether it is
    revoked."""

    skill_id: str
    credential_id: str
    jwt: str | None
    status: str
