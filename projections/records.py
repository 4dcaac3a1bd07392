"""The record view: one row per verification record, as GET /verifications shows it."""

from __future__ import annotations

import json

from eventsourcing.domain import AggregateEvent

from application.sql import Sql, dumps
from domain.assessment import Assessment, iso, pending_skill
from projections.model import PoisonEvent, ReadModel


class RecordView(ReadModel):
    """Status, lock, skills and attempts of each record, with its student and times."""

    name = "record_view"

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id TEXT PRIMARY KEY, record_verification_id TEXT NOT NULL, tenant TEXT NOT NULL,"
            " mode TEXT NOT NULL, student_id TEXT NOT NULL, student TEXT NOT NULL,"
            " status TEXT NOT NULL, is_locked INTEGER NOT NULL, skills TEXT NOT NULL,"
            " attempts TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " created_position BIGINT NOT NULL, position BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_tenant"
            f" ON {table} (tenant, mode, created_position)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_student"
            f" ON {table} (tenant, mode, student_id, created_position)",
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}"]

    def apply(self, sql: Sql, table: str, event: AggregateEvent, position: int) -> None:
        key = event.originator_id.hex
        at = iso(event.timestamp)
        if isinstance(event, Assessment.VerificationStarted):
            sql.run(
                f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, '[]', ?, ?, ?, ?)",
                key,
                f"ver_{event.mode}_{key}",
                event.tenant,
                event.mode,
                event.student["studentId"],
                dumps(event.student),
                dumps([pending_skill(skill) for skill in event.skills]),
                at,
                at,
                position,
                position,
            )
            return
        where = "id = ?"
        if isinstance(event, Assessment.QuestionsGenerated):
            changed = sql.run(
                f"UPDATE {table} SET status = 'in_progress', updated_at = ?, position = ?"
                f" WHERE {where}",
                at,
                position,
                key,
            )
        elif isinstance(event, Assessment.AnswersSubmitted):
            changed = sql.run(
                f"UPDATE {table} SET updated_at = ?, position = ? WHERE {where}", at, position, key
            )
        elif isinstance(event, Assessment.Scored):
            row = sql.one(f"SELECT attempts FROM {table} WHERE {where}", key)
            if row is None:
                raise PoisonEvent(f"{self.name} has no record for {key}")
            attempts = [
                *json.loads(row["attempts"]),
                {
                    "attemptNumber": event.attempt_number,
                    "score": event.score,
                    "passed": event.passed,
                    "correctAnswers": event.correct_answers,
                    "totalQuestions": event.total_questions,
                    "submittedAt": at,
                },
            ]
            changed = sql.run(
                f"UPDATE {table} SET status = ?, skills = ?, attempts = ?, updated_at = ?,"
                f" position = ? WHERE {where}",
                "passed" if event.passed else "failed",
                dumps(event.skills),
                dumps(attempts),
                at,
                position,
                key,
            )
        elif isinstance(event, Assessment.Locked):
            changed = sql.run(
                f"UPDATE {table} SET status = 'passed', is_locked = 1, updated_at = ?,"
                f" position = ? WHERE {where}",
                at,
                position,
                key,
            )
        else:
            raise PoisonEvent(f"{self.name} does not know {type(event).__name__}")
        if changed != 1:
            raise PoisonEvent(f"{self.name} has no record {key}")
