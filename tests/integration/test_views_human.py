"""The read models of human records, on SQLite and PostgreSQL alike: the live projector and
a rebuild from position zero fold invitations and endorsements into the rows the oracle
(tests/oracle.py) folds, next to assessment records of the same students."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from entrypoints.bootstrap import Services
from infrastructure.database import transaction
from projections.queries import ReadSide
from projections.runner import MODELS, rebuild
from tests.oracle import mismatches
from tests.support import (
    PYTHON,
    REACT,
    Clock,
    endorse_with,
    invite_to_review,
    link_token,
    make_service,
    project,
    start_endorsement,
    take_attempt,
    take_endorsement,
)

GRACE = {"name": "Grace Hopper", "company": "Navy", "endorsementType": "tech_lead"}


@pytest.fixture
def service(store_url: str, clock: Clock) -> Iterator[Services]:
    service = make_service(store_url, clock)
    yield service
    service.store.close()


def both_paths(service: Services, clock: Clock) -> dict[str, str]:
    """Records of both paths, some of the same students; their ids by what they show."""
    records = {"passed": take_attempt(service, correct=9, skills=(REACT, PYTHON))}
    clock.advance(minutes=1)
    # stu_1's skills stay verified by the assessment; a later endorsement changes nothing.
    records["endorsed_after_pass"] = take_endorsement(service, ["skill_002"])
    records["failed"] = take_attempt(service, correct=2, student="stu_2", skills=(REACT, PYTHON))
    clock.advance(minutes=1)
    # The second reviewer endorses React: verified by them; Python's rejection replaces the
    # assessment's.
    records["completed"] = take_endorsement(service, ["skill_001"], student="stu_2", invitations=2)
    records["in_review"] = take_endorsement(service, None, student="stu_3")
    records["pending"] = start_endorsement(service, student="stu_4")
    return records


def statuses(skills: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(skill["skillId"], skill["status"], skill["verifiedBy"]) for skill in skills]


def test_human_records_fold_into_the_views_as_into_the_oracle(
    service: Services, clock: Clock
) -> None:
    records = both_paths(service, clock)
    project(service)
    read = ReadSide(service.store, service.personal)
    assert mismatches(service.store, read) == []

    completed = read.record("acme", "live", records["completed"])
    assert completed is not None
    assert (completed["method"], completed["status"], completed["isLocked"]) == (
        "human_endorsement",
        "completed",
        True,
    )
    assert (completed["reviewer"], completed["attempts"]) == (GRACE, [])
    assert statuses(completed["skills"]) == [
        ("skill_001", "verified", "human_endorsement"),
        ("skill_002", "rejected", None),
    ]
    for name, status, reviewer in [("in_review", "in_review", GRACE), ("pending", "pending", None)]:
        record = read.record("acme", "live", records[name])
        assert record is not None
        assert (record["method"], record["status"], record["isLocked"]) == (
            "human_endorsement",
            status,
            False,
        )
        assert record["reviewer"] == reviewer
    passed = read.record("acme", "live", records["passed"])
    assert passed is not None
    assert (passed["method"], passed["status"], passed["reviewer"]) == (
        "assessment",
        "passed",
        None,
    )

    def listed(status: str) -> list[str]:
        page, _ = read.records("acme", "live", None, status, 10, None)
        return [item["recordVerificationId"] for item in page]

    assert listed("pending") == [records["pending"]]
    assert listed("in_review") == [records["in_review"]]
    assert listed("completed") == [records["completed"], records["endorsed_after_pass"]]

    def skills(student: str) -> list[tuple[str, str, str | None, str]]:
        rows = read.skills("acme", "live", student)
        return [(*statuses([row])[0], row["recordVerificationId"]) for row in rows]

    assert skills("stu_1") == [
        ("skill_001", "verified", "assessment", records["passed"]),
        ("skill_002", "verified", "assessment", records["passed"]),
    ]
    assert skills("stu_2") == [
        ("skill_001", "verified", "human_endorsement", records["completed"]),
        ("skill_002", "rejected", None, records["completed"]),
    ]
    assert [status for _, status, _, _ in skills("stu_3")] == ["pending", "pending"]


def view_rows(service: Services) -> dict[str, list[dict[str, Any]]]:
    """Every row of both views, as stored (positions and JSON text included)."""
    with transaction(service.store, commit=False) as sql:
        return {
            "record_view": [dict(r) for r in sql.all("SELECT * FROM record_view ORDER BY id")],
            "skill_view": [
                dict(r) for r in sql.all("SELECT * FROM skill_view ORDER BY student_id, skill_id")
            ],
        }


def test_a_rebuild_from_zero_gives_the_live_projectors_rows_of_human_records(
    service: Services, clock: Clock
) -> None:
    records = both_paths(service, clock)
    project(service)
    live = view_rows(service)
    assert {row["method"] for row in live["record_view"]} == {"assessment", "human_endorsement"}
    assert {row["status"] for row in live["record_view"]} >= {"in_review", "completed"}
    assert "human_endorsement" in {row["verified_by"] for row in live["skill_view"]}

    for model in MODELS.values():
        assert rebuild(service.store, model, on_batch=lambda *_: None) == (1, 2)
    assert view_rows(service) == live
    read = ReadSide(service.store, service.personal)
    assert {name: f["generation"] for name, f in read.status().items()} == dict.fromkeys(MODELS, 2)

    # The open review goes on after the swap: the live projector follows generation 2.
    invite_to_review(service, records["in_review"])
    endorse_with(service, link_token(service, records["in_review"], 2), ["skill_001", "skill_002"])
    project(service)
    assert mismatches(service.store, read) == []
    record = read.record("acme", "live", records["in_review"])
    assert record is not None
    assert (record["status"], record["isLocked"]) == ("completed", True)
    assert [skill["status"] for skill in read.skills("acme", "live", "stu_3")] == [
        "verified",
        "verified",
    ]
