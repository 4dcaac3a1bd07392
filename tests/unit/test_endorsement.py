"""The human path of a record: given events, when an invitation or an endorsement, then
events or an error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain import errors
from domain.assessment import Assessment
from domain.values import Reviewer, Sealed, Skill, SkillOutcome, Source
from tests.support import START, new_record

AT = START
EXPIRES = AT + timedelta(days=14)
SKILLS = [Skill("skill_001", "React", ["https://github.com/ada/app"]), Skill("skill_002", "Python")]
SOURCE = Source("project", "Compiler", url="https://example.com/c")
UNKNOWN_LINK = "the reviewer link is unknown or was replaced"
EXPIRED = "the reviewer link has expired"
USED = "the reviewer already endorsed this record's skills"
NO_SKILLS = "skillIds: name at least one skill to endorse"
GRACE = Reviewer(Sealed("subject-1", "grace@2"), "Navy", "tech_lead")


def token_hash(invitation: int) -> str:
    return f"hash-{invitation}"


def seal(subject: str, version: int) -> Sealed:
    """A stand-in for the application's sealing: which subject, for which event."""
    return Sealed(subject, f"grace@{version}")


def invite(record: Assessment) -> int:
    return record.invite("Navy", "tech_lead", seal, token_hash, EXPIRES, AT)


def started(method: str = "human_endorsement") -> Assessment:
    return new_record(SKILLS, method=method, sources=[SOURCE])


def invited(record: Assessment) -> None:
    invite(record)


def given(*steps: Callable[[Assessment], Any], method: str = "human_endorsement") -> Assessment:
    """A record started and taken through steps, replayed from its events."""
    record = started(method)
    for step in steps:
        step(record)
    replayed: Assessment | None = None
    for event in record.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    return replayed


def new_events(record: Assessment) -> list[tuple[str, dict[str, Any]]]:
    return [
        (type(event).__name__, {k: v for k, v in vars(event).items() if k[0] != "o"})
        for event in record.collect_events()
    ]


def test_a_record_starts_with_its_method_and_is_pending_its_sources_sealed() -> None:
    """The sources and proof links name the student through their work: the application
    seals them with the student's contact, and the event holds neither in clear."""
    record = given()
    assert (record.method, record.status) == ("human_endorsement", "pending")
    assert record.sources == []
    assert [skill.proof_urls for skill in record.skills] == [[], []]
    assert SKILLS[0].proof_urls == ["https://github.com/ada/app"]


def test_an_invitation_puts_the_record_in_review() -> None:
    record = given()
    assert record.invite("Navy", "tech_lead", seal, token_hash, EXPIRES, AT, "Acme Academy") == 1
    [(kind, data)] = new_events(record)
    assert kind == "ReviewerInvited"
    assert (data["invitation"], data["reviewer"], data["token_hash"]) == (1, GRACE, "hash-1")
    assert (data["timestamp"], data["expires_at"], data["asked_by"]) == (
        AT,
        EXPIRES,
        "Acme Academy",
    )
    assert (record.status, record.asked_by) == ("in_review", "Acme Academy")


def test_a_later_invitation_replaces_the_link() -> None:
    record = given(invited, invited)
    assert (record.invitations, record.reviewer_token_hash) == (2, "hash-2")
    with pytest.raises(errors.InvalidReviewerToken):
        record.check_reviewer("hash-1", AT)
    record.check_reviewer("hash-2", AT)


def test_at_most_five_invitations() -> None:
    record = given(*[invited] * 5)
    with pytest.raises(errors.TooManyInvitations, match="at most 5"):
        invited(record)
    assert record.collect_events() == []


def test_an_endorsement_verifies_the_named_skills_rejects_the_others_and_locks() -> None:
    record = given(invited)
    later = AT + timedelta(days=1)
    record.endorse("hash-1", ["skill_001"], later)
    [(endorsed, data), (locked, lock)] = new_events(record)
    assert (endorsed, locked, lock["attempt_number"]) == ("SkillsEndorsed", "Locked", 1)
    assert data["timestamp"] == lock["timestamp"] == later
    assert (data["company"], data["endorsement_type"], data["skills_updated"]) == (
        "Navy",
        "tech_lead",
        2,
    )
    assert data["skills"] == [
        SkillOutcome(
            "skill_001", "React", True, "verified", "2026-01-06T10:00:00.000Z", "human_endorsement"
        ),
        SkillOutcome("skill_002", "Python", False, "rejected", None, None),
    ]
    assert (record.status, record.is_locked) == ("completed", True)


