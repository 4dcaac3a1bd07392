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
# A skill's row in place of the one there (a score's only where that one is not verified).
REPLACE_ROW = (
    "ON CONFLICT (tenant, mode, student_id, skill_id) DO UPDATE SET"
    " name = excluded.name, status = excluded.status,"
    " verified = excluded.verified, verified_at = excluded.verified_at,"
    " verified_by = excluded.verified_by,"
    " record_verification_id = excluded.record_verification_id,"
    " updated_at = excluded.updated_at, position = excluded.position"
)


class SkillView(ReadModel):
    """Which skills of a student are verified: a verification stays (it is an earned fact),
    a rejection replaces a pending or an earlier rejection, pending only fills a gap."""

    name = "skill_view"
    applies = (
        Assessment.VerificationStarted,
        Assessment.Scored,
        Assessment.SkillsEndorsed,
        Assessment.VerificationRevoked,
    )
    ignores = (
        Assessment.CredentialsIssued,
        Assessment.QuestionsPrepared,
        Assessment.QuestionsGenerated,
        Assessment.AnswersSubmitted,
        Assessment.Locked,
        Assessment.ReviewerInvited,
        Assessment.PersonalDataErased,
    )

    added_tables = ("_verified",)

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
            # Each record's verifications (its rows, as the main table would hold them), so
            # that a revocation falls back to another record of the student that verified
            # the skill.
            f"CREATE TABLE IF NOT EXISTS {table}_verified ("
            " record_id TEXT NOT NULL, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
            " student_id TEXT NOT NULL, skill_id TEXT NOT NULL, name TEXT NOT NULL,"
            " status TEXT NOT NULL, verified INTEGER NOT NULL, verified_at TEXT,"
            " verified_by TEXT, record_verification_id TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, position BIGINT NOT NULL,"
            " PRIMARY KEY (record_id, skill_id))",
            f"CREATE INDEX IF NOT EXISTS {table}_verified_by_skill"
            f" ON {table}_verified (tenant, mode, student_id, skill_id, position)",
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [
            f"DROP TABLE IF EXISTS {table}",
            f"DROP TABLE IF EXISTS {table}_records",
            f"DROP TABLE IF EXISTS {table}_verified",
        ]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """A revocation is applied in its place in the batch, between the runs of the other
        events (whose rules commute)."""
        start = 0
        for at, (event, position) in enumerate(events):
            if isinstance(event, Assessment.VerificationRevoked):
                self.apply_run(sql, table, events[start:at])
                self.revoke(sql, table, event, position)
                start = at + 1
        self.apply_run(sql, table, events[start:])

    def revoke(
        self, sql: Sql, table: str, event: Assessment.VerificationRevoked, position: int
    ) -> None:
        """The record's verifications are gone: where one decided a skill's row, the earliest
        verification of another record of the student stands instead, or, if none, the
        skill reads revoked."""
        key = event.originator_id.hex
        owner = sql.by_id(f"{table}_records", {key}).get(key)
        if owner is None:
            raise PoisonEvent(f"{self.name} has no record {key}")
        sql.run(f"DELETE FROM {table}_verified WHERE record_id = ?", key)
        student = (owner["tenant"], owner["mode"], owner["student_id"])
        decided_by = record_verification_id(owner["mode"], event.originator_id)
        for skill in event.skills:
            if skill.status != "revoked":
                continue
            row = sql.one(
                f"SELECT record_verification_id, status FROM {table}"
                " WHERE tenant = ? AND mode = ? AND student_id = ? AND skill_id = ?",
                *student,
                skill.skill_id,
            )
            if row is None or (row["record_verification_id"], row["status"]) != (
                decided_by,
                "verified",
            ):
                continue
            other = sql.one(
                f"SELECT * FROM {table}_verified WHERE tenant = ? AND mode = ?"
                " AND student_id = ? AND skill_id = ? ORDER BY position LIMIT 1",
                *student,
                skill.skill_id,
            )
            revoked = skill_row(owner, event, skill, position)
            sql.insert(
                table,
                COLUMNS,
                [tuple(other[column] for column in COLUMNS) if other else revoked],
                REPLACE_ROW,
            )

    def apply_run(self, sql: Sql, table: str, events: Batch) -> None:
        """Three multi-row statements for a run of events: records, pending skills, scored
        skills. Their rules commute (pending only fills a gap; a verification stays), so
        grouping them gives what event-by-event order would."""
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
            f"{table}_verified",
            ("record_id", *COLUMNS),
            [
                (event.originator_id.hex, *skill_row(owner, event, skill, position))
                for event, position in scored
                if (owner := owners[event.originator_id.hex])
                for skill in event.skills
                if skill.status == "verified"
            ],
            "ON CONFLICT (record_id, skill_id) DO NOTHING",
        )
        sql.insert(
            table,
            COLUMNS,
            settled(
                skill_row(owners[event.originator_id.hex], event, skill, position)
                for event, position in scored
                for skill in event.skills
            ),
            REPLACE_ROW + " WHERE t.status <> 'verified'",
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
