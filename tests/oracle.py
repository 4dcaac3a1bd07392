"""What the views must hold, folded independently from the whole event history."""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.domain import AggregateEvent

from application.integration_events import ASSESSMENT_TOPICS, record_summary
from application.personal import reviewer_contact
from application.ports import PersonalData
from application.store import EventStore
from domain.assessment import Assessment
from domain.values import SkillOutcome
from projections.queries import ReadSide

Rows = dict[tuple[str, ...], dict[str, Any]]


def expected_views(store: EventStore, personal: PersonalData) -> tuple[Rows, Rows]:
    """Record rows by (tenant, mode, record id) and skill rows by (tenant, mode, student,
    skill), from aggregates replayed in the order of the notification log."""
    records: dict[Any, Assessment] = {}
    skills: Rows = {}
    position = 0
    while batch := store.recorder.select_notifications(
        start=position + 1, limit=1000, topics=ASSESSMENT_TOPICS
    ):
        for notification in batch:
            event = store.mapper.to_domain_event(notification)
            assert isinstance(event, AggregateEvent)
            record = event.mutate(records.get(event.originator_id))
            assert isinstance(record, Assessment)
            records[event.originator_id] = record
            student = (record.tenant, record.mode, record.student.student_id)
            if isinstance(event, Assessment.VerificationStarted):
                for skill in event.skills:
                    skills.setdefault(
                        (*student, skill.skill_id),
                        _skill_row(record, record.skill_status[skill.skill_id]),
                    )
            elif isinstance(event, Assessment.Scored | Assessment.SkillsEndorsed):
                for outcome in event.skills:
                    key = (*student, outcome.skill_id)
                    if skills[key]["status"] != "verified":
                        skills[key] = _skill_row(record, outcome)
        position = batch[-1].id
    summaries: Rows = {
        (r.tenant, r.mode, r.record_verification_id): record_summary(r, reviewer(personal, r))
        for r in records.values()
    }
    return summaries, skills


def reviewer(personal: PersonalData, record: Assessment) -> Any:
    """The record's reviewer's contact, revealed (None: erased, or no reviewer)."""
    box = reviewer_contact(record)
    return personal.reveal([box])[0] if box else None


def _skill_row(record: Assessment, skill: SkillOutcome) -> dict[str, Any]:
    return {**msgspec.to_builtins(skill), "recordVerificationId": record.record_verification_id}


def actual_views(
    read: ReadSide, expected_records: Rows, expected_skills: Rows
) -> tuple[Rows, Rows]:
    """What the views hold for every record and student the fold knows."""
    records = {
        key: found
        for key in expected_records
        if (found := read.record(key[0], key[1], key[2])) is not None
    }
    skills: Rows = {}
    for tenant, mode, student_id in {key[:3] for key in expected_skills}:
        for row in read.skills(tenant, mode, student_id):
            skills[(tenant, mode, student_id, row["skillId"])] = row
    return records, skills


def mismatches(store: EventStore, read: ReadSide) -> list[str]:
    """Every difference between the views and the fold of the history."""
    expected_records, expected_skills = expected_views(store, read.personal)
    records, skills = actual_views(read, expected_records, expected_skills)
    problems = [
        f"record {key}: view {records.get(key)} != fold {row}"
        for key, row in expected_records.items()
        if records.get(key) != row
    ]
    problems += [
        f"skill {key}: view {skills.get(key)} != fold {row}"
        for key, row in expected_skills.items()
        if skills.get(key) != row
    ]
    problems += [f"skill {key} in the view only" for key in skills.keys() - expected_skills.keys()]
    return problems
