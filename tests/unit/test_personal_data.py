"""Personal data on a record: given events, when sealing, inviting or erasing, then events
or an error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import errors
from domain.assessment import Assessment
from domain.personal import sealed_by_migrate
from domain.values import Sealed, Skill
from tests.support import START, new_record

SKILLS = [Skill("skill_001", "React")]
AT = START + timedelta(days=1)


def sealer(calls: list[tuple[str, int]]) -> object:
    def seal(subject: str, version: int) -> Sealed:
        calls.append((subject, version))
        return Sealed(subject, f"reviewer@{version}")

    return seal


def replayed(record: Assessment) -> Assessment:
    state: Assessment | None = None
    for event in record.collect_events():
        state = event.mutate(state)
    assert state is not None
    return state


def test_the_student_is_sealed_only_once_the_start_is_valid() -> None:
    sealed: list[str] = []

    def seal() -> Sealed:
        sealed.append("sealed")
        return Sealed("subject-1", "box")

    with pytest.raises(errors.InvalidInput):
        new_record([*SKILLS, *SKILLS], seal=seal)
    assert sealed == []
    record = new_record(SKILLS, seal=seal)
    assert (sealed, record.student.contact) == (["sealed"], Sealed("subject-1", "box"))


def test_a_reviewer_is_sealed_under_the_students_subject_for_the_invitations_version() -> None:
    record = replayed(new_record(SKILLS, method="human_endorsement"))
    calls: list[tuple[str, int]] = []
    record.invite("Navy", "peer", sealer(calls), lambda n: f"h{n}", AT, AT)  # type: ignore[arg-type]
    record.invite("Navy", "peer", sealer(calls), lambda n: f"h{n}", AT, AT)  # type: ignore[arg-type]
    assert calls == [("subject-1", 2), ("subject-1", 3)]
    [first, second] = record.collect_events()
    assert (first.originator_version, second.originator_version) == (2, 3)
    assert second.reviewer.contact == Sealed("subject-1", "reviewer@3")  # type: ignore[attr-defined]
    assert record.reviewer_version == 3


def test_erasure_records_one_event_and_keeps_the_skills_and_attempts() -> None:
    record = replayed(new_record(SKILLS))
    assert record.erase_personal_data(AT) is True
    assert record.erase_personal_data(AT) is False
    [erased] = record.collect_events()
    assert type(erased) is Assessment.PersonalDataErased
    assert (erased.originator_version, erased.timestamp) == (2, AT)
    again = replayed(new_record(SKILLS))
    again.trigger_event(Assessment.PersonalDataErased, timestamp=AT)
    assert again.personal_data_erased is True
    assert again.status == "pending"
    assert list(again.skill_status) == ["skill_001"]


def test_an_erased_record_takes_no_new_reviewer_and_records_nothing() -> None:
    record = replayed(new_record(SKILLS, method="human_endorsement"))
    record.erase_personal_data(AT)
    record.collect_events()
    calls: list[tuple[str, int]] = []
    with pytest.raises(errors.PersonalDataGone):
        record.invite("Navy", "peer", sealer(calls), lambda n: f"h{n}", AT, AT)  # type: ignore[arg-type]
    assert (calls, record.collect_events(), record.invitations) == ([], [], 0)


@pytest.mark.parametrize(
    "upcast",
    [Assessment.VerificationStarted.upcast_v2_v3, Assessment.ReviewerInvited.upcast_v1_v2],
)
def test_an_event_with_personal_data_in_clear_is_never_read_as_it_stands(upcast: object) -> None:
    with pytest.raises(ValueError, match="assess migrate"):
        upcast({"student": {"studentId": "s1", "name": "Ada", "email": "ada@example.com"}})  # type: ignore[operator]


def test_an_event_stored_with_personal_data_in_clear_is_not_read_as_it_stands() -> None:
    """`migrate` seals such events in place before anything reads them: one read as it
    stands would leak the clear name and email into every read."""
    with pytest.raises(
        ValueError, match=r"^stored with personal data in clear: `assess migrate` seals it$"
    ):
        sealed_by_migrate({"student": {"name": "Ada", "email": "ada@example.com"}})
