"""Domain errors: each names a rule a command broke."""

from __future__ import annotations


class DomainError(Exception):
    """A command was rejected by a rule of the domain; nothing is recorded."""


class InvalidInput(DomainError):
    """A field of a command holds a value the domain cannot accept."""


class VerificationNotFound(DomainError):
    """No verification record with this id is visible to the caller."""


class AssessmentLocked(DomainError):
    """The assessment was passed and is locked against further attempts."""


class MissingAnswers(DomainError):
    """The submission holds no answers."""


class NoQuestions(DomainError):
    """There is no generated, unsubmitted question set to answer."""


class IncompleteAnswers(DomainError):
    """The number of answers differs from the number of questions."""


class InvalidAnswers(DomainError):
    """An answer names an unknown or repeated question, or an option it does not have."""


class IdempotencyKeyReused(DomainError):
    """An idempotency key was sent again with a different request."""


class Conflict(DomainError):
    """A concurrent command on the same aggregate was recorded first."""


class Unauthorized(DomainError):
    """No, an unknown, a revoked or an expired credential."""


class MissingVerificationId(DomainError):
    """The command names no verification record, and the credential is bound to none."""


class WebhookNotFound(DomainError):
    """No webhook endpoint or delivery with this id is visible to the caller."""


class WrongMethod(DomainError):
    """A call of one verification path on a record of the other."""


class AlreadyVerified(DomainError):
    """The record's reviewer already endorsed its skills: it is completed and locked."""


class TooManyInvitations(DomainError):
    """A record may invite a reviewer only so many times."""


class MissingReviewerToken(DomainError):
    """The reviewer call carries no reviewer token."""


class InvalidReviewerToken(DomainError):
    """The reviewer token is unknown, or a later invitation replaced it."""


class ReviewerTokenExpired(DomainError):
    """The reviewer token is past its expiry."""


class MissingSkillIds(DomainError):
    """The endorsement names no skill."""


class NotYetCheckpointed(DomainError):
    """The event is not yet covered by the audit log's latest checkpoint."""


class AuditNotFound(DomainError):
    """No checkpoint of that size was made, or the record has no event of that version."""


class PersonalDataGone(DomainError):
    """The record's personal data was erased: it takes no new personal data."""


class NotVerified(DomainError):
    """A revocation of a record none of whose skills is verified."""
