"""The skill view: one row per (tenant, student, skill) across the student's records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eventsourcing.domain import AggregateEvent

from application.read_models import StudentSkill
from domain.assessment import Assessment, record_verification_id
from domain.moments import iso
from domain.values import SkillOutcome
from infrastructure.following import Batch
from infrastructure.sql import Sql
from projections.model import PoisonEvent, ReadModel

COLUMNS = (
    *("tenant", "mode", "student_id", "skill_id", "name", "status", "verified", "verified_at"),
    *("verified_by", "record_verification_id", "updated_at", "position"),
)
STATUS = COLUMNS.index("status")
RECORD_COLUMNS = ("id", "tenant", "mode", "student_id")


class SkillView(ReadModel):
    """Which skills of a student are verified: a verification stays (it is an earned fact),
    a rejection replaces a pending or an earlier rejection, pending only fills a gap."""

    name = "skill_view"
    applies = (Assessment.VerificationStarted, Assessment.Scored, Assessment.SkillsEndorsed)
    ignores = (
        Assessment.QuestionsPrepared,
        Assessment.QuestionsGenerated,
        Assessment.AnswersSubmitted,
        Assessment.Locked,
        Assessment.ReviewerInvited,
        Assessment.PersonalDataErased,
    )

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " tenant TEXT NOT NULL, mode TEXT NOT NULL, student_id TEXT NOT NULL,"
            " skill_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL,"
            " verified INTEGER NOT NULL, verified_at TEXT, verified_by TEXT,"
            " record_verification_id TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " position BIGINT NOT NULL, PRIMARY KEY (tenant, mode, student_id, skill_id))",
            # Whose record is whose: Scored names only its record.
            f"CREATE TABLE IF NOT EXISTS {table}_records ("
            " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
            " student_id TEXT NOT NULL)",
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}", f"DROP TABLE IF EXISTS {table}_records"]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """Three multi-row statements a batch: records, pending skills, scored skills. Their
        rules commute (pending only fills a gap; a verification stays), so grouping them
        gives what event-by-event order would."""
        started = [e for e, _ in events if isinstance(e, Assessment.VerificationStarted)]
        records = [(e.originator_id.hex, e.tenant, e.mode, e.student.student_id) for e in started]
        sql.insert(f"{table}_records", RECORD_COLUMNS, records)
        owners = {record[0]: dict(zip(RECORD_COLUMNS, record, strict=True)) for record in records}
        sql.insert(
            table,
            COLUMNS,
            [
                skill_row(owners[e.originator_id.hex], e, SkillOutcome.pending(skill), position)
                for e, position in events
                if isinstance(e, Assessment.VerificationStarted)
                for skill in e.skills
            ],
            "ON CONFLICT (tenant, mode, student_id, skill_id) DO NOTHING",
        )
        scored = [
            (e, p)
            for e, p in events
            if isinstance(e, Assessment.Scored | Assessment.SkillsEndorsed)
        ]
        keys = {e.originator_id.hex for e, _ in scored}
        owners.update(sql.by_id(f"{table}_records", keys - owners.keys()))  # started earlier
        if missing := keys - owners.keys():
            raise PoisonEvent(f"{self.name} has no record {sorted(missing)[0]}")
        sql.insert(
            table,
            COLUMNS,
            settled(
                skill_row(owners[event.originator_id.hex], event, skill, position)
                for event, position in scored
                for skill in event.skills
            ),
            "ON CONFLICT (tenant, mode, student_id, skill_id) DO UPDATE SET"
            " name = excluded.name, status = excluded.status,"
            " verified = excluded.verified, verified_at = excluded.verified_at,"
            " verified_by = excluded.verified_by,"
            " record_verification_id = excluded.record_verification_id,"
            " updated_at = excluded.updated_at, position = excluded.position"
            " WHERE t.status <> 'verified'",
        )


def skill_row(
    owner: dict[str, Any], event: AggregateEvent, skill: SkillOutcome, position: int
) -> tuple[Any, ...]:
    """The row (in COLUMNS order) of a skill's outcome as an event of its record decided it."""
    return (
        owner["tenant"],
        owner["mode"],
        owner["student_id"],
        skill.skill_id,
        skill.name,
        skill.status,
        int(skill.verified),
        skill.verified_at,
        skill.verified_by,
        record_verification_id(owner["mode"], event.originator_id),
        iso(event.timestamp),
        position,
    )


def student_skill_of(row: Any) -> StudentSkill:
    """A row of the skill view as the API shows the student's skill."""
    skill = SkillOutcome(
        skill_id=row["skill_id"],
        name=row["name"],
        verified=bool(row["verified"]),
        status=row["status"],
        verified_at=row["verified_at"],
        verified_by=row["verified_by"],
    )
    return StudentSkill.of(skill, row["record_verification_id"])


def settled(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One scored row per skill key, as applying the rows in order would leave it (the
    upsert's own rule, within the batch): the first verification stays, else the last."""
    kept: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        key = row[:4]  # tenant, mode, student_id, skill_id
        if key not in kept or kept[key][STATUS] != "verified":
            kept[key] = row
    return list(kept.values())
