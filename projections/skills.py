"""The skill view: one row per (tenant, student, skill) across the student's records."""

from __future__ import annotations

from eventsourcing.domain import AggregateEvent

from application.sql import Sql
from domain.assessment import Assessment, iso
from projections.model import PoisonEvent, ReadModel


class SkillView(ReadModel):
    """Which skills of a student are verified: a verification stays (it is an earned fact),
    a rejection replaces a pending or an earlier rejection, pending only fills a gap."""

    name = "skill_view"

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

    def apply(self, sql: Sql, table: str, event: AggregateEvent, position: int) -> None:
        key = event.originator_id.hex
        at = iso(event.timestamp)
        if isinstance(event, Assessment.VerificationStarted):
            student_id = event.student["studentId"]
            sql.run(
                f"INSERT INTO {table}_records VALUES (?, ?, ?, ?)",
                key,
                event.tenant,
                event.mode,
                student_id,
            )
            for skill in event.skills:
                sql.run(
                    f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, 'pending', 0, NULL, NULL, ?, ?, ?)"
                    " ON CONFLICT (tenant, mode, student_id, skill_id) DO NOTHING",
                    event.tenant,
                    event.mode,
                    student_id,
                    skill["skillId"],
                    skill["name"],
                    f"ver_{event.mode}_{key}",
                    at,
                    position,
                )
        elif isinstance(event, Assessment.Scored):
            owner = sql.one(
                f"SELECT tenant, mode, student_id FROM {table}_records WHERE id = ?", key
            )
            if owner is None:
                raise PoisonEvent(f"{self.name} has no record {key}")
            for skill in event.skills:
                sql.run(
                    f"INSERT INTO {table} AS t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (tenant, mode, student_id, skill_id) DO UPDATE SET"
                    " name = excluded.name, status = excluded.status,"
                    " verified = excluded.verified, verified_at = excluded.verified_at,"
                    " verified_by = excluded.verified_by,"
                    " record_verification_id = excluded.record_verification_id,"
                    " updated_at = excluded.updated_at, position = excluded.position"
                    " WHERE t.status <> 'verified'",
                    owner["tenant"],
                    owner["mode"],
                    owner["student_id"],
                    skill["skillId"],
                    skill["name"],
                    skill["status"],
                    int(skill["verified"]),
                    skill["verifiedAt"],
                    skill["verifiedBy"],
                    f"ver_{owner['mode']}_{key}",
                    at,
                    position,
                )