@pytest.mark.parametrize(
    ("steps", "token", "at", "skill_ids", "error", "message"),
    [
        ((), "hash-1", AT, ["skill_001"], errors.InvalidReviewerToken, UNKNOWN_LINK),
        ((invited,), "forged", AT, ["skill_001"], errors.InvalidReviewerToken, UNKNOWN_LINK),
        ((invited,), "hash-1", EXPIRES, ["skill_001"], errors.ReviewerTokenExpired, EXPIRED),
        ((invited,), "hash-1", AT, [], errors.MissingSkillIds, NO_SKILLS),
        ((invited,), "hash-1", AT, None, errors.MissingSkillIds, NO_SKILLS),
        (
            (invited,),
            "hash-1",
            AT,
            ["skill_001", "skill_009"],
            errors.InvalidInput,
            "skillIds[1]: 'skill_009' is not a skill of this record",
        ),
    ],
    ids=["no invitation", "unknown", "expired", "empty", "none", "not on the record"],
)
def test_a_refused_endorsement_records_nothing(
    steps: tuple[Callable[[Assessment], Any], ...],
    token: str,
    at: datetime,
    skill_ids: list[str] | None,
    error: type[Exception],
    message: str,
) -> None:
    record = given(*steps)
    with pytest.raises(error) as refused:
        record.endorse(token, skill_ids, at)
    assert str(refused.value) == message  # what the API shows the caller
    assert record.collect_events() == []
    assert record.status in ("pending", "in_review")


def test_the_endorsement_and_the_lock_name_the_invitation_whose_link_was_used() -> None:
    record = given(invited, invited)
    record.endorse("hash-2", ["skill_002"], AT)
    [(_, endorsed), (_, locked)] = new_events(record)
    assert (endorsed["invitation"], locked["attempt_number"]) == (2, 2)


def test_an_expired_link_is_refused_before_a_used_one_and_a_used_one_before_the_skills() -> None:
    record = given(invited, lambda r: r.endorse("hash-1", ["skill_002"], AT))
    with pytest.raises(errors.ReviewerTokenExpired, match=f"^{EXPIRED}$"):
        record.endorse("hash-1", [], EXPIRES)
    with pytest.raises(errors.AlreadyVerified, match=f"^{USED}$"):
        record.endorse("hash-1", [], AT)
    with pytest.raises(errors.AlreadyVerified, match=f"^{USED}$"):
        invited(record)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.generate(lambda: [], AT),
        lambda r: r.submit([("q", 0)], AT),
    ],
    ids=["generate", "submit"],
)
def test_the_assessment_calls_are_the_wrong_method_on_a_human_record(
    call: Callable[[Assessment], Any],
) -> None:
    record = given()
    with pytest.raises(errors.WrongMethod, match="human_endorsement, not assessment"):
        call(record)


def test_an_invitation_is_the_wrong_method_on_an_assessment_record() -> None:
    record = given(method="assessment")
    with pytest.raises(errors.WrongMethod, match="assessment, not human_endorsement"):
        invited(record)
    assert record.status == "pending"


def test_an_unknown_method_or_too_many_sources_or_proof_links_are_refused() -> None:
    with pytest.raises(errors.InvalidInput) as refused:
        started("oracle")
    assert str(refused.value) == "method: give one of assessment, human_endorsement"
    many = [Skill("skill_001", "React", [f"https://e.com/{n}" for n in range(6)])]
    with pytest.raises(errors.InvalidInput, match=r"skills\[0\].proofUrls"):
        new_record(many)
    with pytest.raises(errors.InvalidInput, match="sources: give at most 20"):
        new_record(SKILLS, sources=[SOURCE] * 21)


def test_as_many_sources_and_proof_links_as_allowed_are_taken() -> None:
    most = [Skill("skill_001", "React", [f"https://e.com/{n}" for n in range(5)])]
    record = new_record(most, method="human_endorsement", sources=[SOURCE] * 20)
    assert record.version == 1  # started (the application seals them with the contact)
    with pytest.raises(errors.InvalidInput, match="sources: give at most 20, not 21"):
        new_record(most, method="human_endorsement", sources=[SOURCE] * 21)
