"""The human path of a verification record: a reviewer is invited with a link, and endorses
the skills they saw in the student's work. Its events become the record's own (the
library's aggregate class takes in the event classes of its bases), so a record has one
history, one lock and one status whichever path verifies it."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.errors import (
    AlreadyVerified,
    InvalidInput,
    InvalidReviewerToken,
    MissingSkillIds,
    ReviewerTokenExpired,
    TooManyInvitations,
    WrongMethod,
)
from domain.personal import sealed_by_migrate
from domain.values import Reviewer, Sealed, Skill, SkillOutcome, Student, changed

ASSESSMENT = "assessment"
HUMAN_ENDORSEMENT = "human_endorsement"
METHODS = (ASSESSMENT, HUMAN_ENDORSEMENT)
MAX_INVITATIONS = 5


class HumanEndorsement:
    """Inviting a reviewer and their endorsement, for records of method human_endorsement."""

    class ReviewerInvited(Aggregate.Event):
        """A reviewer was invited (the nth time: each replaces the one before, and its link);
        token_hash is the hash of the link's token, for checking it only. Version 2 holds
        the reviewer's name and email sealed."""

        class_version = 2

        invitation: int
        reviewer: Reviewer
        token_hash: str
        expires_at: datetime
        asked_by: str | None = None  # how the tenant was named to the reviewer

        upcast_v1_v2 = staticmethod(sealed_by_migrate)

        def apply(self, record: HumanEndorsement) -> None:
            record.asked_by = self.asked_by
            record.reviewer = self.reviewer
            record.reviewer_version = self.originator_version
            record.invitations = self.invitation
            record.reviewer_token_hash = self.token_hash
            record.reviewer_expires_at = self.expires_at

    class SkillsEndorsed(Aggregate.Event):
        """The reviewer endorsed some of the record's skills; the others are rejected."""

        invitation: int
        company: str | None
        endorsement_type: str
        skills: list[SkillOutcome]
        skills_updated: int

        def apply(self, record: HumanEndorsement) -> None:
            record.skill_status = {skill.skill_id: skill for skill in self.skills}
            record.skills_updated = self.skills_updated

    if TYPE_CHECKING:  # the record's, which this path shares
        method: str
        student: Student
        version: int
        skills: list[Skill]
        skill_status: dict[str, SkillOutcome]
        skills_updated: int
        is_locked: bool
        reviewer: Reviewer | None
        reviewer_version: int
        invitations: int
        reviewer_token_hash: str | None
        reviewer_expires_at: datetime | None
        asked_by: str | None
        Locked: type[Any]

        def require_personal_data(self) -> None: ...

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def require(self, method: str) -> None:
        """Refuse a call of the other path."""
        if self.method != method:
            raise WrongMethod(f"this record is verified by {self.method}, not {method}")

    def invite(
        self,
        company: str | None,
        endorsement_type: str,
        seal: Callable[[str, int], Sealed],
        token_hash_of: Callable[[int], str],
        expires_at: datetime,
        at: datetime,
        asked_by: str | None = None,
    ) -> int:
        """Invite a reviewer (again: the earlier link stops working) on behalf of the
        tenant named `asked_by`; the invitation's number, from which its link's token is
        made. `seal(subject, version)` seals the reviewer's contact under the student's data
        subject, for the event of that version."""
        self.require(HUMAN_ENDORSEMENT)
        if self.is_locked:
            raise AlreadyVerified("the reviewer already endorsed this record's skills")
        if self.invitations >= MAX_INVITATIONS:
            raise TooManyInvitations(f"at most {MAX_INVITATIONS} invitations per record")
        self.require_personal_data()
        invitation = self.invitations + 1
        contact = seal(self.student.contact.subject, self.version + 1)
        self.trigger_event(
            self.ReviewerInvited,
            timestamp=at,
            invitation=invitation,
            reviewer=Reviewer(contact, company, endorsement_type),
            token_hash=token_hash_of(invitation),
            expires_at=expires_at,
            asked_by=asked_by,
        )
        return invitation

    def check_link(self, token_hash: str) -> None:
        """Refuse a reviewer link that is unknown or replaced by a later invitation."""
        if self.reviewer_token_hash is None or not hmac.compare_digest(
            self.reviewer_token_hash, token_hash
        ):
            raise InvalidReviewerToken("the reviewer link is unknown or was replaced")

    def check_reviewer(self, token_hash: str, at: datetime) -> None:
        """Refuse a reviewer link that is unknown or replaced, expired, or already used."""
        self.check_link(token_hash)
        assert self.reviewer_expires_at is not None
        if at >= self.reviewer_expires_at:
            raise ReviewerTokenExpired("the reviewer link has expired")
        if self.is_locked:
            raise AlreadyVerified("the reviewer already endorsed this record's skills")

    def endorse(self, token_hash: str, skill_ids: Sequence[str] | None, at: datetime) -> None:
        """The reviewer's endorsement: the skills named are verified, the others rejected,
        and the record is completed and locked."""
        self.check_reviewer(token_hash, at)
        if not skill_ids:
            raise MissingSkillIds("skillIds: name at least one skill to endorse")
        for position, skill_id in enumerate(skill_ids):
            if skill_id not in self.skill_status:
                raise InvalidInput(
                    f"skillIds[{position}]: '{skill_id}' is not a skill of this record"
                )
        endorsed = set(skill_ids)
        skills = [
            SkillOutcome.judged(skill, skill.skill_id in endorsed, at, HUMAN_ENDORSEMENT)
            for skill in self.skills
        ]
        assert self.reviewer is not None
        self.trigger_event(
            self.SkillsEndorsed,
            timestamp=at,
            invitation=self.invitations,
            company=self.reviewer.company,
            endorsement_type=self.reviewer.endorsement_type,
            skills=skills,
            skills_updated=changed(self.skill_status, skills),
        )
        self.trigger_event(self.Locked, timestamp=at, attempt_number=self.invitations)
